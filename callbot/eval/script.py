"""Conversation scripts: the YAML format ``callbot eval`` runs, its turn kinds and expect keys, and loading
with errors that name the file, the case and the field.

File format (YAML)::

    locale: vi                             # required: vi | en
    default_province: "Thành phố Hà Nội"   # optional: the deployment's province
    cases:
      - id: short-unique-id
        caller_id: "+84912345678"          # optional
        operators_free: false              # optional (default true): operator transfers find nobody
        tickets:                           # optional: what a status lookup by phone finds (others: not found)
          "12345674": {status: in_progress, unit: "UBND phường Đống Đa", updated: 2026-11-30}
        turns:                             # each answers the bot's latest prompt
          - say: "tôi tên là nguyễn văn an"   # what the ASR heard (optional `confidence: 0.6` beside it)
          - silence: 8
          - dtmf: "1"                      # one keypad answer (several keys: "12345671")
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

When the turns run out before the call ends, the caller hangs up. Every expect key is one entry of
``EXPECT`` (how its value is written, what it is checked against and how): a new slot is one ``_slot`` line,
and the report, the JSON's ``got``, the accuracy and the baseline follow from it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, Literal

from callbot.dialogue.lexicon import read_yaml_mapping
from callbot.dialogue.resources import DialogueResources, UnknownProvince
from callbot.dialogue.text import squeeze
from callbot.types import (
    CallerEvent,
    Category,
    DtmfInput,
    Escalation,
    FinalTranscript,
    Hangup,
    NoInput,
    Outcome,
    Priority,
    TicketDraft,
    TicketLookedUp,
)

LOCALES = ("vi", "en")
STATUSES = ("new", "assigned", "in_progress", "resolved", "closed")  # a ticket's status (callbot.store.models)
CASE_KEYS = {"id", "caller_id", "turns", "expect", "operators_free", "tickets", "description"}
OUTCOMES = tuple(o.value for o in Outcome)


class MalformedEvalFile(ValueError):
    """The message names the file, the case and the field."""


# --- expect keys: one entry each ---------------------------------------------------------------------------
CheckKind = Literal["call", "slot", "outcome", "prompts"]  # "call": the script's own checks (filed, turns used)


def same(expected: object, got: object) -> bool:
    if isinstance(expected, str) and isinstance(got, str):
        return squeeze(expected) == squeeze(got)  # official names sometimes carry a double space
    return expected == got


def said_in_order(wanted: Sequence[str], said: Sequence[str]) -> bool:
    remaining = iter(said)
    return all(any(key == s for s in remaining) for key in wanted)


def _text(choices: tuple[str, ...] = (), nullable: bool = True) -> Callable[[object], str | None]:
    def problem(value: object) -> str | None:
        if value is not None and not isinstance(value, str):
            return "must be a string or null"
        if choices and value is not None and value not in choices:
            return f"must be one of {', '.join(choices)} (got {value!r})"
        if value is None and not nullable:
            return "cannot be null: every call files a ticket"
        return None

    return problem


def _outcome_list(value: object) -> str | None:
    if not isinstance(value, list) or not value or any(v not in OUTCOMES for v in value):
        return f"must be a list of {', '.join(OUTCOMES)}"
    return None


def _flag(value: object) -> str | None:
    return None if isinstance(value, bool) else "must be true or false"


def _prompt_keys(value: object) -> str | None:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        return "must be a list of prompt keys"
    return None


@dataclass(frozen=True)
class ExpectKey:
    """One key of a case's ``expect``: how its value is written (``problem`` says what is wrong with it), the
    value it checks (``checks``, read from the filed ticket by ``read``) and how (``matches(expected, got)``)."""

    key: str
    kind: CheckKind
    problem: Callable[[object], str | None]
    read: Callable[[TicketDraft], object] | None = None
    checks: str = ""  # the checked value's name when it is not ``key`` (outcome_in checks the outcome)
    matches: Callable[[Any, Any], bool] = same

    @property
    def checked(self) -> str:
        return self.checks or self.key


def _slot(
    key: str,
    read: Callable[[TicketDraft], object],
    choices: tuple[str, ...] = (),
    problem: Callable[[object], str | None] | None = None,  # default: a string (one of ``choices``) or null
) -> ExpectKey:
    return ExpectKey(key, "slot", problem or _text(choices), read)


EXPECT: dict[str, ExpectKey] = {
    entry.key: entry
    for entry in (
        _slot("name", lambda d: d.name),
        _slot("anonymous", lambda d: d.anonymous, problem=_flag),
        _slot("address", lambda d: d.address_text),
        _slot("ward", lambda d: d.ward_name),
        _slot("province", lambda d: d.province_name),
        _slot("need", lambda d: d.need_text),
        _slot("category", lambda d: d.category.value, tuple(c.value for c in Category)),
        _slot("priority", lambda d: d.priority.value, tuple(p.value for p in Priority)),
        _slot("escalation", lambda d: d.escalation and d.escalation.value, tuple(e.value for e in Escalation)),
        ExpectKey("outcome", "outcome", _text(OUTCOMES, nullable=False), lambda d: d.outcome.value),
        ExpectKey("outcome_in", "outcome", _outcome_list, checks="outcome", matches=lambda want, got: got in want),
        ExpectKey("prompts", "prompts", _prompt_keys, matches=said_in_order),
    )
}


def scored_keys() -> list[str]:
    """The values slot/outcome accuracy is reported for, in order: the slots, then the outcome."""
    return [key for key, entry in EXPECT.items() if entry.kind == "slot"] + ["outcome"]


def ticket_values(draft: TicketDraft | None) -> dict[str, Any]:
    """The filed ticket's value for every expect key that reads one (outcome first); no ticket: no outcome."""
    if draft is None:
        return {"outcome": None}
    values = {key: entry.read(draft) for key, entry in EXPECT.items() if entry.read is not None}
    return {"outcome": values.pop("outcome"), **values}


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
        return [DtmfInput(self.digits)]  # one answer, as a live call's keys are collected (a ticket's 8 digits)


