"""What one call measures about itself (read by tests and ``scripts/bench_call_session.py``)."""

from __future__ import annotations

import bisect
import threading
from dataclasses import dataclass, field

# Turn latency buckets (seconds, upper bounds) of the node's /metrics histogram; the last bucket is +Inf.
TURN_LATENCY_BUCKETS_S = (0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0)


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


class LatencyHistogram:
    """A process's turn latencies (end of the caller's speech -> the answer on the wire) in fixed buckets: every
    call of the process adds to it, its worker status file carries it, /metrics sums the workers'."""

    def __init__(self) -> None:
        self._lock = threading.Lock()  # calls' worker threads add, the status reporter reads
        self._counts = [0] * (len(TURN_LATENCY_BUCKETS_S) + 1)
        self._sum = 0.0

    def observe(self, seconds: float) -> None:
        with self._lock:
            self._counts[bisect.bisect_left(TURN_LATENCY_BUCKETS_S, seconds)] += 1
            self._sum += seconds

    def snapshot(self) -> dict[str, object]:
        """{"counts": per bucket (not cumulative, +Inf last), "sum": seconds} for a status file."""
        with self._lock:
            return {"counts": list(self._counts), "sum": self._sum}


@dataclass
class CallStats:
    inbound_frames: int = 0
    inbound_dropped: int = 0
    outbound_frames: int = 0
    turn_latencies: list[TurnLatency] = field(default_factory=list)
    barge_ins: list[BargeInCut] = field(default_factory=list)
    process_latencies: LatencyHistogram | None = None  # the process's histogram the call adds to

    def add_turn_latency(self, latency: TurnLatency) -> None:
        self.turn_latencies.append(latency)
        if self.process_latencies is not None:
            self.process_latencies.observe(latency.played_s)
