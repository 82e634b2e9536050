"""``/metrics`` for the node, read at scrape time: the edge's counters (kamcmd), each local worker's status file,
and the supervisor's restart counts. Registered on the API's own registry by ``callbot serve``."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.registry import Collector

from callbot.call.stats import TURN_LATENCY_BUCKETS_S
from callbot.node.edge import EdgeProcess
from callbot.node.status import WorkerStatus, read_statuses

# the edge's counters -> the node's reasons for refusing a call or request
EDGE_REJECTIONS = {"untrusted": "untrusted", "flood": "flood", "full": "full", "refer_refused": "refer"}


class NodeCollector(Collector):
    def __init__(self, status_dir: Path, *, worker_ids: list[str] | None = None, edge: EdgeProcess | None = None,
                 restart_counts: Callable[[], dict[str, int]] | None = None) -> None:
        self._status_dir = status_dir
        self._worker_ids = worker_ids  # None: every worker that reported recently (one process: itself)
        self._edge = edge
        self._restart_counts = restart_counts  # a callable returning {worker_id: restarts}

    def _statuses(self) -> list[WorkerStatus]:
        now = time.time()
        statuses = read_statuses(self._status_dir)
        if self._worker_ids is not None:
            return [status for status in statuses if status.worker_id in self._worker_ids]
        return [status for status in statuses if status.fresh(now) and status.state != "stopped"]

    def collect(self) -> Iterator[CounterMetricFamily | GaugeMetricFamily | HistogramMetricFamily]:
        now = time.time()
        statuses = self._statuses()
        edge_counts = self._edge.counters() if self._edge is not None else {}

        offered = CounterMetricFamily("callbot_node_calls_offered", "New calls offered to the node")
        answered = CounterMetricFamily("callbot_node_calls_answered", "Calls answered by the node's workers")
        rejected = CounterMetricFamily("callbot_node_calls_rejected", "Calls and requests refused, by reason",
                                       labels=["reason"])
        reasons: dict[str, int] = {}
        for counter, reason in EDGE_REJECTIONS.items():
            reasons[reason] = reasons.get(reason, 0) + edge_counts.get(counter, 0)
        for status in statuses:
            for reason, count in status.rejected.items():
                label = reason if not reason.isdigit() else f"status_{reason}"
                reasons[label] = reasons.get(label, 0) + count
        total_answered = sum(status.answered for status in statuses)
        if self._edge is not None:
            offered.add_metric([], edge_counts.get("offered", 0))
        else:  # one process, no edge: what it answered and what it refused
            offered.add_metric([], total_answered + sum(sum(s.rejected.values()) for s in statuses))
        answered.add_metric([], total_answered)
        for reason, count in sorted(reasons.items()):
            rejected.add_metric([reason], count)
        yield offered
        yield answered
        yield rejected

        active = GaugeMetricFamily("callbot_node_worker_active_calls", "Calls in progress per worker", labels=["worker"])
        limit = GaugeMetricFamily("callbot_node_worker_call_limit", "Calls a worker carries at most", labels=["worker"])
        up = GaugeMetricFamily("callbot_node_worker_up", "1 if the worker reported in the last 5 s", labels=["worker"])
        behind = GaugeMetricFamily("callbot_node_worker_asr_behind", "1 while a worker's recognizers run behind "
                                   "real time (it refuses new calls)", labels=["worker"])
        backlog = GaugeMetricFamily("callbot_node_worker_asr_backlog_seconds", "The longest a live call's audio "
                                    "has waited to be heard", labels=["worker"])
        for status in statuses:
            fresh = status.fresh(now) and status.state == "running"
            active.add_metric([status.worker_id], status.active_calls if fresh else 0)
            limit.add_metric([status.worker_id], status.call_limit)
            up.add_metric([status.worker_id], 1 if fresh else 0)
            behind.add_metric([status.worker_id], 1 if fresh and status.asr_behind else 0)
            backlog.add_metric([status.worker_id], status.asr_backlog_ms / 1000 if fresh else 0.0)
        yield active
        yield limit
        yield up
        yield behind
        yield backlog
        yield from self._call_figures([s for s in statuses if s.fresh(now) and s.state == "running"], statuses)

        restarts = CounterMetricFamily("callbot_node_worker_restarts", "Worker processes restarted by the supervisor",
                                       labels=["worker"])
        for worker_id, count in sorted((self._restart_counts() if self._restart_counts else {}).items()):
            restarts.add_metric([worker_id], count)
        yield restarts
        if self._edge is not None:
            edge_up = GaugeMetricFamily("callbot_node_edge_up", "1 if the Kamailio edge answers its control socket")
            edge_up.add_metric([], 1 if edge_counts else 0)
            yield edge_up
            edge_calls = GaugeMetricFamily("callbot_node_edge_worker_calls", "Calls the edge counts on each worker "
                                           "(remote ones too)", labels=["worker", "state"])
            for destination in self._edge.destinations():
                edge_calls.add_metric([destination.worker_id, destination.flags], destination.calls)
            yield edge_calls

    @staticmethod
    def _call_figures(running: list[WorkerStatus],
                      statuses: list[WorkerStatus]) -> Iterator[GaugeMetricFamily | HistogramMetricFamily]:
        """The node's calls as a whole: in progress, the recognizers' backlog, record-only workers, and the turn
        latency histogram summed over the workers' own (each worker's status file carries its bucket counts)."""
        calls = GaugeMetricFamily("callbot_node_active_calls", "Calls in progress on the node")
        calls.add_metric([], sum(status.active_calls for status in running))
        yield calls
        backlog = GaugeMetricFamily("callbot_node_asr_backlog_seconds",
                                    "The longest any live call's audio has waited to be heard (VAD and recognition)")
        backlog.add_metric([], max((status.asr_backlog_ms / 1000 for status in running), default=0.0))
        yield backlog
        record_only = GaugeMetricFamily("callbot_node_record_only_workers",
                                        "Workers without a speech model: answers recorded for transcription")
        record_only.add_metric([], sum(1 for status in running if status.record_only))
        yield record_only
        counts, total = [0] * (len(TURN_LATENCY_BUCKETS_S) + 1), 0.0
        for status in statuses:
            worker_counts, worker_sum = status.turn_latency.get("counts"), status.turn_latency.get("sum", 0.0)
            if isinstance(worker_counts, list) and len(worker_counts) == len(counts):
                counts = [mine + int(theirs) for mine, theirs in zip(counts, worker_counts, strict=True)]
                total += float(worker_sum) if isinstance(worker_sum, int | float) else 0.0
        cumulative = [sum(counts[: index + 1]) for index in range(len(counts))]
        latency = HistogramMetricFamily(
            "callbot_node_turn_latency_seconds", "End of the caller's speech to the bot's answer on the wire")
        bounds = [f"{bound:g}" for bound in TURN_LATENCY_BUCKETS_S] + ["+Inf"]
        latency.add_metric([], [(bound, float(count)) for bound, count in zip(bounds, cumulative, strict=True)], total)
        yield latency
