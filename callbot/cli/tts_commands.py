"""Speech output commands: ``callbot say`` and ``callbot prompts build``."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer

from callbot.audio import write_wav
from callbot.cli.app import app, fail, settings_from
from callbot.config import Settings
from callbot.prompts import PromptError
from callbot.tts import ENGINES, SpeechOutput, TtsError
from callbot.tts.engine import default_voice
from callbot.tts.textprep import sentences_for_speech

LOCALES = ("vi", "en")


def _prompts_group() -> typer.Typer:
    """The ``prompts`` command group, shared with other modules that add prompt commands."""
    for group in app.registered_groups:
        if group.name == "prompts" and group.typer_instance is not None:
            return group.typer_instance
    group = typer.Typer(help="Prompts: render the prompt cache.", no_args_is_help=True)
    app.add_typer(group, name="prompts")
    return group


prompts_app = _prompts_group()


def _check_choice(value: str | None, allowed: tuple[str, ...], option: str) -> None:
    if value is not None and value not in allowed:
        raise fail(f"{option} must be one of {', '.join(allowed)}, got {value!r}", code=2)


@app.command("say")
def say(
    ctx: typer.Context,
    text: Annotated[
        str, typer.Argument(help="What to say (numbers, phone and ticket numbers are read aloud).")
    ],
    output: Annotated[Path, typer.Option("--output", "-o", help="WAV file to write.")],
    locale: Annotated[
        str | None, typer.Option("--locale", "-l", help="vi or en (default: settings).")
    ] = None,
    engine: Annotated[str | None, typer.Option("--engine", "-e", help="piper, espeak or coqui.")] = None,
    voice: Annotated[
        str | None, typer.Option("--voice", help="Voice name or path (default: settings).")
    ] = None,
    rate: Annotated[int | None, typer.Option("--rate", "-r", help="Output rate, 8000 or 16000.")] = None,
    show_text: Annotated[
        bool, typer.Option("--show-text", help="Also print the sentences as the engine reads them.")
    ] = False,
) -> None:
    """Synthesize TEXT the way a caller would hear it, into a WAV file."""
    _check_choice(locale, LOCALES, "--locale")
    _check_choice(engine, ENGINES, "--engine")
    base = settings_from(ctx)
    loc = locale or base.locale
    settings = _with_voice(ctx, base, loc, engine, voice)
    out_rate = rate or settings.call_sample_rate
    _check_choice(str(out_rate), ("8000", "16000"), "--rate")
    if show_text:
        for sentence in sentences_for_speech(text, loc):
            typer.echo(f"  {sentence}")
    speech = SpeechOutput(settings)
    started = time.perf_counter()
    try:
        pcm = speech.synthesize(text, locale=loc, rate=out_rate)
    except TtsError as exc:
        raise fail(str(exc)) from None
    if not pcm:
        raise fail("nothing to say: the text has no words")
    write_wav(output, pcm, out_rate)
    engine_name, voice_name = settings.tts_for(loc)
    typer.echo(
        f"{output}: {len(pcm) / 2 / out_rate:.2f} s at {out_rate} Hz, {engine_name} voice {voice_name}, "
        f"made in {time.perf_counter() - started:.2f} s"
    )


def _with_voice(
    ctx: typer.Context, base: Settings, locale: str, engine: str | None, voice: str | None
) -> Settings:
    """The settings with this locale's engine/voice replaced by the command line's choice."""
    if engine is None and voice is None:
        return base
    chosen_engine = engine or base.tts_for(locale)[0]
    try:
        chosen_voice = voice or (
            base.tts_for(locale)[1] if engine is None else default_voice(chosen_engine, locale)
        )
    except TtsError as exc:
        raise fail(str(exc), code=2) from None
    return settings_from(ctx, **{f"tts_engine_{locale}": chosen_engine, f"tts_voice_{locale}": chosen_voice})


@prompts_app.command("build")
def build_prompts(
    ctx: typer.Context,
    locale: Annotated[str | None, typer.Option("--locale", "-l", help="vi or en (default: both).")] = None,
    rate: Annotated[
        int | None, typer.Option("--rate", "-r", help="8000 or 16000 (default: settings).")
    ] = None,
) -> None:
    """Render every static prompt into the prompt cache, so calls play them without synthesis."""
    _check_choice(locale, LOCALES, "--locale")
    settings = settings_from(ctx)
    out_rate = rate or settings.call_sample_rate
    _check_choice(str(out_rate), ("8000", "16000"), "--rate")
    locales = (
        [locale]
        if locale
        else [loc for loc in LOCALES if (settings.prompts_dir / loc / "prompts.yaml").is_file()]
    )
    if not locales:
        raise fail(f"no prompts found under {settings.prompts_dir}")
    speech = SpeechOutput(settings)
    for loc in locales:
        started = time.perf_counter()
        try:
            report = speech.warm(loc, out_rate)
        except (TtsError, PromptError) as exc:
            raise fail(str(exc)) from None
        typer.echo(
            f"{report.summary()} in {time.perf_counter() - started:.1f} s -> {speech.cache.directory / loc}"
        )
