"""The ``callbot eval`` report: each case's result carries structured checks (``Check``), from which pass/fail,
the differences, slot/outcome accuracy, the text and JSON reports and the HTML page are all derived.

``--json`` of plain text scripts run with no tuning option: ``{"cases", "passed", "slot_accuracy", "results":
[{"id", "passed", "expected", "got", "transcript"}]}`` (``slot_accuracy`` also carries ``outcome``). With audio
turns, ``--asr`` or ``--baseline`` it adds: ``asr``, ``outcome_accuracy``, ``audio_turns``, ``wer``, ``cer``,
``reference_words``, ``latency_ms`` {count, p50, p95, max}, ``baseline``, ``regressions``/``improvements`` and,
per result, ``file``, ``differences``, ``checks`` (slot/outcome -> right?), ``wer``, ``cer``, ``latency_ms``,
``audio_turns`` and ``changes``. Turn-taking, with audio turns: per audio turn ``end_of_turn_ms`` and ``cut_off``,
and overall ``turn_taking``: {detector, turns, cut_offs, cut_off_rate, end_of_turn_ms {p50, p95, max}}.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from callbot.eval.audio import TurnMeasure
from callbot.eval.metrics import ErrorCount, TurnTiming, latency_summary, total, turn_taking_summary
from callbot.eval.script import EXPECT, CheckKind, scored_keys

SCORED: tuple[CheckKind, ...] = ("slot", "outcome")  # the checks that make slot/outcome accuracy


@dataclass(frozen=True, slots=True)
class Check:
    """One thing a case checks: ``key`` (a slot, "outcome", "prompts", or the script's own "filed" and
    "unused_turns"), what was expected, what the call gave, and whether that passes."""

    key: str
    expected: Any
    got: Any
    passed: bool
    kind: CheckKind

    def describe(self) -> str:
        """The difference, for people (only failed checks are shown)."""
        if self.key == "filed":
            return "no ticket was filed"
        if self.key == "unused_turns":
            return f"the call ended with {self.got} turn(s) of the script unused"
        if self.kind == "prompts":
            return f"prompts: expected {self.expected} in this order, the bot said {self.got}"
        if isinstance(self.expected, list):
            return f"{self.key}: expected one of {self.expected}, got {self.got!r}"
        return f"{self.key}: expected {self.expected!r}, got {self.got!r}"


def expect_checks(expect: dict[str, Any], got: dict[str, Any], said: Sequence[str]) -> list[Check]:
    """A case's ``expect`` against what the call gave (``got``: ticket values, ``said``: the bot's prompt keys)."""
    checks = []
    for key, expected in expect.items():
        entry = EXPECT[key]
        found = said if entry.kind == "prompts" else got.get(entry.checked)
        checks.append(Check(entry.checked, expected, found, entry.matches(expected, found), entry.kind))
    return checks


def script_checks(filed: bool, unused_turns: int) -> list[Check]:
    """What every case checks whatever its ``expect``: a ticket was filed, and every turn was used."""
    return [
        Check("filed", True, filed, filed, "call"),
        Check("unused_turns", 0, unused_turns, unused_turns == 0, "call"),
    ]


@dataclass
class CaseResult:
    id: str
    file: Path
    expected: dict[str, Any]
    got: dict[str, Any]
    checks: list[Check]
    transcript: list[dict[str, str]]
    turns: list[TurnMeasure] = field(default_factory=list)  # the case's audio turns

    @property
    def passed(self) -> bool:
        return all(check.passed for check in self.checks)

    @property
    def differences(self) -> list[str]:
        return [check.describe() for check in self.checks if not check.passed]

    @property
    def scored(self) -> dict[str, bool]:
        """Each checked slot (and the outcome): did the bot get it right?"""
        return {check.key: check.passed for check in self.checks if check.kind in SCORED}

    @property
    def words(self) -> ErrorCount:
        return total(t.words for t in self.turns if t.words)

    @property
    def chars(self) -> ErrorCount:
        return total(t.chars for t in self.turns if t.chars)

    @property
    def latencies_ms(self) -> list[float]:
        return [t.latency_ms for t in self.turns if t.latency_ms is not None]

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "passed": self.passed,
            "expected": self.expected,
            "got": self.got,
            "transcript": self.transcript,
        }


def case_key(file: Path | str, case_id: str) -> str:
    """How a case is matched across runs: its file's name and its id (folders differ between machines)."""
    return f"{Path(file).name}#{case_id}"


