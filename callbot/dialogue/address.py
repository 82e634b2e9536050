"""Addresses: house number and street kept as text, ward/commune and province resolved against the
administrative units in force since 1 July 2025 (the ``vietnam-provinces`` package: 34 provinces, 3,321
wards/communes; districts no longer exist).

Resolution is done by hand on top of that data because the dialogue needs more than a best guess: it must
know *why* an address did not resolve (a former district was named, two wards share the name, no ward was
said) to ask the right follow-up question.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Literal

from vietnam_provinces import Province, Ward

from callbot.dialogue.lexicon import Lexicon
from callbot.dialogue.numerals import numbers_to_digits
from callbot.dialogue.text import PhraseMatch, PhraseSet, fold, squeeze, words

WARD_PREFIXES = ("Phường ", "Xã ", "Đặc khu ")
PROVINCE_PREFIXES = ("Thành phố ", "Tỉnh ")
Key = tuple[str, ...]


@dataclass(frozen=True)
class ProvinceRef:
    code: str
    name: str  # official, e.g. "Thành phố Hà Nội"
    short: str  # "Hà Nội"


@dataclass(frozen=True)
class WardRef:
    code: str
    name: str  # official, white space normalized, e.g. "Phường Đống Đa"
    short: str  # "Đống Đa"
    province: ProvinceRef


def _short(name: str, prefixes: Iterable[str]) -> str:
    for prefix in prefixes:
        if name.startswith(prefix):
            return name[len(prefix) :]
    return name


def _key(text: str) -> Key:
    return tuple(fold(t) for t in words(text) if t != "-")


def _code(value: int) -> str:
    return f"{int(value):02d}"  # the package's codes are IntEnums


class Gazetteer:
    """The administrative units, indexed for matching spoken names. Build once per process and share it."""

    def __init__(self) -> None:
        self.provinces: dict[str, ProvinceRef] = {}
        self._province_keys: dict[Key, ProvinceRef] = {}
        for official in Province.iter_all():
            name = squeeze(official.name)
            province = ProvinceRef(_code(official.code), name, _short(name, PROVINCE_PREFIXES))
            self.provinces[province.code] = province
            self._province_keys[_key(province.short)] = province
            self._province_keys[_key(province.name)] = province
        self.wards: dict[str, WardRef] = {}
        self._ward_keys: dict[Key, list[WardRef]] = defaultdict(list)
        self._by_province: dict[str, list[WardRef]] = defaultdict(list)
        for ward in Ward.iter_all():
            name = squeeze(ward.name)
            in_province = self.provinces[_code(ward.province_code)]
            ref = WardRef(f"{int(ward.code):05d}", name, _short(name, WARD_PREFIXES), in_province)
            self.wards[ref.code] = ref
            self._ward_keys[_key(ref.short)].append(ref)
            self._by_province[in_province.code].append(ref)
        self._longest = max(len(k) for k in self._ward_keys)
        self._lock = threading.Lock()
        self._alias_indexes: dict[tuple, dict[Key, ProvinceRef]] = {}
        self._spoken_names: dict[str, tuple[str, ...]] = {}

    def province(self, name: str, aliases: dict[str, tuple[str, ...]] | None = None) -> ProvinceRef | None:
        """A province by official name, short name or a spoken alias ("Hà Nội", "ha noi", "sài gòn")."""
        key = _key(name)
        if key in self._province_keys:
            return self._province_keys[key]
        return self._alias_index(aliases or {}).get(key)

    def _alias_index(self, aliases: dict[str, tuple[str, ...]]) -> dict[Key, ProvinceRef]:
        """Spoken aliases by folded key, built once per lexicon (matching runs at every word of an address)."""
        signature = tuple(sorted(aliases.items()))
        with self._lock:
            index = self._alias_indexes.get(signature)
            if index is None:
                index = {
                    _key(s): self._province_keys[_key(official)]
                    for official, spoken in aliases.items()
                    if _key(official) in self._province_keys
                    for s in spoken
                }
                self._alias_indexes[signature] = index
            return index

    def wards_of(self, province: ProvinceRef) -> list[WardRef]:
        return list(self._by_province[province.code])

    def spoken_ward_names(self, province: ProvinceRef) -> tuple[str, ...]:
        """The province's wards as the recognizer hears them, with and without "phường"/"xã" (a phrase list)."""
        with self._lock:
            names = self._spoken_names.get(province.code)
            if names is None:
                wards = self._by_province[province.code]
                spoken = {" ".join(t for t in words(n) if t != "-") for w in wards for n in (w.name, w.short)}
                names = self._spoken_names[province.code] = tuple(sorted(spoken))
            return names

    def match_ward(
        self, tokens: Sequence[str], start: int, province: ProvinceRef | None
    ) -> tuple[int, list[WardRef]]:
        """The longest ward name starting at ``start``: (length, candidates); exact tones beat folded ones."""
        for length in range(min(self._longest, len(tokens) - start), 0, -1):
            span = tokens[start : start + length]
            candidates = self._ward_keys.get(tuple(fold(t) for t in span), [])
            if province is not None:
                candidates = [w for w in candidates if w.province.code == province.code]
            if candidates:
                exact = [w for w in candidates if tuple(words(w.short.replace("-", " "))) == tuple(span)]
                return length, exact or candidates
        return 0, []

    def match_province(
        self, tokens: Sequence[str], start: int, aliases: dict[str, tuple[str, ...]]
    ) -> tuple[int, ProvinceRef | None]:
        for length in range(min(6, len(tokens) - start), 0, -1):
            found = self.province(" ".join(tokens[start : start + length]), aliases)
            if found:
                return length, found
        return 0, None


