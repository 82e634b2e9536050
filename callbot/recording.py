"""Call recordings: a 2-channel WAV (caller left, bot right) written frame by frame as the call runs.

Frames from the two directions are paired by frame count, so the channels stay aligned; a direction with no
frame for a tick (a dropped inbound frame, bot silence) is written as silence.
"""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import soundfile

from callbot.audio import samples_per_frame
from callbot.private_files import create_private_file

CALLER_CHANNEL = 0
BOT_CHANNEL = 1
_FLUSH_FRAMES = 50  # write to disk once a second: few syscalls, at most a second lost if the process dies


class StereoRecorder:
    """Writes caller and bot audio as the left and right channels of one PCM16 WAV file."""

    def __init__(self, path: Path, rate: int) -> None:
        self.path = Path(path)
        self.rate = rate
        self.frame_samples = samples_per_frame(rate)
        self.frames_written = 0
        create_private_file(self.path)  # libsndfile keeps the mode of a file that exists
        self._file: soundfile.SoundFile | None = soundfile.SoundFile(
            str(self.path), mode="w", samplerate=rate, channels=2, subtype="PCM_16", format="WAV"
        )
        self._pending: list[np.ndarray] = []
        self._lock = threading.Lock()  # close() may come from another thread than write_frame()

    def write_frame(self, caller_pcm: bytes | None, bot_pcm: bytes | None) -> None:
        """Append one 20 ms tick: ``None`` (or a short buffer) on either side is padded with silence."""
        stereo = np.zeros((self.frame_samples, 2), dtype="<i2")
        for channel, pcm in ((CALLER_CHANNEL, caller_pcm), (BOT_CHANNEL, bot_pcm)):
            if pcm:
                samples = np.frombuffer(pcm, dtype="<i2")[: self.frame_samples]
                stereo[: samples.size, channel] = samples
        with self._lock:
            if self._file is None:
                return
            self._pending.append(stereo)
            self.frames_written += 1
            if len(self._pending) >= _FLUSH_FRAMES:
                self._flush()

    def _flush(self) -> None:
        if self._pending and self._file is not None:
            self._file.write(np.concatenate(self._pending))
            self._pending.clear()

    @property
    def duration(self) -> float:
        return self.frames_written * self.frame_samples / self.rate

    def close(self) -> Path:
        """Finish the file (idempotent); returns its path."""
        with self._lock:
            if self._file is not None:
                try:
                    self._flush()
                finally:
                    self._file.close()
                    self._file = None
        return self.path
