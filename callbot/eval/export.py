"""A real call cut into a regression case: one WAV per caller turn from the call's stereo recording (caller on
the left channel, see ``callbot.recording``), and a conversation script whose ``expect`` holds the ticket's
values as they stand now (after any supervisor's corrections). The files hold personal data: they stay local.
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
from callbot.private_files import private_dir, private_opener
from callbot.recording import CALLER_CHANNEL
from callbot.store import TicketNotFound, audit, tickets
from callbot.store.numbers import format_ticket_number, parse_ticket_number
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


def expected_values(ticket: Any) -> dict[str, Any]:
    """The ticket's current slots in the keys of a conversation script's ``expect``."""
    return {
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
            turns.append({"wav": relative, "say": turn.text} if turn.text.strip() else {"wav": relative})
            previous_end = turn.end
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
    body = yaml.safe_dump(script, allow_unicode=True, sort_keys=False, width=120)
    with open(result.script, "w", encoding="utf-8", opener=private_opener) as handle:
        handle.write(header + body)
    audit.record_entry(session, actor=actor, action="fixture.export", target_type="ticket", target_id=digits,
                       field="files", new_value=f"script and {len(result.wavs)} caller clip(s)")
    return result
