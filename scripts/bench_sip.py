"""N concurrent loopback SIP calls against the real service: CPU per call, bridge cost, turn latency.

The service (``python -m callbot.service``) runs in one process; each caller is a pjsua2 process
(``tests/sip_caller.py``) that waits for the greeting, answers three questions with espeak-ng speech
(name, address, need) and listens to the read-back of its ticket number. Printed per N:
- CPU per call: the service process's CPU time over the round / N / the round's wall time (% of one core);
- bridge: mean time inside the media callbacks per 20 ms frame (from the service log, per call);
- turn latency, measured by each caller from the end of its speech to the bot's first audible frame (so it
  includes the end-of-speech silence the endpoint detector waits for: CALLBOT_END_SILENCE_MS, address
  CALLBOT_ADDRESS_END_SILENCE_MS): after the name and the address the answer is a cached prompt, after the
  need it is the synthesized read-back of the ticket number.
Callers share the machine's cores with the service, so high N measures both.

    /opt/venv/bin/python scripts/bench_sip.py [--calls 1,4,8,16]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))

from sip_caller import peer_command, start_service

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


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def run_round(uri: str, pid: int, calls: int, wavs: dict[str, Path], work: Path) -> dict:
    steps = ["until_speech:15", "until_quiet:0.8"]
    for slot in ("name", "address", "need"):
        steps += [f"play:{wavs[slot]}", "until_quiet:0.8"]
    steps += ["wait:4"]
    args = [arg for step in steps for arg in ("--step", step)]
    cpu_before, started = process_cpu_seconds(pid), time.monotonic()
    reports = [work / f"n{calls}-{index}.json" for index in range(calls)]
    callers = [
        subprocess.Popen(peer_command(report, "--target", uri, "--turn-timeout", "15", *args),
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for report in reports
    ]
    for caller in callers:
        caller.wait(300)
    wall = time.monotonic() - started
    cpu = process_cpu_seconds(pid) - cpu_before
    results = [json.loads(report.read_text()) for report in reports if report.exists()]
    cached = [ms for r in results for ms in r["turn_latencies_ms"][:2]]
    synthesized = [r["turn_latencies_ms"][2] for r in results if len(r["turn_latencies_ms"]) >= 3]
    return {
        "calls": calls,
        "connected": sum(1 for r in results if r["connected"]),
        "wall_s": wall,
        "cpu_s": cpu,
        "cpu_per_call_pct": cpu / calls / wall * 100,
        "cached": cached,
        "synthesized": synthesized,
    }


def mean_bridge_us(lines: list[tuple[str, str, str, str]]) -> float:
    """Mean microseconds per media callback over every frame of the given calls' bridge log lines."""
    weighted = [(int(frames_in) + int(frames_out), float(us)) for frames_in, frames_out, _silent, us in lines]
    frames = sum(count for count, _ in weighted)
    return sum(count * us for count, us in weighted) / frames if frames else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", default="1,4,8,16", help="comma-separated concurrency levels")
    args = parser.parse_args()
    levels = [int(n) for n in args.calls.split(",")]
    work = Path(tempfile.mkdtemp(prefix="bench-sip-"))
    wavs = {slot: speech_wav(work, slot, text) for slot, text in ANSWERS.items()}
    service = start_service(work / "data", {"CALLBOT_MAX_CALLS": str(max(levels)), "CALLBOT_MAX_CALL_DURATION_S": "300"})
    pid = service.process.pid
    idle_before = process_cpu_seconds(pid)
    time.sleep(3)
    idle_pct = (process_cpu_seconds(pid) - idle_before) / 3 * 100
    rounds = []
    try:
        for calls in levels:
            seen_before = len(BRIDGE_LINE.findall(service.log()))
            result = run_round(service.uri, pid, calls, wavs, work)
            time.sleep(1.0)  # the last calls' bridge lines reach the log
            result["bridge_us"] = mean_bridge_us(BRIDGE_LINE.findall(service.log())[seen_before:])
            rounds.append(result)
    finally:
        service.stop()
    print(f"service idle CPU: {idle_pct:.1f}% of a core; record-only: {'RECORD-ONLY' in service.log()}")
    print(f"{'N':>3} {'ok':>3} {'CPU/call':>9} {'bridge us/frame':>16} {'cached p50/p95 ms':>18} {'read-back p50/p95 ms':>21}")
    for r in rounds:
        print(  # a 20 ms frame costs two callbacks: the caller's frame in, the bot's frame out
            f"{r['calls']:>3} {r['connected']:>3} {r['cpu_per_call_pct']:>8.1f}% {2 * r['bridge_us']:>16.1f} "
            f"{percentile(r['cached'], .5):>8.0f}/{percentile(r['cached'], .95):<9.0f} "
            f"{percentile(r['synthesized'], .5):>10.0f}/{percentile(r['synthesized'], .95):<10.0f}"
        )
    print("turn latency = end of the caller's speech -> first audible bot frame at the caller, including the "
          "endpoint detector's end-of-speech silence (600 ms; 1200 ms after the address).")
    if any(r["connected"] < r["calls"] for r in rounds):
        print("warning: some calls did not connect")


if __name__ == "__main__":
    main()
