"""What one call measures about itself (read by tests and ``scripts/bench_call_session.py``)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class TurnLatency:
    """From the end of the caller's speech: transcript ready, the answer's first frame queued, and played."""

    understood_s: float
    queued_s: float
    played_s: float


@dataclass(frozen=True, slots=True)
class BargeInCut:
    """A prompt cut by the caller: stream seconds of the caller's speech (or key) and of the cut."""

    speech_at: float
    cut_at: float


@dataclass
class CallStats:
    inbound_frames: int = 0
    inbound_dropped: int = 0
    outbound_frames: int = 0
    turn_latencies: list[TurnLatency] = field(default_factory=list)
    barge_ins: list[BargeInCut] = field(default_factory=list)
