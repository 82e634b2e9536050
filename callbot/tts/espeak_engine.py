"""espeak-ng (the Debian package) through its command line: always available, fast, robotic.

Speaks Vietnamese (voices vi, vi-vn-x-central, vi-vn-x-south) and English (en, en-us, ...).
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from callbot.tts.engine import ResolvedVoice, TtsError, VoiceNotFound

if TYPE_CHECKING:
    from callbot.config import Settings

WORDS_PER_MINUTE = 160  # a little slower than espeak's 175: callers on a phone line need the time
TIMEOUT_S = 30


def _executable() -> str:
    exe = shutil.which("espeak-ng")
    if not exe:
        raise TtsError("espeak-ng is not installed: run scripts/setup.sh (or apt-get install espeak-ng)")
    return exe


def resolve(voice: str, settings: Settings) -> ResolvedVoice:
    exe = _executable()
    listing = subprocess.run([exe, "--voices"], capture_output=True, text=True, check=True, timeout=TIMEOUT_S)
    known = set()
    for line in listing.stdout.splitlines()[1:]:
        columns = line.split()
        if len(columns) >= 5:
            known.update({columns[1].lower(), columns[4].lower(), columns[4].rsplit("/", 1)[-1].lower()})
    if voice.lower() not in known:
        raise VoiceNotFound(
            f"espeak-ng has no voice {voice!r} (see `espeak-ng --voices`; Vietnamese: vi, vi-vn-x-central, "
            "vi-vn-x-south)"
        )
    version = subprocess.run(
        [exe, "--version"], capture_output=True, text=True, check=True, timeout=TIMEOUT_S
    )
    return ResolvedVoice("espeak", voice, f"{version.stdout.strip()}|{WORDS_PER_MINUTE}wpm")


@dataclass
class EspeakSynthesizer:
    voice: ResolvedVoice
    executable: str
    sample_rate: int = 22050

    def synthesize(self, sentence: str) -> np.ndarray:
        done = subprocess.run(
            [self.executable, "-v", self.voice.voice, "-s", str(WORDS_PER_MINUTE), "-b", "1", "--stdout"],
            input=sentence.encode("utf-8"),
            capture_output=True,
            check=False,
            timeout=TIMEOUT_S,
        )
        if done.returncode != 0:
            raise TtsError(
                f"espeak-ng failed ({done.returncode}): {done.stderr.decode(errors='replace').strip()}"
            )
        rate, samples = _parse_streamed_wav(done.stdout)
        if rate != self.sample_rate:
            raise TtsError(f"espeak-ng produced {rate} Hz audio, expected {self.sample_rate} Hz")
        return samples


def _parse_streamed_wav(data: bytes) -> tuple[int, np.ndarray]:
    """espeak-ng's ``--stdout`` WAV has placeholder sizes (it streams): take the rate and every byte after 'data'."""
    marker = data.find(b"data", 12)
    if not data.startswith(b"RIFF") or marker < 0:
        raise TtsError("espeak-ng returned no WAV audio")
    rate = int.from_bytes(data[24:28], "little")
    pcm = data[marker + 8 :]
    pcm = pcm[: len(pcm) // 2 * 2]
    return rate, np.frombuffer(pcm, dtype="<i2").astype(np.float32) / 32768.0


def load(voice: ResolvedVoice) -> EspeakSynthesizer:
    return EspeakSynthesizer(voice, _executable())