@dataclass(frozen=True)
class HangupTurn:
    def events(self) -> list[CallerEvent]:
        return [Hangup()]


@dataclass(frozen=True)
class WavTurn:
    """Caller audio (``path`` as written, relative to the YAML file); ``reference`` is what was really said.
    ``callbot.eval.audio.AudioCaller`` hears it."""

    path: str
    reference: str | None = None


TextTurn = SayTurn | SilenceTurn | DtmfTurn | HangupTurn
Turn = TextTurn | WavTurn
Fail = Callable[[str, str], MalformedEvalFile]


def _parse_say(raw: dict[str, Any], fail: Fail) -> Turn:
    if not isinstance(raw["say"], str) or not raw["say"].strip():
        raise fail("say", "must be a non-empty string")
    confidence = raw.get("confidence", 1.0)
    if isinstance(confidence, bool) or not isinstance(confidence, (int, float)) or not 0 <= confidence <= 1:
        raise fail("confidence", "must be a number from 0 to 1")
    return SayTurn(raw["say"], float(confidence))


def _parse_silence(raw: dict[str, Any], fail: Fail) -> Turn:
    seconds = raw["silence"]
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or seconds <= 0:
        raise fail("silence", "must be a positive number of seconds")
    return SilenceTurn(float(seconds))


def _parse_dtmf(raw: dict[str, Any], fail: Fail) -> Turn:
    digits = (
        str(raw["dtmf"])
        if isinstance(raw["dtmf"], int) and not isinstance(raw["dtmf"], bool)
        else raw["dtmf"]
    )
    if not isinstance(digits, str) or not digits or any(d not in "0123456789*#" for d in digits):
        raise fail("dtmf", "must be keypad digits (0-9, *, #)")
    return DtmfTurn(digits)


def _parse_hangup(raw: dict[str, Any], fail: Fail) -> Turn:
    if raw["hangup"] is not True:
        raise fail("hangup", "must be true")
    return HangupTurn()


