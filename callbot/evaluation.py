"""``callbot eval``: conversation scripts run through the real dialogue policy and understanding.

File format (YAML)::

    locale: vi                             # required: vi | en
    default_province: "Thành phố Hà Nội"   # optional: the deployment's province
    cases:
      - id: short-unique-id
        caller_id: "+84912345678"          # optional
        operators_free: false              # optional (default true): operator transfers find nobody
        turns:                             # each answers the bot's latest prompt
          - say: "tôi tên là nguyễn văn an"   # what the ASR heard (optional `confidence: 0.6` beside it)
          - silence: 8
          - dtmf: "1"
          - hangup: true
          - wav: answers/name.wav          # an audio turn (path relative to this file), heard by the Listener
            say: "tôi tên là nguyễn văn an"   # optional beside `wav`: the reference transcript
        expect:                            # only the keys given are checked; null means "must be empty"
          outcome: complete                # or outcome_in: [a, b]
          name: "Nguyễn Văn An"
          anonymous: false                 # true: the caller declined to give a name
          ward: "Phường Đống Đa"
          province: "Thành phố Hà Nội"
          category: essential_supplies
          priority: normal
          prompts: [ask_ward_district]     # prompt keys the bot must have said, in this order

When the turns run out before the call ends, the caller hangs up.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from callbot.config import Settings
from callbot.dialogue.conversation import Conversation
from callbot.dialogue.lexicon import read_yaml_mapping
from callbot.dialogue.resources import DialogueResources, UnknownProvince
from callbot.dialogue.simulation import SimulatedRuntime
from callbot.dialogue.text import squeeze
from callbot.types import (
    CallerEvent,
    Category,
    DtmfInput,
    FinalTranscript,
    Hangup,
    NoInput,
    Outcome,
    Priority,
    TicketDraft,
)

LOCALES = ("vi", "en")
SLOT_KEYS = ("name", "anonymous", "address", "ward", "province", "need", "category", "priority", "escalation")
EXPECT_KEYS = SLOT_KEYS + ("outcome", "outcome_in", "prompts")
CASE_KEYS = {"id", "caller_id", "turns", "expect", "operators_free", "description"}
CHOICES: dict[str, tuple[str, ...]] = {
    "outcome": tuple(o.value for o in Outcome),
    "category": tuple(c.value for c in Category),
    "priority": tuple(p.value for p in Priority),
    "escalation": ("operator", "emergency", "callback"),
}


class MalformedEvalFile(ValueError):
    """The message names the file, the case and the field."""


# --- turns: one dataclass per kind, parsed in one place ------------------------------------------------
@dataclass(frozen=True)
class SayTurn:
    text: str
    confidence: float = 1.0

    def events(self) -> list[CallerEvent]:
        return [FinalTranscript(self.text, self.confidence)]


@dataclass(frozen=True)
class SilenceTurn:
    seconds: float

    def events(self) -> list[CallerEvent]:
        return [NoInput(self.seconds)]


@dataclass(frozen=True)
class DtmfTurn:
    digits: str

    def events(self) -> list[CallerEvent]:
        return [DtmfInput(d) for d in self.digits]


@dataclass(frozen=True)
class HangupTurn:
    def events(self) -> list[CallerEvent]:
        return [Hangup()]


@dataclass(frozen=True)
class WavTurn:
    """Caller audio (``path`` as written, relative to the YAML file); ``reference`` is what was really said.

    Without a recognizer hook (see ``callbot.tuning``) the reference stands in for what the ASR heard."""

    path: str
    reference: str | None = None

    def events(self) -> list[CallerEvent]:
        return [FinalTranscript(self.reference)] if self.reference else [NoInput(0.0)]


Turn = SayTurn | SilenceTurn | DtmfTurn | HangupTurn | WavTurn


def _parse_say(raw: dict[str, Any], fail: Callable[[str, str], MalformedEvalFile]) -> Turn:
    if not isinstance(raw["say"], str) or not raw["say"].strip():
        raise fail("say", "must be a non-empty string")
    confidence = raw.get("confidence", 1.0)
    if isinstance(confidence, bool) or not isinstance(confidence, (int, float)) or not 0 <= confidence <= 1:
        raise fail("confidence", "must be a number from 0 to 1")
    return SayTurn(raw["say"], float(confidence))


def _parse_silence(raw: dict[str, Any], fail: Callable[[str, str], MalformedEvalFile]) -> Turn:
    seconds = raw["silence"]
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or seconds <= 0:
        raise fail("silence", "must be a positive number of seconds")
    return SilenceTurn(float(seconds))


def _parse_dtmf(raw: dict[str, Any], fail: Callable[[str, str], MalformedEvalFile]) -> Turn:
    digits = (
        str(raw["dtmf"])
        if isinstance(raw["dtmf"], int) and not isinstance(raw["dtmf"], bool)
        else raw["dtmf"]
    )
    if not isinstance(digits, str) or not digits or any(d not in "0123456789*#" for d in digits):
        raise fail("dtmf", "must be keypad digits (0-9, *, #)")
    return DtmfTurn(digits)


def _parse_hangup(raw: dict[str, Any], fail: Callable[[str, str], MalformedEvalFile]) -> Turn:
    if raw["hangup"] is not True:
        raise fail("hangup", "must be true")
    return HangupTurn()


def _parse_wav(raw: dict[str, Any], fail: Callable[[str, str], MalformedEvalFile]) -> Turn:
    if not isinstance(raw["wav"], str) or not raw["wav"].strip():
        raise fail("wav", "must be a WAV file path relative to this file")
    reference = raw.get("say")
    if reference is not None and (not isinstance(reference, str) or not reference.strip()):
        raise fail("say", "must be a non-empty string (the reference transcript)")
    return WavTurn(raw["wav"], reference)


TURN_PARSERS: dict[str, tuple[Callable[..., Turn], set[str]]] = {
    "say": (_parse_say, {"confidence"}),
    "silence": (_parse_silence, set()),
    "dtmf": (_parse_dtmf, set()),
    "hangup": (_parse_hangup, set()),
    "wav": (_parse_wav, {"say"}),
}


def parse_turn(raw: object, fail: Callable[[str, str], MalformedEvalFile]) -> Turn:
    if not isinstance(raw, dict):
        raise fail("", f"must be a mapping with one of: {', '.join(TURN_PARSERS)}")
    kinds = ["wav"] if "wav" in raw else [k for k in raw if k in TURN_PARSERS]  # `say` beside `wav` is its reference
    if len(kinds) != 1:
        raise fail(
            "",
            f"must have exactly one of: {', '.join(TURN_PARSERS)} (got {', '.join(map(str, raw)) or 'nothing'})",
        )
    parser, extras = TURN_PARSERS[kinds[0]]
    unknown = set(raw) - {kinds[0]} - extras
    if unknown:
        raise fail(min(map(str, unknown)), "unknown key for this turn")
    return parser(raw, fail)


# --- files ------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class EvalCase:
    id: str
    turns: tuple[Turn, ...]
    expect: dict[str, Any]
    caller_id: str | None = None
    operators_free: bool = True


@dataclass(frozen=True)
class EvalFile:
    path: Path
    locale: str
    default_province: str | None
    cases: tuple[EvalCase, ...]


def load_eval_file(path: Path, resources: DialogueResources) -> EvalFile:
    def fail(case: str | None, field_name: str, problem: str) -> MalformedEvalFile:
        where = f"case {case}: " if case else ""
        return MalformedEvalFile(f"{path}: {where}field '{field_name}': {problem}")

    data = read_yaml_mapping(path, MalformedEvalFile, "a mapping with locale and cases")
    unknown = set(data) - {"locale", "default_province", "cases"}
    if unknown:
        raise fail(None, min(map(str, unknown)), "unknown key")
    locale = data.get("locale")
    if locale not in LOCALES:
        raise fail(None, "locale", f"required, one of {', '.join(LOCALES)} (got {locale!r})")
    province = data.get("default_province")
    if province is not None:
        if not isinstance(province, str):
            raise fail(None, "default_province", "must be a province name")
        try:
            resources.province(province, locale)
        except UnknownProvince as exc:
            raise fail(None, "default_province", str(exc)) from None
    raw_cases = data.get("cases")
    if not isinstance(raw_cases, list) or not raw_cases:
        raise fail(None, "cases", "required, a non-empty list")
    cases: list[EvalCase] = []
    seen: set[str] = set()
    for index, raw in enumerate(raw_cases):
        cases.append(_parse_case(raw, index, seen, fail))
    return EvalFile(Path(path), locale, province, tuple(cases))


def _parse_case(raw: object, index: int, seen: set[str], fail: Callable[..., MalformedEvalFile]) -> EvalCase:
    label = f"#{index + 1}"
    if not isinstance(raw, dict):
        raise fail(label, "", "a case must be a mapping")
    case_id = raw.get("id")
    if not isinstance(case_id, str) or not case_id:
        raise fail(label, "id", "required, a non-empty string")
    label = f"'{case_id}'"
    if case_id in seen:
        raise fail(label, "id", "duplicate case id")
    seen.add(case_id)
    unknown = set(raw) - CASE_KEYS
    if unknown:
        raise fail(label, min(map(str, unknown)), "unknown key")
    caller_id = raw.get("caller_id")
    if caller_id is not None and not isinstance(caller_id, str):
        raise fail(label, "caller_id", "must be a string")
    operators_free = raw.get("operators_free", True)
    if not isinstance(operators_free, bool):
        raise fail(label, "operators_free", "must be true or false")
    raw_turns = raw.get("turns")
    if not isinstance(raw_turns, list):
        raise fail(label, "turns", "required, a list")
    turns = []
    for n, raw_turn in enumerate(raw_turns):

        def turn_fail(field_name: str, problem: str, n: int = n) -> MalformedEvalFile:
            return fail(label, f"turns[{n}]" + (f".{field_name}" if field_name else ""), problem)

        turns.append(parse_turn(raw_turn, turn_fail))
    expect = raw.get("expect")
    if not isinstance(expect, dict) or not expect:
        raise fail(label, "expect", "required, a mapping of the values to check")
    _check_expect(expect, label, fail)
    return EvalCase(case_id, tuple(turns), dict(expect), caller_id, operators_free)


def _check_expect(expect: dict[str, Any], label: str, fail: Callable[..., MalformedEvalFile]) -> None:
    for key, value in expect.items():
        if key not in EXPECT_KEYS:
            raise fail(label, f"expect.{key}", f"unknown key; known: {', '.join(EXPECT_KEYS)}")
        if key == "outcome_in":
            if not isinstance(value, list) or not value or any(v not in CHOICES["outcome"] for v in value):
                raise fail(label, "expect.outcome_in", f"must be a list of {', '.join(CHOICES['outcome'])}")
        elif key == "prompts":
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise fail(label, "expect.prompts", "must be a list of prompt keys")
        elif key == "anonymous":
            if not isinstance(value, bool):
                raise fail(label, "expect.anonymous", "must be true or false")
        elif value is not None and not isinstance(value, str):
            raise fail(label, f"expect.{key}", "must be a string or null")
        elif key in CHOICES and value is not None and value not in CHOICES[key]:
            raise fail(label, f"expect.{key}", f"must be one of {', '.join(CHOICES[key])} (got {value!r})")
        elif key == "outcome" and value is None:
            raise fail(label, "expect.outcome", "cannot be null: every call files a ticket")


# --- running ---------------------------------------------------------------------------------------------
@dataclass
class CaseResult:
    id: str
    file: Path
    passed: bool
    expected: dict[str, Any]
    got: dict[str, Any]
    differences: list[str]
    transcript: list[dict[str, str]]

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "passed": self.passed,
            "expected": self.expected,
            "got": self.got,
            "transcript": self.transcript,
        }


def draft_values(draft: TicketDraft | None) -> dict[str, Any]:
    if draft is None:
        return {"outcome": None}
    return {
        "outcome": draft.outcome.value,
        "name": draft.name,
        "anonymous": draft.anonymous,
        "address": draft.address_text,
        "ward": draft.ward_name,
        "province": draft.province_name,
        "need": draft.need_text,
        "category": draft.category.value,
        "priority": draft.priority.value,
        "escalation": draft.escalation,
    }


def _same(expected: object, got: object) -> bool:
    if isinstance(expected, str) and isinstance(got, str):
        return squeeze(expected) == squeeze(got)  # official names sometimes carry a double space
    return expected == got


def _is_subsequence(wanted: Sequence[str], said: Sequence[str]) -> bool:
    remaining = iter(said)
    return all(any(key == s for s in remaining) for key in wanted)


def run_case(
    case: EvalCase,
    eval_file: EvalFile,
    settings: Settings,
    resources: DialogueResources,
    ticket_number: str,
    turn_events: Callable[[Turn], list[CallerEvent]] = lambda turn: turn.events(),
    on_runtime: Callable[[SimulatedRuntime], None] | None = None,
) -> CaseResult:
    """One case through the real policy; ``turn_events`` turns a script turn into caller events;
    ``on_runtime`` sees the runtime before the call starts (an audio hook reads the bot's last question)."""
    file_settings = settings.model_copy(update={"default_province": eval_file.default_province})
    conversation = Conversation(
        file_settings,
        locale=eval_file.locale,
        call_id=f"eval-{case.id}",
        caller_id=case.caller_id,
        resources=resources,
    )
    runtime = SimulatedRuntime(conversation, ticket_number=ticket_number, operators_free=case.operators_free)
    if on_runtime is not None:
        on_runtime(runtime)
    runtime.start()
    unused = 0
    for turn in case.turns:
        if runtime.ended:
            unused += 1
            continue
        for event in turn_events(turn):
            if not runtime.ended:
                runtime.caller(event)
    if not runtime.ended:
        runtime.caller(Hangup())
    got = draft_values(runtime.filed)
    differences = []
    if runtime.filed is None:
        differences.append("no ticket was filed")
    if unused:
        differences.append(f"the call ended with {unused} turn(s) of the script unused")
    said = [line.key for line in runtime.transcript if line.speaker == "bot" and line.key]
    for key, expected in case.expect.items():
        if key == "outcome_in":
            if got["outcome"] not in expected:
                differences.append(f"outcome: expected one of {expected}, got {got['outcome']!r}")
        elif key == "prompts":
            got["prompts"] = said
            if not _is_subsequence(expected, said):
                differences.append(f"prompts: expected {expected} in this order, the bot said {said}")
        elif not _same(expected, got.get(key)):
            differences.append(f"{key}: expected {expected!r}, got {got.get(key)!r}")
    return CaseResult(
        case.id,
        eval_file.path,
        not differences,
        dict(case.expect),
        got,
        differences,
        [line.as_dict() for line in runtime.transcript],
    )


@dataclass
class EvalReport:
    results: list[CaseResult] = field(default_factory=list)

    @property
    def passed(self) -> int:
        return sum(r.passed for r in self.results)

    def accuracy(self) -> dict[str, float]:
        """Per checked key (slots, then outcome): the share of cases whose value matched."""
        scores: dict[str, list[bool]] = {}
        for result in self.results:
            for key in result.expected:
                label = "outcome" if key == "outcome_in" else key
                if label in SLOT_KEYS or label == "outcome":
                    wrong = any(d.startswith(f"{label}:") for d in result.differences)
                    scores.setdefault(label, []).append(not wrong)
        ordered = [k for k in SLOT_KEYS + ("outcome",) if k in scores]
        return {k: round(sum(scores[k]) / len(scores[k]), 4) for k in ordered}

    def as_json(self) -> dict[str, Any]:
        return {
            "cases": len(self.results),
            "passed": self.passed,
            "slot_accuracy": self.accuracy(),
            "results": [r.as_dict() for r in self.results],
        }

    def as_text(self, verbose: bool = False) -> str:
        lines: list[str] = []
        for result in self.results:
            lines.append(f"{'PASS' if result.passed else 'FAIL'}  {result.id}  ({result.file})")
            for difference in result.differences:
                lines.append(f"      - {difference}")
            if verbose or not result.passed:
                for line in result.transcript:
                    lines.append(f"        {line['speaker']:>6}: {line['text']}")
        total = len(self.results)
        rate = self.passed / total if total else 0.0
        lines.append("")
        lines.append(f"cases: {self.passed}/{total} passed ({rate:.1%})")
        accuracy = self.accuracy()
        if "outcome" in accuracy:
            lines.append(f"outcome accuracy: {accuracy['outcome']:.1%}")
        slots = ", ".join(f"{k} {v:.1%}" for k, v in accuracy.items() if k != "outcome")
        if slots:
            lines.append(f"slot accuracy: {slots}")
        return "\n".join(lines)


def eval_ticket_number(index: int) -> str:
    """Deterministic test ticket numbers in the store's shape ("NNNN-NNNN")."""
    digits = f"{index:08d}"
    return f"{digits[:4]}-{digits[4:]}"


def run_eval(
    paths: Sequence[Path],
    settings: Settings,
    resources: DialogueResources | None = None,
    turn_events: Callable[[Turn], list[CallerEvent]] = lambda turn: turn.events(),
) -> EvalReport:
    """Load every file first (a malformed one raises MalformedEvalFile before anything runs), then run.

    ``turn_events`` turns a script turn into caller events: text turns know their own; audio turns will need
    a recognizer, which the caller of this function supplies."""
    resources = resources or DialogueResources(settings)
    files = [load_eval_file(Path(p), resources) for p in paths]
    report = EvalReport()
    for eval_file in files:
        for case in eval_file.cases:
            number = eval_ticket_number(len(report.results) + 1)
            report.results.append(run_case(case, eval_file, settings, resources, number, turn_events))
    return report
