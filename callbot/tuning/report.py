"""The tuning report: the dialogue's eval report plus recognition errors, turn latency and baseline changes.

JSON keeps every field of ``callbot eval --json`` and adds: ``asr``, ``outcome_accuracy``, ``wer``, ``cer``,
``reference_words``, ``latency_ms`` {count, p50, p95, max}, ``regressions``/``improvements`` (against
``--baseline``) and, per result, ``file``, ``checks`` (slot/outcome -> right?), ``wer``, ``cer``,
``latency_ms``, ``audio_turns`` and ``changes``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from callbot.evaluation import SLOT_KEYS, CaseResult, EvalReport
from callbot.tuning.audio_turns import TurnMeasure
from callbot.tuning.metrics import ErrorCount, latency_summary, total


def case_checks(result: CaseResult) -> dict[str, bool]:
    """Each checked slot (and the outcome) of a case: did the bot get it right?"""
    checks: dict[str, bool] = {}
    for key in result.expected:
        label = "outcome" if key == "outcome_in" else key
        if label in SLOT_KEYS or label == "outcome":
            checks[label] = not any(d.startswith(f"{label}:") for d in result.differences)
    return checks


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


@dataclass
class CaseMeasures:
    turns: list[TurnMeasure] = field(default_factory=list)

    @property
    def words(self) -> ErrorCount:
        return total(t.words for t in self.turns if t.words)

    @property
    def chars(self) -> ErrorCount:
        return total(t.chars for t in self.turns if t.chars)

    @property
    def latencies_ms(self) -> list[float]:
        return [t.latency_ms for t in self.turns if t.latency_ms is not None]


def _rate(count: ErrorCount) -> float | None:
    return None if count.rate is None else round(count.rate, 4)


@dataclass
class TuningReport:
    evaluation: EvalReport
    measures: list[CaseMeasures]  # one per evaluation result, same order
    asr: str  # "reference", or the model folder used
    changes: list[Change] = field(default_factory=list)
    baseline: str | None = None
    asr_chosen: bool = False  # --asr was given: report the audio fields even for a run without audio turns

    @property
    def extended(self) -> bool:
        """Plain text scripts with no tuning option keep ``callbot eval --json``'s original shape."""
        return bool(self.audio_turns) or self.asr_chosen or self.baseline is not None

    @property
    def results(self) -> list[CaseResult]:
        return self.evaluation.results

    @property
    def regressions(self) -> list[Change]:
        return [c for c in self.changes if c.worse]

    @property
    def improvements(self) -> list[Change]:
        return [c for c in self.changes if not c.worse]

    @property
    def all_passed(self) -> bool:
        return self.evaluation.passed == len(self.results)

    @property
    def audio_turns(self) -> int:
        return sum(len(m.turns) for m in self.measures)

    def words(self) -> ErrorCount:
        return total(m.words for m in self.measures)

    def chars(self) -> ErrorCount:
        return total(m.chars for m in self.measures)

    def latencies_ms(self) -> list[float]:
        return [value for m in self.measures for value in m.latencies_ms]

    def changes_of(self, result: CaseResult) -> list[Change]:
        key = case_key(result.file, result.id)
        return [c for c in self.changes if case_key(c.file, c.case) == key]

    def exit_code(self) -> int:
        """0: every case passes and nothing got worse than the baseline; 1 otherwise (2 is for bad input)."""
        return 0 if self.all_passed and not self.regressions else 1

    def as_json(self) -> dict[str, Any]:
        data = self.evaluation.as_json()
        if not self.extended:
            return data
        data["outcome_accuracy"] = data["slot_accuracy"].get("outcome")
        data["asr"] = self.asr
        data["audio_turns"] = self.audio_turns
        data["wer"] = _rate(self.words())
        data["cer"] = _rate(self.chars())
        data["reference_words"] = self.words().length
        data["latency_ms"] = latency_summary(self.latencies_ms())
        for item, result, measures in zip(data["results"], self.results, self.measures):
            item["file"] = str(result.file)
            item["differences"] = result.differences
            item["checks"] = case_checks(result)
            item["wer"] = _rate(measures.words)
            item["cer"] = _rate(measures.chars)
            item["latency_ms"] = latency_summary(measures.latencies_ms)
            item["audio_turns"] = [t.as_dict() for t in measures.turns]
            item["changes"] = [{**c.as_dict(), "worse": c.worse} for c in self.changes_of(result)]
        data["baseline"] = self.baseline
        data["regressions"] = [c.as_dict() for c in self.regressions]
        data["improvements"] = [c.as_dict() for c in self.improvements]
        return data

    def as_text(self, verbose: bool = False) -> str:
        lines = [self.evaluation.as_text(verbose)]
        if self.audio_turns:
            summary = self.as_json()
            latency = summary["latency_ms"]
            lines.append(f"audio turns: {self.audio_turns} (asr: {self.asr})")
            if summary["wer"] is not None:
                lines.append(
                    f"WER {summary['wer']:.1%}, CER {summary['cer']:.1%} over {summary['reference_words']} reference words"
                )
            if latency["count"]:
                lines.append(
                    f"end of speech -> final transcript: p50 {latency['p50']:.0f} ms, p95 {latency['p95']:.0f} ms "
                    f"over {latency['count']} turns"
                )
            if verbose:
                for result, measures in zip(self.results, self.measures):
                    for t in measures.turns:
                        lines.append(
                            f"  {result.id} turn {t.turn}: ref {t.reference!r} heard {t.hypothesis!r}"
                        )
        if self.baseline is not None:
            lines.append("")
            lines.append(
                f"against baseline {self.baseline}: {len(self.regressions)} regression(s), "
                f"{len(self.improvements)} improvement(s)"
            )
            lines.extend(f"  {change.describe()}" for change in [*self.regressions, *self.improvements])
        return "\n".join(lines)
