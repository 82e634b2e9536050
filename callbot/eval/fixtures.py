"""Audio fixtures from conversation scripts: every ``say:`` turn is spoken by the product's own TTS
(``SpeechOutput``: espeak-ng for Vietnamese, Piper for English, as configured) at the call rate, optionally
through a telephone band-pass (300-3400 Hz) and with white noise at a chosen SNR, and written as
``answers/<case>-<turn>.wav`` next to a new script whose turns are ``wav:`` + ``say:`` (the reference)."""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from callbot.audio import pcm16_to_float, samples_per_frame, to_pcm16, write_wav
from callbot.dialogue.lexicon import read_yaml_mapping
from callbot.eval.script import MalformedEvalFile
from callbot.tts import SpeechOutput

TELEPHONE_BAND_HZ = (300.0, 3400.0)
FIR_TAPS = 255  # ~32 ms at 8 kHz: a band edge ~50 Hz wide, plenty for a 300 Hz cut
SPEECH_FRAME_DBFS = -45.0  # frames louder than this count as speech when measuring the signal's level


@dataclass(frozen=True)
class FixtureOptions:
    rate: int = 8000
    snr_db: float | None = None  # None: no added noise
    telephone_band: bool = False
    seed: int = 0  # the noise is reproducible


def band_pass(pcm: bytes, rate: int, low_hz: float, high_hz: float, taps: int = FIR_TAPS) -> bytes:
    """Linear-phase FIR band-pass (windowed sinc, Hamming), same length and alignment as the input."""
    n = np.arange(taps) - (taps - 1) / 2

    def low_pass(cutoff: float) -> np.ndarray:
        return 2 * cutoff / rate * np.sinc(2 * cutoff / rate * n)

    kernel = (low_pass(min(high_hz, rate / 2 - 1)) - low_pass(low_hz)) * np.hamming(taps)
    filtered = np.convolve(pcm16_to_float(pcm), kernel, mode="same")
    return to_pcm16(filtered)


def speech_rms(samples: np.ndarray, rate: int) -> float:
    """RMS over the 20 ms frames that carry speech (pauses would make the SNR look better than it is)."""
    size = samples_per_frame(rate)
    frames = (
        samples[: len(samples) // size * size].reshape(-1, size) if len(samples) >= size else samples[None, :]
    )
    energy = np.mean(np.square(frames, dtype=np.float64), axis=1)
    voiced = energy[energy > 10 ** (SPEECH_FRAME_DBFS / 10)]
    return float(np.sqrt(np.mean(voiced))) if voiced.size else 0.0


def add_noise(pcm: bytes, rate: int, snr_db: float, rng: np.random.Generator) -> bytes:
    samples = pcm16_to_float(pcm).astype(np.float64)
    level = speech_rms(samples, rate)
    if level == 0.0:
        return pcm
    noise = rng.standard_normal(samples.size) * level / 10 ** (snr_db / 20)
    return to_pcm16(samples + noise)


def degrade(pcm: bytes, options: FixtureOptions, rng: np.random.Generator) -> bytes:
    if options.telephone_band:
        pcm = band_pass(pcm, options.rate, *TELEPHONE_BAND_HZ)
    if options.snr_db is not None:
        pcm = add_noise(pcm, options.rate, options.snr_db, rng)
    return pcm


def _file_stem(case_id: str, turn: int) -> str:
    return f"{re.sub(r'[^0-9A-Za-z_-]+', '_', case_id)}-{turn:02d}"


def make_fixture_set(
    source: Path,
    out_dir: Path,
    speech: SpeechOutput,
    options: FixtureOptions = FixtureOptions(),
    case_ids: Collection[str] | None = None,
) -> Path:
    """Speak every ``say:`` turn of ``source`` (only ``case_ids`` when given); returns the new script's path."""
    data = read_yaml_mapping(source, MalformedEvalFile, "a mapping with locale and cases")
    locale = data.get("locale")
    cases = data.get("cases")
    if not isinstance(cases, list) or not isinstance(locale, str):
        raise MalformedEvalFile(f"{source}: needs a locale and a list of cases")
    if case_ids is not None:
        known = {c.get("id") for c in cases if isinstance(c, dict)}
        missing = sorted(set(case_ids) - known)
        if missing:
            raise MalformedEvalFile(f"{source}: no case(s) {', '.join(missing)}")
        cases = [c for c in cases if c.get("id") in case_ids]
    rng = np.random.default_rng(options.seed)
    out_dir.mkdir(parents=True, exist_ok=True)
    new_cases = []
    for case in cases:
        turns: list[Any] = []
        for index, turn in enumerate(case.get("turns") or []):
            if isinstance(turn, dict) and isinstance(turn.get("say"), str):
                relative = f"answers/{_file_stem(str(case['id']), index)}.wav"
                pcm = speech.synthesize(turn["say"], locale=locale, rate=options.rate)
                write_wav(out_dir / relative, degrade(pcm, options, rng), options.rate)
                turn = {"wav": relative, "say": turn["say"]}  # the recognizer now gives the confidence
            turns.append(turn)
        new_cases.append({**case, "turns": turns})
    header = {k: v for k, v in data.items() if k != "cases"}
    target = out_dir / Path(source).name
    described = ", ".join(
        part
        for part in (
            f"{options.rate} Hz",
            "telephone band 300-3400 Hz" if options.telephone_band else "",
            f"white noise at {options.snr_db:g} dB SNR (seed {options.seed})"
            if options.snr_db is not None
            else "",
        )
        if part
    )
    comment = f"# Audio fixtures made from {Path(source).name} by scripts/make_fixtures.py ({described}).\n"
    body = yaml.safe_dump({**header, "cases": new_cases}, allow_unicode=True, sort_keys=False, width=120)
    target.write_text(comment + body, encoding="utf-8")
    return target