def _parse_wav(raw: dict[str, Any], fail: Fail) -> Turn:
    if not isinstance(raw["wav"], str) or not raw["wav"].strip():
        raise fail("wav", "must be a WAV file path relative to this file")
    reference = raw.get("say")
    if reference is not None and (not isinstance(reference, str) or not reference.strip()):
        raise fail("say", "must be a non-empty string (the reference transcript)")
    return WavTurn(raw["wav"], reference)


TURN_PARSERS: dict[str, tuple[Callable[[dict[str, Any], Fail], Turn], set[str]]] = {
    "say": (_parse_say, {"confidence"}),
    "silence": (_parse_silence, set()),
    "dtmf": (_parse_dtmf, set()),
    "hangup": (_parse_hangup, set()),
    "wav": (_parse_wav, {"say"}),
}


def parse_turn(raw: object, fail: Fail) -> Turn:
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
    tickets: tuple[TicketLookedUp, ...] = ()  # what a status lookup by phone finds


@dataclass(frozen=True)
class EvalFile:
    path: Path
    locale: str
    default_province: str | None
    cases: tuple[EvalCase, ...]

    def wav_path(self, turn: WavTurn) -> Path:
        return (self.path.parent / turn.path).resolve()

    @property
    def has_audio(self) -> bool:
        return any(isinstance(turn, WavTurn) for case in self.cases for turn in case.turns)


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
    tickets = parse_tickets(raw.get("tickets") or {}, lambda problem: fail(label, "tickets", problem))
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
    for key, value in expect.items():
        entry = EXPECT.get(key)
        problem = f"unknown key; known: {', '.join(EXPECT)}" if entry is None else entry.problem(value)
        if problem:
            raise fail(label, f"expect.{key}", problem)
    return EvalCase(case_id, tuple(turns), dict(expect), caller_id, operators_free, tickets)


def check_audio_turns(eval_file: EvalFile, *, need_reference: bool) -> None:
    """Every ``wav:`` names a readable file (and carries ``say:`` when the reference stands in for ASR)."""
    import soundfile  # only the check reads headers; decoding goes through callbot.audio

    for case in eval_file.cases:
        for index, turn in enumerate(case.turns):
            if not isinstance(turn, WavTurn):
                continue
            where = f"{eval_file.path}: case '{case.id}': field 'turns[{index}]"
            path = eval_file.wav_path(turn)
            if not path.is_file():
                raise MalformedEvalFile(f"{where}.wav': no such WAV file {path}")
            try:
                soundfile.info(str(path))
            except (RuntimeError, soundfile.LibsndfileError) as exc:
                raise MalformedEvalFile(f"{where}.wav': cannot read {path}: {exc}") from None
            if need_reference and not turn.reference:
                raise MalformedEvalFile(f"{where}.say': required beside wav when --asr reference is used")


def parse_tickets(raw: object, fail: Callable[[str], MalformedEvalFile]) -> tuple[TicketLookedUp, ...]:
    """``{number: {status, unit, updated}}`` -> what the simulated store finds on a status lookup."""
    if not isinstance(raw, dict):
        raise fail("must map a ticket number to {status, unit, updated}")
    found = []
    for number, fields in raw.items():
        if not (isinstance(number, str) and number.isdigit() and len(number) == 8) or not isinstance(fields, dict):
            raise fail(f"{number!r}: an 8-digit number (quoted) mapping to {{status, unit, updated}}")
        if set(fields) - {"status", "unit", "updated"} or fields.get("status") not in STATUSES:
            raise fail(f"{number}: status is one of {', '.join(STATUSES)}; only status, unit, updated are known")
        updated = fields.get("updated")
        if updated is not None and not isinstance(updated, date):
            raise fail(f"{number}: updated is a date (YYYY-MM-DD)")
        found.append(TicketLookedUp("found", number, fields["status"], fields.get("unit"), updated))
    return tuple(found)
