"""Per-locale word lists for understanding, read from ``prompts/<locale>/lexicon.yaml`` and ``needs.yaml``.

Wording lives in data so a deployment can tune it without touching code; this module only validates and
compiles the lists into phrase matchers.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from callbot.dialogue.text import PhraseSet
from callbot.types import Slot

NEED_CATEGORIES = ("medical_advice", "violation_report", "social_welfare", "essential_supplies")


class LexiconError(ValueError):
    """A lexicon file is missing or malformed; the message names the file and the entry."""


@dataclass(frozen=True)
class AdminMarkers:
    ward: PhraseSet
    district: PhraseSet
    province: PhraseSet
    street: PhraseSet


@dataclass(frozen=True)
class Lexicon:
    locale: str
    fillers: PhraseSet
    politeness: PhraseSet
    name_carriers: PhraseSet  # "tôi tên là": names the caller's own name
    name_intros: PhraseSet  # "tôi là": a name unless a relation or a role follows
    relations: PhraseSet
    name_owners: PhraseSet  # just before "tên là"/"name is": someone else's name ("mẹ tôi tên là")
    pronouns: frozenset[str]
    anonymous: PhraseSet
    repairs: PhraseSet
    repair_exceptions: PhraseSet
    contrasts: PhraseSet
    name_ends: PhraseSet
    not_name_words: frozenset[str]
    affirm: PhraseSet
    deny: PhraseSet
    wrong: PhraseSet
    repeat: PhraseSet
    heard: PhraseSet  # a campaign call's "I heard it" beyond a plain yes ("nghe rồi")
    lookup: PhraseSet  # asks for the status of a ticket filed earlier ("tra cứu", "check my ticket")
    operator: PhraseSet
    emergency: PhraseSet
    dont_know: PhraseSet
    slot_words: dict[Slot, PhraseSet]
    corrections: dict[Slot, PhraseSet]
    address_carriers: PhraseSet  # stripped from an address's edges
    address_intros: PhraseSet  # "nhà tôi ở", "địa chỉ": name the caller's address
    locatives: PhraseSet  # "ở", "at": an address only before a marker, a number or a place
    need_carriers: PhraseSet
    need_starts: PhraseSet
    admin: AdminMarkers
    number_keywords: frozenset[str]
    slash_words: frozenset[str]
    province_aliases: dict[str, tuple[str, ...]]
    digit_words: tuple[str, ...]
    dtmf: dict[str, str]
    need_keywords: dict[str, PhraseSet]
    need_precedence: tuple[str, ...]  # the first category with a keyword in the need wins
    need_fallbacks: dict[
        str, PhraseSet
    ]  # generic words ("phản ánh") that decide only when no keyword matched
    high_priority: PhraseSet
    address_as_text: bool  # English: the address stays the caller's text; a ward is recorded, never asked for
    street_marker_follows_name: bool  # "Baker Street" (en) versus "phố Huế" (vi)

    def yes_no_phrases(self) -> tuple[str, ...]:
        return self.affirm.phrases + self.deny.phrases


def load_lexicon(prompts_dir: Path, locale: str) -> Lexicon:
    directory = Path(prompts_dir) / locale
    raw = _read(directory / "lexicon.yaml")
    needs = _read(directory / "needs.yaml")
    where = directory / "lexicon.yaml"

    def phrases(
        key: str, source: dict[str, Any] = raw, path: Path = where, optional: bool = False
    ) -> PhraseSet:
        value = source.get(key, [] if optional else None)
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise LexiconError(f"{path}: '{key}' must be a list of phrases")
        return PhraseSet(value)

    def phrase_map(
        key: str, names: tuple[str, ...], source: dict[str, Any] = raw, path: Path = where
    ) -> dict:
        value = source.get(key)
        if not isinstance(value, dict) or set(value) != set(names):
            raise LexiconError(f"{path}: '{key}' must map each of {', '.join(names)} to a list of phrases")
        return {name: phrases(name, value, path) for name in names}

    markers = raw.get("admin_markers")
    if not isinstance(markers, dict):
        raise LexiconError(f"{where}: 'admin_markers' must be a mapping")
    aliases = raw.get("province_aliases") or {}
    if not isinstance(aliases, dict):
        raise LexiconError(f"{where}: 'province_aliases' must map a province name to a list of spoken forms")
    digits = raw.get("digit_words")
    if not isinstance(digits, list) or len(digits) != 10:
        raise LexiconError(f"{where}: 'digit_words' must list the ten digit words 0-9")
    dtmf = raw.get("dtmf")
    if not isinstance(dtmf, dict):
        raise LexiconError(f"{where}: 'dtmf' must map an action to a keypad digit")
    needs_path = directory / "needs.yaml"
    precedence = needs.get("precedence", list(NEED_CATEGORIES))
    if not isinstance(precedence, list) or sorted(map(str, precedence)) != sorted(NEED_CATEGORIES):
        raise LexiconError(f"{needs_path}: 'precedence' must list each of {', '.join(NEED_CATEGORIES)} once")
    fallbacks = needs.get("fallbacks") or {}
    if not isinstance(fallbacks, dict) or not set(fallbacks) <= set(NEED_CATEGORIES):
        raise LexiconError(
            f"{needs_path}: 'fallbacks' must map some of {', '.join(NEED_CATEGORIES)} to phrases"
        )
    return Lexicon(
        locale=locale,
        fillers=phrases("fillers"),
        politeness=phrases("politeness"),
        name_carriers=phrases("name_carriers"),
        name_intros=phrases("name_intros"),
        relations=phrases("relations"),
        name_owners=phrases("name_owners"),
        pronouns=frozenset(phrases("pronouns").phrases),
        anonymous=phrases("anonymous"),
        repairs=phrases("repairs"),
        repair_exceptions=phrases("repair_exceptions", optional=True),
        contrasts=phrases("contrasts", optional=True),
        name_ends=phrases("name_ends"),
        not_name_words=frozenset(phrases("not_name_words").phrases),
        affirm=phrases("affirm"),
        deny=phrases("deny"),
        wrong=phrases("wrong"),
        repeat=phrases("repeat"),
        heard=phrases("heard", optional=True),
        lookup=phrases("lookup", optional=True),
        operator=phrases("operator"),
        emergency=phrases("emergency"),
        dont_know=phrases("dont_know"),
        slot_words=phrase_map("slot_words", tuple(Slot)),
        corrections=phrase_map("corrections", tuple(Slot)),
        address_carriers=phrases("address_carriers"),
        address_intros=phrases("address_intros"),
        locatives=phrases("locatives"),
        need_carriers=phrases("need_carriers"),
        need_starts=phrases("need_starts"),
        admin=AdminMarkers(
            ward=phrases("ward", markers, where),
            district=phrases("district", markers, where),
            province=phrases("province", markers, where),
            street=phrases("street", markers, where),
        ),
        number_keywords=frozenset(phrases("number_keywords").phrases),
        slash_words=frozenset(phrases("slash_words").phrases),
        province_aliases={str(k): tuple(str(v) for v in vs) for k, vs in aliases.items()},
        digit_words=tuple(str(d) for d in digits),
        dtmf={str(k): str(v) for k, v in dtmf.items()},
        need_keywords=phrase_map("categories", NEED_CATEGORIES, needs, needs_path),
        need_precedence=tuple(map(str, precedence)),
        need_fallbacks={name: phrases(name, fallbacks, needs_path) for name in fallbacks},
        high_priority=phrases("high_priority", needs, needs_path),
        address_as_text=bool(raw.get("address_as_text", False)),
        street_marker_follows_name=bool(raw.get("street_marker_follows_name", False)),
    )


def read_yaml_mapping(path: Path, error: type[ValueError], what: str = "a mapping") -> dict[str, Any]:
    """A YAML file that must hold a mapping; every problem raised as ``error`` naming the file."""
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise error(f"{path}: file not found") from None
    except yaml.YAMLError as exc:
        raise error(f"{path}: not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise error(f"{path}: must be {what}")
    return data


def _read(path: Path) -> dict[str, Any]:
    return read_yaml_mapping(path, LexiconError)
