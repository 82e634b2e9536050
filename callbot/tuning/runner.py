"""Running conversation scripts with audio turns: every file is loaded and checked first (a malformed file or
a missing WAV raises ``MalformedEvalFile`` before anything runs), then the cases run in parallel threads.

One ``VoskModels`` holds one model per folder for the whole run; each case gets its own recognizer on it, as
each call does. Vosk releases the GIL while decoding (``scripts/bench_asr.py`` measures it), so threads use
the cores; the dialogue's shared resources are thread-safe and loaded before the threads start.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from tqdm import tqdm

from callbot.asr import AsrError, VoskModels, VoskRecognizer
from callbot.config import Settings
from callbot.dialogue.resources import DialogueResources
from callbot.evaluation import (
    CaseResult,
    EvalCase,
    EvalFile,
    EvalReport,
    MalformedEvalFile,
    WavTurn,
    eval_ticket_number,
    load_eval_file,
    run_case,
)
from callbot.model_manager import ModelManager, ModelNotFound
from callbot.tuning.audio_turns import AudioCaller, check_audio_turns
from callbot.tuning.report import CaseMeasures, TuningReport

REFERENCE = "reference"  # --asr reference: the `say:` text beside each clip stands in for the recognizer


class AsrUnavailable(RuntimeError):
    """The chosen model cannot be found or loaded; the message names the fix."""


def has_audio(eval_file: EvalFile) -> bool:
    return any(isinstance(turn, WavTurn) for case in eval_file.cases for turn in case.turns)


def resolve_models(files: Sequence[EvalFile], settings: Settings, asr: str | None) -> dict[str, Path]:
    """locale -> model folder, for the locales whose files hold audio turns (empty for ``reference``)."""
    if asr == REFERENCE:
        return {}
    manager = ModelManager(settings)
    locales = sorted({f.locale for f in files if has_audio(f)})
    try:
        if asr is not None:
            path = manager.resolve(asr)
            return {locale: path for locale in locales}
        return {locale: manager.asr_model_path(locale) for locale in locales}
    except ModelNotFound as exc:
        raise AsrUnavailable(str(exc)) from None


def run_tuning(
    paths: Sequence[Path],
    settings: Settings,
    *,
    asr: str | None = None,
    jobs: int | None = None,
    progress: bool | None = None,
    models: VoskModels | None = None,
    resources: DialogueResources | None = None,
) -> TuningReport:
    """Run every case of ``paths``; ``asr``: a model name or folder, ``reference``, or None (the locale's
    configured model). ``progress`` None shows a bar only when stderr is a terminal."""
    resources = resources or DialogueResources(settings)
    files = [load_eval_file(Path(p), resources) for p in paths]
    for eval_file in files:
        check_audio_turns(eval_file, need_reference=asr == REFERENCE)
    model_paths = resolve_models(files, settings, asr)
    models = models or VoskModels()
    try:
        loaded = {locale: models.get(path) for locale, path in model_paths.items()}
    except AsrError as exc:
        raise AsrUnavailable(str(exc)) from None
    for locale in {f.locale for f in files}:
        resources.context(locale)  # load the lexicons once, before the threads race for them

    def run_one(index: int, eval_file: EvalFile, case: EvalCase) -> tuple[CaseResult, CaseMeasures]:
        model = loaded.get(eval_file.locale)
        recognizer = VoskRecognizer(model, settings.asr_sample_rate) if model is not None else None
        caller = AudioCaller(eval_file, settings, recognizer)
        result = run_case(
            case, eval_file, settings, resources, eval_ticket_number(index), caller.turn_events, caller.attach
        )
        return result, CaseMeasures(caller.measures)

    work = [(eval_file, case) for eval_file in files for case in eval_file.cases]
    workers = max(1, min(jobs or os.cpu_count() or 1, len(work)))
    bar = tqdm(total=len(work), unit="case", desc="eval", disable=None if progress is None else not progress)
    with bar, ThreadPoolExecutor(max_workers=workers, thread_name_prefix="eval") as pool:
        futures = [pool.submit(run_one, n + 1, f, c) for n, (f, c) in enumerate(work)]
        for future in futures:
            future.add_done_callback(lambda _: bar.update(1))
        outcomes = [future.result() for future in futures]  # in script order, whatever order they finished
    asr_label = (
        REFERENCE if asr == REFERENCE else ", ".join(str(p) for p in dict.fromkeys(model_paths.values()))
    )
    return TuningReport(
        EvalReport([result for result, _ in outcomes]),
        [m for _, m in outcomes],
        asr_label or asr or "none",  # no audio turns: no model was loaded
        asr_chosen=asr is not None,
    )


__all__ = ["REFERENCE", "AsrUnavailable", "MalformedEvalFile", "has_audio", "resolve_models", "run_tuning"]