AddressStatus = Literal["resolved", "district", "ambiguous", "unknown_ward", "no_ward", "empty"]


@dataclass(frozen=True)
class AddressParse:
    heard: str
    street: str
    ward: WardRef | None = None
    province: ProvinceRef | None = None
    province_named: bool = False
    district: str | None = None
    unknown_ward: str | None = None
    ambiguous: tuple[WardRef, ...] = ()
    notes: tuple[str, ...] = field(default=())

    @property
    def status(self) -> AddressStatus:
        if self.ward is not None:
            return "resolved"
        if self.ambiguous:
            return "ambiguous"
        if self.district:
            return "district"
        if self.unknown_ward:
            return "unknown_ward"
        return "no_ward" if self.street or self.province_named else "empty"


MarkerKind = Literal["ward", "district", "province", "street"]


@dataclass(frozen=True)
class _Marker:
    start: int
    end: int
    kind: MarkerKind


def _markers(tokens: Sequence[str], lexicon: Lexicon) -> list[_Marker]:
    kinds: dict[MarkerKind, PhraseSet] = {
        "ward": lexicon.admin.ward,
        "district": lexicon.admin.district,
        "province": lexicon.admin.province,
        "street": lexicon.admin.street,
    }
    found: list[_Marker] = []
    index = 0
    while index < len(tokens):
        best: tuple[PhraseMatch, MarkerKind] | None = None
        for kind, phrases in kinds.items():
            match = phrases.match_at(tokens, index)
            if match and (best is None or match.end > best[0].end):
                best = (match, kind)
        if best:
            found.append(_Marker(best[0].start, best[0].end, best[1]))
            index = best[0].end
        else:
            index += 1
    return found


