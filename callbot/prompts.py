"""Per-locale prompts from ``prompts/<locale>/prompts.yaml``: a flat mapping of prompt key to text.

A prompt whose text has no ``{placeholder}`` is static: the prompt cache renders it once per voice and rate.
Recorded human audio at ``prompts/<locale>/audio/<key>.wav`` overrides synthesis for that prompt.
"""

from __future__ import annotations

import string
from dataclasses import dataclass
from pathlib import Path

import yaml


class PromptError(KeyError):
    """A prompt key is missing, or a prompts file is malformed."""

    def __str__(self) -> str:  # KeyError quotes its message; this one should read as a sentence
        return str(self.args[0])


@dataclass(frozen=True)
class PromptSet:
    locale: str
    texts: dict[str, str]
    directory: Path

    def text(self, key: str, **values: object) -> str:
        try:
            template = self.texts[key]
        except KeyError:
            raise PromptError(f"no prompt {key!r} for locale {self.locale} in {self.directory}") from None
        return template.format(**values) if values else template

    def is_static(self, key: str) -> bool:
        return not any(field for _, field, _, _ in string.Formatter().parse(self.texts[key]) if field)

    def static_keys(self) -> list[str]:
        return [key for key in self.texts if self.is_static(key)]

    def recorded_audio(self, key: str) -> Path | None:
        path = self.directory / "audio" / f"{key}.wav"
        return path if path.is_file() else None


def load_prompts(prompts_dir: Path, locale: str) -> PromptSet:
    directory = Path(prompts_dir) / locale
    path = directory / "prompts.yaml"
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise PromptError(f"no prompts for locale {locale!r}: {path} is missing") from None
    except yaml.YAMLError as exc:
        raise PromptError(f"{path}: not valid YAML: {exc}") from None
    if not isinstance(data, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in data.items()):
        raise PromptError(f"{path}: must be a mapping of prompt key to text")
    return PromptSet(locale, {k: " ".join(v.split()) for k, v in data.items()}, directory)
