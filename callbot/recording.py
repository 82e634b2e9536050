"""Call recordings: a 2-channel WAV (caller left, bot right) written frame by frame as the call runs.

Frames from the two directions are paired by frame count (``FramePairer``), so the channels stay aligned; a
direction with no frame for a tick (a dropped inbound frame, bot silence) is written as silence. libsndfile
writes the WAV's sizes when the file is closed: a recording whose process was killed is made playable by
``repair_wav``.
"""

from __future__ import annotations

import collections
import hashlib
import os
import re
import struct
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile

from callbot.audio import samples_per_frame
from callbot.private_files import create_private_file

CALLER_CHANNEL = 0
BOT_CHANNEL = 1
_FLUSH_FRAMES = 50  # write to disk once a second: few syscalls, at most a second lost if the process dies
RECORDING_SKEW_FRAMES = 10  # one direction this far ahead of the other means the other is silent, not late
RECORDING_FAILURES = (OSError, soundfile.SoundFileError)  # what writing or closing a WAV can raise


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


class FramePairer:
    """Pairs a call's two directions tick by tick into a ``StereoRecorder``: ``caller`` holds the caller's
    frames (None: a tick lost while the worker stalled), ``bot`` what the media clock played (None: silence).
    A side running ``RECORDING_SKEW_FRAMES`` ahead means the other is silent, not late."""

    def __init__(self, recorder: StereoRecorder, bot: collections.deque[bytes | None]) -> None:
        self.recorder = recorder
        self.caller: collections.deque[bytes | None] = collections.deque()
        self.bot = bot

    def write(self, *, final: bool = False) -> None:
        """Write every pair ready; ``final``: everything, the missing side as silence."""
        caller, bot, recorder = self.caller, self.bot, self.recorder
        while caller and bot:
            recorder.write_frame(caller.popleft(), bot.popleft())
        slack = 0 if final else RECORDING_SKEW_FRAMES
        while len(caller) > slack:
            recorder.write_frame(caller.popleft(), None)
        while len(bot) > slack:
            recorder.write_frame(None, bot.popleft())

    def close(self) -> Path:
        """Write what is left and finish the file."""
        self.write(final=True)
        return self.recorder.close()


def safe_file_stem(call_id: str) -> str:
    """A SIP Call-ID can hold '@', '/' and more: keep it readable but safe as a file name, and distinct
    (a digest of the original is appended whenever characters had to be replaced)."""
    stem = re.sub(r"[^A-Za-z0-9._-]", "_", call_id).strip(".")[:100]
    if stem == call_id:
        return stem
    return f"{stem or 'call'}-{hashlib.sha1(call_id.encode('utf-8')).hexdigest()[:8]}"


def recording_path_of(recordings_dir: Path, call_id: str) -> Path:
    """Where a call's stereo recording is written."""
    return recordings_dir / f"{safe_file_stem(call_id)}.wav"


def clips_dir_of(recording_path: Path) -> Path:
    """Where a call's answer clips live: beside its recording, in a folder of the same name."""
    return recording_path.with_suffix("")


@dataclass(frozen=True, slots=True)
class RepairedWav:
    seconds: float
    repaired: bool  # the header's sizes were wrong (a killed writer) and now match the audio on disk


def repair_wav(path: Path) -> RepairedWav | None:
    """Set a PCM WAV's RIFF and data sizes from the audio actually on disk (dropping a torn last sample
    frame), so every player reads the whole recording. None: not a PCM WAV whose chunks can be followed."""
    try:
        with open(path, "r+b") as handle:
            header = handle.read(12)
            if len(header) < 12 or header[:4] != b"RIFF" or header[8:12] != b"WAVE":
                return None
            file_size = os.fstat(handle.fileno()).st_size
            block_align = rate = 0
            offset = 12
            while offset + 8 <= file_size:
                handle.seek(offset)
                chunk_id, chunk_size = struct.unpack("<4sI", handle.read(8))
                if chunk_id == b"fmt ":
                    _, channels, rate, _, block_align = struct.unpack("<HHIIH", handle.read(14))
                elif chunk_id == b"data":
                    return _fix_sizes(handle, offset, chunk_size, file_size, block_align, rate)
                offset += 8 + chunk_size + (chunk_size & 1)
    except OSError:
        return None
    return None


def _fix_sizes(handle, data_offset: int, data_size: int, file_size: int, block_align: int,  # type: ignore[no-untyped-def]
               rate: int) -> RepairedWav | None:
    if not block_align or not rate:
        return None
    available = file_size - data_offset - 8
    actual = available - available % block_align
    repaired = data_size != actual or file_size != data_offset + 8 + actual
    if repaired:
        handle.truncate(data_offset + 8 + actual)
        handle.seek(4)
        handle.write(struct.pack("<I", data_offset + actual))  # RIFF size: everything after these 8 bytes
        handle.seek(data_offset + 4)
        handle.write(struct.pack("<I", actual))
        handle.flush()
        os.fsync(handle.fileno())
    return RepairedWav(seconds=actual / block_align / rate, repaired=repaired)
