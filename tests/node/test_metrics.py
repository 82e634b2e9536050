"""The node's call figures in /metrics (callbot.node.metrics): read from the workers' status files at scrape
time, the turn-latency histogram summed over the workers' bucket counts (callbot.call.stats)."""

from __future__ import annotations

import time
from pathlib import Path

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from callbot.call.stats import TURN_LATENCY_BUCKETS_S, LatencyHistogram
from callbot.node.metrics import NodeCollector
from callbot.node.status import WorkerStatus, write_status


def scrape(directory: Path) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    registry = CollectorRegistry()
    registry.register(NodeCollector(directory))
    return {(sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in text_string_to_metric_families(generate_latest(registry).decode())
            for sample in family.samples}


def worker(worker_id: str, latencies: list[float], **changes: object) -> WorkerStatus:
    histogram = LatencyHistogram()
    for seconds in latencies:
        histogram.observe(seconds)
    values: dict[str, object] = {"worker_id": worker_id, "pid": 1, "sip": "127.0.0.1:5060", "call_limit": 4,
                                 "active_calls": 1, "answered": len(latencies), "updated_at": time.time(),
                                 "turn_latency": histogram.snapshot()}
    values.update(changes)
    return WorkerStatus(**values)  # type: ignore[arg-type]


def test_a_histogram_counts_each_latency_in_its_bucket() -> None:
    histogram = LatencyHistogram()
    for seconds in (0.1, 0.25, 0.6, 9.0):
        histogram.observe(seconds)
    snapshot = histogram.snapshot()
    assert snapshot["counts"] == [2, 0, 1, 0, 0, 0, 0, 0, 1] and len(TURN_LATENCY_BUCKETS_S) == 8
    assert snapshot["sum"] == 9.95


def test_the_node_sums_its_workers_calls_backlog_record_only_state_and_latency_buckets(tmp_path: Path) -> None:
    write_status(tmp_path / "w1.json", worker("w1", [0.3, 0.4, 1.2], rejected={"full": 2}, asr_backlog_ms=400.0,
                                              record_only=True))
    write_status(tmp_path / "w2.json", worker("w2", [0.2, 6.0], active_calls=2, asr_backlog_ms=100.0))
    figures = scrape(tmp_path)
    assert figures[("callbot_node_active_calls", ())] == 3
    assert figures[("callbot_node_asr_backlog_seconds", ())] == 0.4  # the longest wait
    assert figures[("callbot_node_record_only_workers", ())] == 1
    assert figures[("callbot_node_calls_rejected_total", (("reason", "full"),))] == 2
    bucket = lambda le: figures[("callbot_node_turn_latency_seconds_bucket", (("le", le),))]
    assert (bucket("0.25"), bucket("0.5"), bucket("1.5"), bucket("5"), bucket("+Inf")) == (1, 3, 4, 4, 5)
    assert figures[("callbot_node_turn_latency_seconds_count", ())] == 5
    assert abs(figures[("callbot_node_turn_latency_seconds_sum", ())] - 8.1) < 1e-9


def test_a_status_file_of_an_older_worker_without_the_new_figures_still_reads(tmp_path: Path) -> None:
    (tmp_path / "old.json").write_text('{"worker_id": "old", "pid": 1, "sip": "x", "call_limit": 1, '
                                       f'"active_calls": 0, "answered": 0, "updated_at": {time.time()}}}')
    figures = scrape(tmp_path)
    assert figures[("callbot_node_turn_latency_seconds_count", ())] == 0
    assert figures[("callbot_node_record_only_workers", ())] == 0
