"""The media bridge: one conference port per concurrent call, moving 20 ms frames between the wire and the call's
``MediaSession`` on pjmedia's clock thread (one for all calls)."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

import pjsua2 as pj

from callbot.telephony.contracts import MediaSession
from callbot.telephony.frame_buffer import read_bytes, write_bytes

log = logging.getLogger(__name__)


@dataclass(slots=True)
class BridgeStats:
    """Counters the clock thread updates; read by benchmarks and logs (ints/floats: no lock needed)."""

    frames_in: int = 0
    frames_out: int = 0
    frames_silent_out: int = 0
    callback_seconds: float = 0.0


class BridgePort(pj.AudioMediaPort):
    """A conference port serving one call at a time: the caller's frames go to ``session.push_inbound``, ours
    come from ``pull_outbound``; detached (no session) it plays silence and drops what it hears.

    Ports are pooled and reused, never freed while the bridge is clocked: freeing one queues its removal from
    the conference, but pjmedia's clock thread can call it once more after the Python object is gone (seen as
    a callback on a half-destroyed port, then SIGSEGV)."""

    def __init__(self, frame_bytes: int) -> None:
        super().__init__()
        self.session: MediaSession | None = None
        self.frame_bytes = frame_bytes
        self.stats = BridgeStats()

    def attach(self, session: MediaSession) -> None:
        self.stats = BridgeStats()
        self.session = session

    def detach(self) -> None:
        self.session = None

    def onFrameReceived(self, frame: pj.MediaFrame) -> None:
        started = time.perf_counter()
        session, stats = self.session, self.stats
        if session is not None and frame.type == pj.PJMEDIA_FRAME_TYPE_AUDIO:
            pcm = read_bytes(frame.buf)
            if pcm:
                session.push_inbound(pcm)
                stats.frames_in += 1
        stats.callback_seconds += time.perf_counter() - started

    def onFrameRequested(self, frame: pj.MediaFrame) -> None:
        started = time.perf_counter()
        session = self.session
        pcm = session.pull_outbound() if session is not None else None
        size = frame.size or self.frame_bytes
        if pcm is None:
            pcm = bytes(size)
            self.stats.frames_silent_out += 1
        elif len(pcm) != size:
            pcm = pcm[:size].ljust(size, b"\x00")
        write_bytes(frame.buf, pcm)
        frame.size = size
        frame.type = pj.PJMEDIA_FRAME_TYPE_AUDIO
        self.stats.frames_out += 1
        self.stats.callback_seconds += time.perf_counter() - started


class BridgePortPool:
    """The endpoint's bridge ports (SIP thread only): one per concurrent call, created on demand, reused."""

    def __init__(self, rate: int) -> None:
        self.rate = rate
        self._idle: list[BridgePort] = []
        self._all: list[BridgePort] = []

    def acquire(self, session: MediaSession) -> BridgePort:
        if not self._idle:
            fmt = pj.MediaFormatAudio()
            fmt.init(pj.PJMEDIA_FORMAT_PCM, self.rate, 1, 20000, 16)
            port = BridgePort(frame_bytes=self.rate // 50 * 2)
            port.createPort(f"bridge{len(self._all)}", fmt)
            self._all.append(port)
            log.info("bridge port %d created", len(self._all))
            self._idle.append(port)
        port = self._idle.pop()
        port.attach(session)
        return port

    def release(self, port: BridgePort) -> None:
        port.detach()
        self._idle.append(port)

    def clear(self) -> None:
        """Drop every port: only once the bridge's clock is stopped and before libDestroy."""
        for port in self._all:
            port.detach()
        self._idle.clear()
        self._all.clear()

