"""Who handles a ticket: the ward/commune's People's Committee, unless the category says otherwise.

Order: emergency -> the province's emergency unit; a per-category override from settings.category_units
(e.g. social_welfare -> "P{province}-LABOUR"); the ward's unit; the province's hotline unit. Units are
seeded from the ``vietnam-provinces`` data (the July 2025 map: 34 provinces, 3,321 wards/communes).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import TypeVar

from vietnam_provinces import Province, Ward

T = TypeVar("T")
PROVINCE_CODE_WIDTH = 2
WARD_CODE_WIDTH = 5


def normalize_code(code: str | int | None, width: int) -> str | None:
    """Official codes are zero-padded digits ("01", "00070"); accept them with or without the padding."""
    if code is None:
        return None
    text = str(code).strip()
    if not text:
        return None
    return text.zfill(width) if text.isdigit() else text


def clean_name(name: str) -> str:
    """The package's names sometimes carry double spaces."""
    return re.sub(r"\s+", " ", name).strip()


def ward_unit_code(ward_code: str) -> str:
    return f"W{ward_code}"


def province_unit_code(province_code: str, kind: str) -> str:
    return f"P{province_code}-{kind.upper()}"


@dataclass(frozen=True, slots=True)
class Place:
    ward_code: str | None
    ward_name: str | None
    province_code: str | None
    province_name: str | None


def _lookup(code: str | None, from_code: Callable[[int], T]) -> T | None:
    """The official ward or province for a code, or None when the code is unknown."""
    if code is None or not code.isdigit():
        return None
    try:
        return from_code(int(code))
    except ValueError:
        return None


def resolve_place(
    ward_code: str | int | None, province_code: str | int | None, default_province: str | None = None
) -> Place:
    """Normalize codes, fill names from the official data, and take the province from the ward if missing."""
    ward_norm = normalize_code(ward_code, WARD_CODE_WIDTH)
    ward = _lookup(ward_norm, Ward.from_code)
    province_norm = normalize_code(province_code, PROVINCE_CODE_WIDTH)
    if province_norm is None and ward is not None:
        province_norm = normalize_code(int(ward.province_code), PROVINCE_CODE_WIDTH)
    if province_norm is None:
        province_norm = normalize_code(default_province, PROVINCE_CODE_WIDTH)
    province = _lookup(province_norm, Province.from_code)
    return Place(
        ward_code=ward_norm,
        ward_name=clean_name(ward.name) if ward else None,
        province_code=province_norm,
        province_name=clean_name(province.name) if province else None,
    )


@dataclass(frozen=True, slots=True)
class SeedUnit:
    code: str
    name: str
    kind: str
    province_code: str | None
    ward_code: str | None


def official_units() -> Iterator[SeedUnit]:
    """One unit per ward/commune and, per province, its hotline, emergency and labour-office units."""
    for province in Province.iter_all():
        pcode = normalize_code(int(province.code), PROVINCE_CODE_WIDTH)
        assert pcode is not None
        pname = clean_name(province.name)
        yield SeedUnit(province_unit_code(pcode, "hotline"), f"Tổng đài 1022 {pname}", "hotline", pcode, None)
        yield SeedUnit(
            province_unit_code(pcode, "emergency"), f"Trung tâm cấp cứu 115 {pname}", "emergency", pcode, None
        )
        yield SeedUnit(
            province_unit_code(pcode, "labour"), f"Sở Nội vụ {pname} (lao động, chính sách xã hội)", "labour",
            pcode, None,
        )
    for ward in Ward.iter_all():
        wcode = normalize_code(int(ward.code), WARD_CODE_WIDTH)
        assert wcode is not None
        yield SeedUnit(
            ward_unit_code(wcode), f"UBND {clean_name(ward.name)}", "ward",
            normalize_code(int(ward.province_code), PROVINCE_CODE_WIDTH), wcode,
        )


class Router:
    """Pure routing rules; ``route`` takes a predicate telling which unit codes exist in the database."""

    def __init__(self, category_units: Mapping[str, str]) -> None:
        self._category_units = dict(category_units)

    def candidates(self, *, category: str, place: Place) -> list[str]:
        found: list[str] = []
        province = place.province_code
        if category == "emergency" and province:
            found.append(province_unit_code(province, "emergency"))
        override = self._category_units.get(category)
        if override:
            if "{province}" not in override:
                found.append(override)
            elif province:
                found.append(override.replace("{province}", province))
        if place.ward_code:
            found.append(ward_unit_code(place.ward_code))
        if province:
            found.append(province_unit_code(province, "hotline"))
        return found

    def route(self, *, category: str, place: Place, exists: Callable[[str], bool]) -> str | None:
        """The first candidate unit that exists, or None (the ticket waits unrouted in the queue)."""
        for code in self.candidates(category=category, place=place):
            if exists(code):
                return code
        return None


def province_choices() -> list[tuple[str, str]]:
    """(code, name) of every province, in code order, for pickers."""
    return sorted(
        (normalize_code(int(p.code), PROVINCE_CODE_WIDTH) or "", clean_name(p.name)) for p in Province.iter_all()
    )