def parse_address(
    text: str, lexicon: Lexicon, gazetteer: Gazetteer, default_province: ProvinceRef | None
) -> AddressParse:
    """Split what the caller said into street text, ward and province (see ``AddressParse.status``)."""
    tokens = [t for t in lexicon.fillers.remove(words(text)) if t != "-"]
    tokens = lexicon.address_carriers.strip_edges(tokens)
    heard = " ".join(tokens)
    markers = _markers(tokens, lexicon)
    consumed: set[int] = set()
    street_heads: set[int] = set()  # first word after "phố"/"đường": a street name, never a ward
    ward_spans: list[tuple[int, int, int]] = []  # (marker start, marker end, words end)
    district: str | None = None
    unknown_ward: str | None = None
    named: ProvinceRef | None = None

    def segment_end(position: int) -> int:
        """Where the words after a marker stop: the next marker, or a province name said after them."""
        end = next((m.start for m in markers if m.start >= position), len(tokens))
        for index in range(position + 1, end):
            if gazetteer.match_province(tokens, index, lexicon.province_aliases)[1]:
                return index
        return end

    ward_names: set[int] = set()  # words of a ward name after "phường"/"xã" ("phường Sài Gòn" is no province)
    for marker in markers:
        end = segment_end(marker.end)
        if marker.kind == "street":
            if lexicon.street_marker_follows_name:  # "tran hung dao street": everything before is street
                street_heads.update(range(marker.start))
            else:
                street_heads.add(marker.end)
        elif marker.kind == "province":
            length, province = gazetteer.match_province(tokens, marker.end, lexicon.province_aliases)
            if province:
                named = province
                consumed.update(range(marker.start, marker.end + length))
            elif end > marker.end:  # "thành phố Thủ Đức": a former city inside a province, like a district
                district = " ".join(tokens[marker.start : end])
                consumed.update(range(marker.start, end))
        elif marker.kind == "district":
            district = " ".join(tokens[marker.start : end])
            consumed.update(range(marker.start, end))
        elif marker.kind == "ward":
            length, _ = gazetteer.match_ward(tokens, marker.end, None)
            ward_spans.append((marker.start, marker.end, end))
            ward_names.update(range(marker.end, marker.end + length))
            consumed.update(range(marker.start, marker.end + length if length else end))

    if named is None:  # a province said without "tỉnh"/"thành phố": the last one that is not a street name
        index = 0
        while index < len(tokens):
            length, province = (0, None)
            if index not in consumed and index not in street_heads and index not in ward_names:
                length, province = gazetteer.match_province(tokens, index, lexicon.province_aliases)
            if province and not consumed.intersection(range(index, index + length)):
                named = province
                named_span = range(index, index + length)
                index += length
            else:
                index += 1
        if named is not None:
            consumed.update(named_span)
    scope = named or default_province

    ward: WardRef | None = None
    ambiguous: list[WardRef] = []
    for start, marker_end, end in ward_spans:  # wards named with "phường"/"xã": the last one said wins
        length, candidates = gazetteer.match_ward(tokens, marker_end, scope)
        if not candidates and named is None:
            length, candidates = gazetteer.match_ward(tokens, marker_end, None)
        if len(candidates) == 1:
            ward, ambiguous, unknown_ward = candidates[0], [], None
        elif candidates:
            ward, ambiguous = None, candidates
        else:
            unknown_ward = " ".join(tokens[start:end])
    if ward is None and not ambiguous:
        ward, ambiguous, span = _markerless_ward(tokens, consumed, street_heads, gazetteer, scope)
        consumed.update(span)

    kept = tokens if lexicon.address_as_text else [t for i, t in enumerate(tokens) if i not in consumed]
    street_tokens = list(kept)
    street_tokens = lexicon.address_carriers.strip_edges(lexicon.politeness.strip_edges(street_tokens))
    street = " ".join(
        numbers_to_digits(street_tokens, lexicon.locale, lexicon.number_keywords, lexicon.slash_words)
    )
    province = ward.province if ward else scope
    return AddressParse(
        heard=heard,
        street=street,
        ward=ward,
        province=province,
        province_named=named is not None,
        district=district if ward is None else None,
        unknown_ward=unknown_ward if ward is None else None,
        ambiguous=tuple(ambiguous),
        notes=(f"former district named: {district}",) if district else (),
    )


def _markerless_ward(
    tokens: Sequence[str],
    consumed: set[int],
    street_heads: set[int],
    gazetteer: Gazetteer,
    scope: ProvinceRef | None,
) -> tuple[WardRef | None, list[WardRef], range]:
    """A ward said without "phường"/"xã" ("... ngõ 5 đống đa"), only inside the known province; the last wins."""
    if scope is None:
        return None, [], range(0)
    best: tuple[WardRef | None, list[WardRef], range] = (None, [], range(0))
    index = 0
    while index < len(tokens):
        if index in consumed or index in street_heads:
            index += 1
            continue
        length, candidates = gazetteer.match_ward(tokens, index, scope)
        span = range(index, index + length)
        if candidates and not consumed.intersection(span):
            best = (candidates[0], [], span) if len(candidates) == 1 else (None, candidates, span)
            index += length
        else:
            index += 1
    return best
