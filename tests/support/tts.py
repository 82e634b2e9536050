"""Checks on what the speech output makes, shared by the TTS and CLI tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import yaml

from callbot.config import Settings
from callbot.tts.level import PEAK_CEILING_DBFS, active_level_dbfs

FULL_SCALE = 32767


def assert_clean_speech(
    pcm: bytes, rate: int, seconds: tuple[float, float], level_dbfs: float = -20.0
) -> None:
    """Real speech at ``rate``: duration in range, audible at the target level, never clipped."""
    samples = np.frombuffer(pcm, dtype="<i2")
    duration = samples.size / rate
    assert seconds[0] <= duration <= seconds[1], f"{duration:.2f} s not in {seconds}"
    level = active_level_dbfs(samples.astype(np.float32) / 32768.0, rate)
    assert abs(level - level_dbfs) < 1.5, f"active level {level:.1f} dBFS, expected about {level_dbfs}"
    peak = int(np.abs(samples.astype(np.int32)).max())
    assert peak <= FULL_SCALE * 10 ** ((PEAK_CEILING_DBFS + 0.1) / 20), f"peak {peak} above the ceiling"
    voiced = np.count_nonzero(np.abs(samples) > 300) / samples.size
    assert voiced > 0.3, f"only {voiced:.0%} of the samples carry sound"


def level_of(pcm: bytes, rate: int) -> float:
    return active_level_dbfs(np.frombuffer(pcm, dtype="<i2").astype(np.float32) / 32768.0, rate)


def write_prompts(prompts_dir: Path, locale: str, prompts: dict[str, str]) -> Path:
    path = prompts_dir / locale / "prompts.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(prompts, allow_unicode=True), encoding="utf-8")
    return path


def settings_with(tmp_path: Path, **overrides: object) -> Settings:
    return Settings(data_dir=tmp_path / "data", **overrides)  # type: ignore[arg-type]
