"""What the dialogue reads but never changes, loaded once per process and shared by every call."""

from __future__ import annotations

import threading
from dataclasses import dataclass

from callbot.config import Settings
from callbot.dialogue.address import Gazetteer, ProvinceRef
from callbot.dialogue.context import DialogueConfig, PolicyContext
from callbot.dialogue.lexicon import Lexicon, load_lexicon
from callbot.prompts import PromptSet, load_prompts


class UnknownProvince(ValueError):
    """The configured default province is not one of the 34 provinces."""


@dataclass(frozen=True)
class LocaleResources:
    prompts: PromptSet
    lexicon: Lexicon


class DialogueResources:
    """Prompts, word lists and the administrative units; thread-safe lazy loading, then read-only."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._lock = threading.Lock()
        self._gazetteer: Gazetteer | None = None
        self._locales: dict[str, LocaleResources] = {}

    @property
    def gazetteer(self) -> Gazetteer:
        with self._lock:
            if self._gazetteer is None:
                self._gazetteer = Gazetteer()
            return self._gazetteer

    def locale(self, locale: str) -> LocaleResources:
        with self._lock:
            if locale not in self._locales:
                self._locales[locale] = LocaleResources(
                    load_prompts(self.settings.prompts_dir, locale),
                    load_lexicon(self.settings.prompts_dir, locale),
                )
            return self._locales[locale]

    def province(self, name: str, locale: str | None = None) -> ProvinceRef:
        """A province by official or spoken name; UnknownProvince names the accepted forms."""
        aliases = self.locale(locale or self.settings.locale).lexicon.province_aliases
        found = self.gazetteer.province(name, aliases)
        if found is None:
            known = ", ".join(sorted(p.name for p in self.gazetteer.provinces.values()))
            raise UnknownProvince(f"unknown province {name!r}; expected one of: {known}")
        return found

    def context(self, locale: str, settings: Settings | None = None) -> PolicyContext:
        settings = settings or self.settings
        loaded = self.locale(locale)
        default = self.province(settings.default_province, locale) if settings.default_province else None
        return PolicyContext(
            loaded.prompts, loaded.lexicon, self.gazetteer, DialogueConfig.from_settings(settings, default)
        )
