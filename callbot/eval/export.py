"""A real call cut into a regression case: one WAV per caller turn from the call's stereo recording (caller on
the left channel, see ``callbot.recording``), and a conversation script whose ``expect`` holds the ticket's
values as they stand now (after any supervisor's corrections). The files hold personal data: they stay local.

A record-only call has clips but no text: each such answer gets a ``say: "TRANSCRIBE: ..."`` placeholder for the
supervisor to replace with what the caller says (``callbot eval`` refuses a placeholder, naming it), and, while
the ticket still needs transcription, ``expect`` keeps only what does not depend on the words.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import soundfile
import yaml
from sqlmodel import Session

from callbot.audio import write_wav
from callbot.config import Settings
from callbot.eval.script import TRANSCRIBE_PLACEHOLDER
from callbot.private_files import private_dir, private_opener
from callbot.recording import CALLER_CHANNEL
from callbot.store import TicketNotFound, audit, tickets
from callbot.ticket_numbers import format_ticket_number, parse_ticket_number
from callbot.types import Escalation, Speaker, TurnKind

PAD_BEFORE_S = 0.3  # speech onset before the first word's timing; never reaches back into the previous turn
PAD_AFTER_S = 0.2
PRIVACY_NOTICE = (
    "These files hold personal data (the caller's voice, name, address, phone number). Keep them on this "
    "machine or the hotline's own systems: do not upload, share or commit them."
)


class ExportError(RuntimeError):
    """The ticket cannot be exported (unknown number, no call, no recording)."""


@dataclass
class ExportResult:
    script: Path
    wavs: list[Path] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # caller turns that could not be cut, and why
    to_transcribe: int = 0  # answers exported with a TRANSCRIBE placeholder (a record-only call)

    @property
    def eval_command(self) -> str:
        """How to replay it: the say: text stands in for the recognizer when a person wrote it."""
        return f"callbot eval {'--asr reference ' if self.to_transcribe else ''}{self.script}"


# expect keys whose values come from the caller's words: unknown while the ticket still needs transcription
WORD_DEPENDENT_KEYS = ("name", "address", "ward", "province", "need", "category", "priority")


def expected_values(ticket: Any) -> dict[str, Any]:
    """The ticket's current slots in the keys of a conversation script's ``expect``; while it still needs
    transcription, only those that do not depend on the caller's words."""
    values = {
        "outcome": ticket.outcome,
        "name": ticket.name,
        "address": ticket.address_text,
        "ward": ticket.ward_name,
        "province": ticket.province_name,
        "need": ticket.need_text,
        "category": ticket.category,
        "priority": ticket.priority,
        "escalation": ticket.escalation,
    }
    if ticket.needs_transcription:
        return {key: value for key, value in values.items() if key not in WORD_DEPENDENT_KEYS}
    return values


