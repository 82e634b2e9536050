"""Per-frame cost of the media bridge callbacks (what pjmedia's clock thread pays per call every 20 ms).

Drives ``BridgePort.onFrameReceived`` / ``onFrameRequested`` with real pjsua2 ``MediaFrame`` objects, as the
clock thread does, against a deque-backed session, and compares with the plain SWIG copy
(``bytes(frame.buf)`` / ``frame.buf = ByteVector(...)``). Prints microseconds per 20 ms frame (both directions).

    /opt/venv/bin/python scripts/bench_bridge.py [--frames 20000]
"""

from __future__ import annotations

import argparse
import collections
import os
import time

import pjsua2 as pj

from callbot.telephony.pjsip import BridgePort


class DequeSession:
    """The media side of a call session: one deque in, one deque out (what CallSession does there)."""

    def __init__(self, frame: bytes) -> None:
        self.inbound: collections.deque[bytes] = collections.deque(maxlen=500)
        self.outbound: collections.deque[bytes] = collections.deque([frame] * 100)
        self.frame = frame

    def push_inbound(self, pcm: bytes) -> None:
        self.inbound.append(pcm)

    def pull_outbound(self) -> bytes | None:
        if not self.outbound:
            self.outbound.extend([self.frame] * 100)
        return self.outbound.popleft()

    def on_dtmf(self, digit: str) -> None: ...

    def on_hangup(self) -> None: ...

    def start(self) -> None: ...


def plain_swig_round_trip(rx: pj.MediaFrame, tx: pj.MediaFrame, session: DequeSession) -> None:
    session.push_inbound(bytes(rx.buf))
    tx.buf = pj.ByteVector(session.pull_outbound() or b"")
    tx.size = len(tx.buf)
    tx.type = pj.PJMEDIA_FRAME_TYPE_AUDIO


def measure(rate: int, frames: int) -> dict[str, float]:
    frame_bytes = rate // 50 * 2
    pcm = os.urandom(frame_bytes)
    rx = pj.MediaFrame()
    rx.buf = pj.ByteVector(pcm)
    rx.size = frame_bytes
    rx.type = pj.PJMEDIA_FRAME_TYPE_AUDIO
    tx = pj.MediaFrame()
    tx.size = frame_bytes
    session = DequeSession(pcm)
    port = BridgePort(frame_bytes)
    port.attach(session)

    start = time.perf_counter()
    for _ in range(frames):
        port.onFrameReceived(rx)
        port.onFrameRequested(tx)
    bridge_us = (time.perf_counter() - start) / frames * 1e6
    assert session.inbound[-1] == pcm and bytes(tx.buf) == pcm, "the bridge must move bytes exactly"

    start = time.perf_counter()
    for _ in range(frames):
        plain_swig_round_trip(rx, tx, session)
    plain_us = (time.perf_counter() - start) / frames * 1e6
    return {"bridge_us": bridge_us, "plain_swig_us": plain_us, "in_callback_us": port.stats.callback_seconds / frames * 1e6}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--frames", type=int, default=20000)
    args = parser.parse_args()
    endpoint = pj.Endpoint()
    endpoint.libCreate()  # SWIG directors need the library's thread registration, nothing more
    print(f"{'rate':>6} {'bridge us/frame':>16} {'(in callbacks)':>15} {'plain SWIG us/frame':>20} {'% of 20 ms':>11}")
    for rate in (8000, 16000):
        result = measure(rate, args.frames)
        print(
            f"{rate:>6} {result['bridge_us']:>16.1f} {result['in_callback_us']:>15.1f} "
            f"{result['plain_swig_us']:>20.1f} {result['bridge_us'] / 200:>10.2f}%"
        )
    endpoint.libDestroy()


if __name__ == "__main__":
    main()
