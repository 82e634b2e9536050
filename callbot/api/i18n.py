"""The UI's per-locale string catalogues (locales/<lang>.toml), Vietnamese by default."""

from __future__ import annotations

import tomllib
from pathlib import Path

LOCALES_DIR = Path(__file__).resolve().parent / "locales"
DEFAULT_LANGUAGE = "vi"
LANG_COOKIE = "lang"


class Catalogue:
    def __init__(self, directory: Path = LOCALES_DIR) -> None:
        self.strings: dict[str, dict[str, str]] = {
            path.stem: tomllib.loads(path.read_text(encoding="utf-8")) for path in sorted(directory.glob("*.toml"))
        }
        if DEFAULT_LANGUAGE not in self.strings:
            raise RuntimeError(f"no {DEFAULT_LANGUAGE} catalogue in {directory}")

    @property
    def languages(self) -> list[str]:
        return sorted(self.strings)

    def pick(self, requested: str | None) -> str:
        return requested if requested in self.strings else DEFAULT_LANGUAGE

    def translator(self, language: str):  # type: ignore[no-untyped-def]
        strings = self.strings[self.pick(language)]
        fallback = self.strings[DEFAULT_LANGUAGE]

        def translate(key: str, **values: object) -> str:
            text = strings.get(key) or fallback.get(key) or key
            return text.format(**values) if values else text

        return translate