def export_ticket(session: Session, settings: Settings, number: str, out_dir: Path, *,
                  actor: str = "cli") -> ExportResult:
    """Export a ticket a supervisor approved for tuning (audit-logged as ``fixture.export`` by ``actor``)."""
    try:
        digits = parse_ticket_number(number)
    except ValueError as exc:
        raise ExportError(str(exc)) from None
    try:
        detail = tickets.get_ticket(session, number=digits)
    except TicketNotFound:
        raise ExportError(f"no ticket {format_ticket_number(digits)} in the ticket store") from None
    if detail.ticket.tuning_approved_at is None:
        raise ExportError(
            f"ticket {format_ticket_number(digits)} is not approved for tuning: a supervisor approves it on the "
            f'ticket\'s page or with PATCH /api/tickets/{digits} {{"approved_for_tuning": true}}'
        )
    if detail.call is None:
        raise ExportError(f"ticket {format_ticket_number(digits)} has no call record")
    recording = detail.call.recording_path
    if recording is None or not Path(recording).is_file():
        raise ExportError(
            f"ticket {format_ticket_number(digits)}: the call's recording is not on this machine"
            + (f" ({recording})" if recording else "")
        )
    audio, rate = soundfile.read(str(recording), dtype="int16", always_2d=True)
    caller = audio[:, CALLER_CHANNEL] if audio.shape[1] > CALLER_CHANNEL else audio[:, 0]
    private_dir(out_dir)
    result = ExportResult(script=out_dir / f"ticket-{digits}.yaml")
    turns: list[dict[str, Any]] = []
    previous_end = 0.0
    for turn in detail.turns:
        if turn.speaker != Speaker.caller:
            continue
        if turn.kind == TurnKind.dtmf and turn.text:
            turns.append({"dtmf": turn.text})
        elif turn.kind == TurnKind.no_input:
            turns.append({"silence": settings.no_input_timeout_s})
        elif turn.kind == TurnKind.speech:
            start = max(previous_end, turn.start - PAD_BEFORE_S)
            end = turn.end + PAD_AFTER_S
            clip = caller[int(start * rate) : int(end * rate)]
            if clip.size == 0:
                result.skipped.append(f"turn {turn.seq}: {start:.2f}-{end:.2f} s is outside the recording")
                continue
            relative = f"answers/turn-{turn.seq:03d}.wav"
            result.wavs.append(write_wav(out_dir / relative, np.ascontiguousarray(clip).tobytes(), rate))
            said = turn.text.strip()
            if not said:  # record-only: the answer was kept as a clip, nobody has written it down yet
                said = f"{TRANSCRIBE_PLACEHOLDER} what the caller says in {relative}"
                result.to_transcribe += 1
            turns.append({"wav": relative, "say": said})
            previous_end = turn.end
    confirmed = bool(result.to_transcribe) and detail.ticket.outcome == "complete"
    if confirmed:  # a record-only call reads nothing back; with the words filled in, the replay asks "is it right?"
        turns.append({"dtmf": "1"})
    case: dict[str, Any] = {"id": f"ticket-{digits}"}
    if detail.call.caller_id:
        case["caller_id"] = detail.call.caller_id
    if detail.ticket.escalation == Escalation.callback:
        case["operators_free"] = False  # the bot found nobody free on the real call
    case["turns"] = turns
    case["expect"] = expected_values(detail.ticket)
    script: dict[str, Any] = {"locale": detail.call.locale}
    if settings.default_province:
        script["default_province"] = settings.default_province
    script["cases"] = [case]
    header = (
        f"# Exported from ticket {format_ticket_number(digits)} (call {detail.call.call_id}) on "
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC by callbot fixtures export.\n"
        f"# {PRIVACY_NOTICE}\n"
        "# `say:` is what the bot heard on the call, not a checked transcript: correct it to measure WER.\n"
    )
    if result.to_transcribe:
        header += (
            f"# TO DO: {result.to_transcribe} answer(s) were recorded but never transcribed (record-only mode): replace\n"
            f'# each `say: "{TRANSCRIBE_PLACEHOLDER} ..."` with what the caller says in that clip, then run:\n'
            f"#   {result.eval_command}\n"
        )
    if confirmed:
        header += "# The last turn (keypad 1) confirms the read-back a record-only call never had.\n"
    if detail.ticket.needs_transcription:
        header += (
            "# The ticket still needs transcription, so `expect` holds only the outcome and the escalation: add\n"
            f"# {', '.join(WORD_DEPENDENT_KEYS)} once known (or correct the ticket and export it again).\n"
        )
    body = yaml.safe_dump(script, allow_unicode=True, sort_keys=False, width=120)
    with open(result.script, "w", encoding="utf-8", opener=private_opener) as handle:
        handle.write(header + body)
    audit.record_entry(session, actor=actor, action="fixture.export", target_type="ticket", target_id=digits,
                       field="files", new_value=f"script and {len(result.wavs)} caller clip(s)")
    return result
