"""The one ``callbot eval`` runner, for text and audio turns: every file is loaded and checked first (a malformed
file or a missing WAV raises ``MalformedEvalFile`` before anything runs), then the cases run in parallel threads.

Each case is a call in text (``callbot.call.effects.SimulatedCall``): the real conversation, the decision
interpreter live calls use, simulated effects (deterministic ticket numbers, operators free or not). Its
caller is an ``AudioCaller``: ``wav:`` turns go through the call's Listener, the other turns speak for
themselves. ``--asr``: ``reference`` (the ``say:`` text beside each clip stands in for the recognizer), a
model name or folder, or none (the locale's configured model).

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
from callbot.call.effects import SimulatedCall, SimulatedEffects
from callbot.config import Settings
from callbot.dialogue.conversation import Conversation
from callbot.dialogue.resources import DialogueResources
from callbot.eval.audio import AudioCaller
from callbot.eval.report import CaseResult, EvalReport, expect_checks, script_checks
from callbot.eval.script import EvalCase, EvalFile, check_audio_turns, load_eval_file, ticket_values
from callbot.model_manager import ModelManager, ModelNotFound
from callbot.types import Hangup, Speaker

REFERENCE = "reference"


class AsrUnavailable(RuntimeError):
    """The chosen model cannot be found or loaded; the message names the fix."""


def eval_ticket_number(index: int) -> str:
    """Deterministic test ticket numbers in the store's shape ("NNNN-NNNN")."""
    digits = f"{index:08d}"
    return f"{digits[:4]}-{digits[4:]}"


def run_case(
    case: EvalCase,
    eval_file: EvalFile,
    settings: Settings,
    resources: DialogueResources,
    ticket_number: str,
    caller: AudioCaller,
) -> CaseResult:
    """One case through the real policy and the decision interpreter, its turns played by ``caller``."""
    file_settings = settings.model_copy(update={"default_province": eval_file.default_province})
    conversation = Conversation(
        file_settings,
        locale=eval_file.locale,
        call_id=f"eval-{case.id}",
        caller_id=case.caller_id,
        resources=resources,
    )
    call = SimulatedCall(conversation, SimulatedEffects(ticket_number, case.operators_free,
                                                        tickets={t.number: t for t in case.tickets}))
    call.start()
    unused = 0
    for index, turn in enumerate(case.turns):
        if call.ended:
            unused += 1
            continue
        for event in caller.events(turn, index, conversation.last_ask):
            if not call.ended:
                call.caller(event)
    if not call.ended:
        call.caller(Hangup())
    transcript = call.effects.transcript
    got = ticket_values(call.effects.filed)
    said = [line.key for line in transcript if line.speaker == Speaker.bot and line.key]
    if "prompts" in case.expect:
        got["prompts"] = said
    checks = [*script_checks(call.effects.filed is not None, unused), *expect_checks(case.expect, got, said)]
    return CaseResult(
        case.id,
        eval_file.path,
        dict(case.expect),
        got,
        checks,
        [line.as_dict() for line in transcript],
        caller.measures,
    )


def resolve_models(files: Sequence[EvalFile], settings: Settings, asr: str | None) -> dict[str, Path]:
    """locale -> model folder, for the locales whose files hold audio turns (empty for ``reference``)."""
    if asr == REFERENCE:
        return {}
    manager = ModelManager(settings)
    locales = sorted({f.locale for f in files if f.has_audio})
    try:
        if asr is not None:
            path = manager.resolve(asr)
            return {locale: path for locale in locales}
        return {locale: manager.asr_model_path(locale) for locale in locales}
    except ModelNotFound as exc:
        raise AsrUnavailable(str(exc)) from None


def run_eval(
    paths: Sequence[Path],
    settings: Settings,
    *,
    asr: str | None = None,
    jobs: int | None = None,
    progress: bool | None = None,
    models: VoskModels | None = None,
    resources: DialogueResources | None = None,
) -> EvalReport:
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

    def run_one(index: int, eval_file: EvalFile, case: EvalCase) -> CaseResult:
        model = loaded.get(eval_file.locale)
        recognizer = VoskRecognizer(model, settings.asr_sample_rate) if model is not None else None
        caller = AudioCaller(eval_file, settings, recognizer)
        return run_case(case, eval_file, settings, resources, eval_ticket_number(index), caller)

    work = [(eval_file, case) for eval_file in files for case in eval_file.cases]
    workers = max(1, min(jobs or os.cpu_count() or 1, len(work)))
    bar = tqdm(total=len(work), unit="case", desc="eval", disable=None if progress is None else not progress)
    with bar, ThreadPoolExecutor(max_workers=workers, thread_name_prefix="eval") as pool:
        futures = [pool.submit(run_one, n + 1, f, c) for n, (f, c) in enumerate(work)]
        for future in futures:
            future.add_done_callback(lambda _: bar.update(1))
        results = [future.result() for future in futures]  # in script order, whatever order they finished
    asr_label = (
        REFERENCE if asr == REFERENCE else ", ".join(str(p) for p in dict.fromkeys(model_paths.values()))
    )
    return EvalReport(
        results,
        asr_label or asr or "none",  # no audio turns: no model was loaded
        asr_chosen=asr is not None,
    )