@dataclass(frozen=True, slots=True)
class Change:
    """A case or one of its checks that got better or worse than in the baseline run."""

    case: str
    file: str
    what: str  # "case", a slot name, "outcome", "wer"
    before: Any
    after: Any
    worse: bool

    def as_dict(self) -> dict[str, Any]:
        return {
            "case": self.case,
            "file": self.file,
            "what": self.what,
            "before": self.before,
            "after": self.after,
        }

    def shown(self, value: Any) -> str:
        """A before/after value for people: passed/failed, right/wrong, or a rate in percent."""
        if isinstance(value, bool):
            if self.what == "case":
                return "passed" if value else "failed"
            return "right" if value else "wrong"
        return f"{value:.1%}" if isinstance(value, float) else str(value)

    def describe(self) -> str:
        label = "WORSE" if self.worse else "BETTER"
        before, after = self.shown(self.before), self.shown(self.after)
        return f"{label} {self.case} ({Path(self.file).name}): {self.what}: {before} -> {after}"


def _ms_text(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f} ms"


def _rate(count: ErrorCount) -> float | None:
    return None if count.rate is None else round(count.rate, 4)


@dataclass
class EvalReport:
    results: list[CaseResult] = field(default_factory=list)
    asr: str = "none"  # "reference", the model folder(s) used, or "none" (no audio turns)
    asr_chosen: bool = False  # --asr was given: report the audio fields even for a run without audio turns
    changes: list[Change] = field(default_factory=list)
    baseline: str | None = None
    turn_detector: str = "timer"  # CALLBOT_TURN_DETECTOR of the run

    @property
    def passed(self) -> int:
        return sum(r.passed for r in self.results)

    @property
    def all_passed(self) -> bool:
        return self.passed == len(self.results)

    @property
    def extended(self) -> bool:
        """Plain text scripts with no tuning option keep ``callbot eval --json``'s original shape."""
        return bool(self.audio_turns) or self.asr_chosen or self.baseline is not None

    @property
    def regressions(self) -> list[Change]:
        return [c for c in self.changes if c.worse]

    @property
    def improvements(self) -> list[Change]:
        return [c for c in self.changes if not c.worse]

    @property
    def audio_turns(self) -> int:
        return sum(len(r.turns) for r in self.results)

    def words(self) -> ErrorCount:
        return total(r.words for r in self.results)

    def chars(self) -> ErrorCount:
        return total(r.chars for r in self.results)

    def latencies_ms(self) -> list[float]:
        return [value for r in self.results for value in r.latencies_ms]

    def turn_timings(self) -> list[TurnTiming]:
        return [t.timing for r in self.results for t in r.turns if t.timing is not None]

    def turn_taking(self) -> dict[str, Any]:
        return {"detector": self.turn_detector, **turn_taking_summary(self.turn_timings())}

    def accuracy(self) -> dict[str, float]:
        """Per checked key (slots, then outcome): the share of cases whose value matched."""
        scores: dict[str, list[bool]] = {}
        for result in self.results:
            for check in result.checks:
                if check.kind in SCORED:
                    scores.setdefault(check.key, []).append(check.passed)
        return {k: round(sum(scores[k]) / len(scores[k]), 4) for k in scored_keys() if k in scores}

    def changes_of(self, result: CaseResult) -> list[Change]:
        key = case_key(result.file, result.id)
        return [c for c in self.changes if case_key(c.file, c.case) == key]

    def exit_code(self) -> int:
        """0: every case passes and nothing got worse than the baseline; 1 otherwise (2 is for bad input)."""
        return 0 if self.all_passed and not self.regressions else 1

    def as_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "cases": len(self.results),
            "passed": self.passed,
            "slot_accuracy": self.accuracy(),
            "results": [r.as_dict() for r in self.results],
        }
        if not self.extended:
            return data
        data["outcome_accuracy"] = data["slot_accuracy"].get("outcome")
        data["asr"] = self.asr
        data["audio_turns"] = self.audio_turns
        data["wer"] = _rate(self.words())
        data["cer"] = _rate(self.chars())
        data["reference_words"] = self.words().length
        data["latency_ms"] = latency_summary(self.latencies_ms())
        data["turn_taking"] = self.turn_taking()
        for item, result in zip(data["results"], self.results):
            item["file"] = str(result.file)
            item["differences"] = result.differences
            item["checks"] = result.scored
            item["wer"] = _rate(result.words)
            item["cer"] = _rate(result.chars)
            item["latency_ms"] = latency_summary(result.latencies_ms)
            item["audio_turns"] = [t.as_dict() for t in result.turns]
            item["changes"] = [{**c.as_dict(), "worse": c.worse} for c in self.changes_of(result)]
        data["baseline"] = self.baseline
        data["regressions"] = [c.as_dict() for c in self.regressions]
        data["improvements"] = [c.as_dict() for c in self.improvements]
        return data

    def as_text(self, verbose: bool = False) -> str:
        lines = self._cases_text(verbose)
        if self.audio_turns:
            lines.extend(self._audio_text(verbose))
        if self.baseline is not None:
            lines.append("")
            lines.append(
                f"against baseline {self.baseline}: {len(self.regressions)} regression(s), "
                f"{len(self.improvements)} improvement(s)"
            )
            lines.extend(f"  {change.describe()}" for change in [*self.regressions, *self.improvements])
        return "\n".join(lines)

    def _cases_text(self, verbose: bool) -> list[str]:
        lines: list[str] = []
        for result in self.results:
            lines.append(f"{'PASS' if result.passed else 'FAIL'}  {result.id}  ({result.file})")
            for difference in result.differences:
                lines.append(f"      - {difference}")
            if verbose or not result.passed:
                for line in result.transcript:
                    lines.append(f"        {line['speaker']:>6}: {line['text']}")
        total_cases = len(self.results)
        rate = self.passed / total_cases if total_cases else 0.0
        lines.append("")
        lines.append(f"cases: {self.passed}/{total_cases} passed ({rate:.1%})")
        accuracy = self.accuracy()
        if "outcome" in accuracy:
            lines.append(f"outcome accuracy: {accuracy['outcome']:.1%}")
        slots = ", ".join(f"{k} {v:.1%}" for k, v in accuracy.items() if k != "outcome")
        if slots:
            lines.append(f"slot accuracy: {slots}")
        return lines

    def _audio_text(self, verbose: bool) -> list[str]:
        words, latency = self.words(), latency_summary(self.latencies_ms())
        lines = [f"audio turns: {self.audio_turns} (asr: {self.asr})"]
        if words.rate is not None:
            lines.append(
                f"WER {_rate(words):.1%}, CER {_rate(self.chars()):.1%} over {words.length} reference words"
            )
        if latency["count"]:
            lines.append(
                f"end of speech -> final transcript: p50 {latency['p50']:.0f} ms, p95 {latency['p95']:.0f} ms "
                f"over {latency['count']} turns"
            )
        taking = self.turn_taking()
        if taking["turns"]:
            waits = taking["end_of_turn_ms"]
            lines.append(
                f"turn taking ({taking['detector']}): {taking['cut_offs']}/{taking['turns']} turns cut off "
                f"({taking['cut_off_rate']:.1%}); end of speech -> end of turn: p50 {_ms_text(waits['p50'])}, "
                f"p95 {_ms_text(waits['p95'])}, max {_ms_text(waits['max'])}"
            )
        if verbose:
            for result in self.results:
                for t in result.turns:
                    cut = " CUT OFF" if t.timing and t.timing.cut_off else ""
                    lines.append(f"  {result.id} turn {t.turn}: ref {t.reference!r} heard {t.hypothesis!r}{cut}")
        return lines
