"""What the ticket page shows beyond the ticket's own fields: the province's wards (picked by name) and units (a
supervisor sends the ticket to one), the record-only clips named by the question they answer, and the change
history in the reader's language (field names and values translated, codes shown by their names)."""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session

from callbot.api.schemas import AuditEntryPublic, ClipPublic
from callbot.store import InvalidChange
from callbot.store.models import Unit
from callbot.store.routing import province_choices
from callbot.store.units import unit_names, units_of_province

Translate = Callable[..., str]

WARD_UNIT_PREFIX = "UBND "  # a ward's unit is named after it: "UBND Phường Ba Đình"
VALUE_KEYS = {"status": "status_", "category": "category_", "priority": "priority_", "outcome": "outcome_",
              "escalation": "escalation_"}
YES_NO_FIELDS = frozenset({"needs_transcription", "approved_for_tuning", "anonymous"})


@dataclass(frozen=True, slots=True)
class WardChoice:
    code: str
    name: str


@dataclass(frozen=True, slots=True)
class HistoryRow:
    at: datetime
    actor: str
    field: str
    old: str
    new: str


@dataclass(frozen=True, slots=True)
class ClipRow:
    url: str
    label: str  # the question it answers ("Name", "Address (2)" when asked again)
    seconds: float | None


def ward_choices(units: list[Unit]) -> list[WardChoice]:
    return [WardChoice(unit.ward_code, unit.name.removeprefix(WARD_UNIT_PREFIX))
            for unit in units if unit.kind == "ward" and unit.ward_code]


def _folded(text: str) -> str:
    return " ".join(unicodedata.normalize("NFC", text).casefold().split())


def ward_code_for(session: Session, *, province_code: str | None, picked: str | None) -> str | None:
    """The ward a supervisor picked by name within the province (a code is taken as it is); None for none.
    InvalidChange names what did not match."""
    if not picked or not picked.strip():
        return None
    text = picked.strip()
    if text.isdigit():
        return text
    if not province_code:
        raise InvalidChange(f"pick the province before the ward {text!r}")
    wanted = _folded(text)
    for ward in ward_choices(units_of_province(session, province_code=province_code)):
        if _folded(ward.name) == wanted:
            return ward.code
    raise InvalidChange(f"no ward named {text!r} in this province")


def clip_rows(clips: list[ClipPublic], translate: Translate) -> list[ClipRow]:
    rows = []
    for clip in clips:
        label = translate(f"slot_{clip.slot}")
        label = clip.slot if label == f"slot_{clip.slot}" else label  # a slot the catalogue does not name
        rows.append(ClipRow(clip.url, label if clip.attempt == 1 else f"{label} ({clip.attempt})", clip.seconds))
    return rows


def history_rows(session: Session, entries: list[AuditEntryPublic], translate: Translate) -> list[HistoryRow]:
    codes = {value for entry in entries for value in (entry.old_value, entry.new_value) if value}
    units = unit_names(session, codes=codes)
    wards = {code.removeprefix("W"): name.removeprefix(WARD_UNIT_PREFIX)
             for code, name in unit_names(session, codes=(f"W{code}" for code in codes)).items()}
    provinces = dict(province_choices())

    def shown(field: str, value: str | None) -> str:
        if value is None or value == "":
            return "∅"
        if field in YES_NO_FIELDS:
            return translate("yes" if value.lower() == "true" else "no")
        if field in VALUE_KEYS:
            key = VALUE_KEYS[field] + value
            return translated if (translated := translate(key)) != key else value
        names = {"unit_code": units, "ward_code": wards, "province_code": provinces}.get(field, {})
        return names.get(value, value)

    return [HistoryRow(entry.at, entry.actor, translate(f"field_{entry.field}"),
                       shown(entry.field or "", entry.old_value), shown(entry.field or "", entry.new_value))
            for entry in entries]
