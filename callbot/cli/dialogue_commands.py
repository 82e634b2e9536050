"""Dialogue commands: ``callbot eval`` (conversation regression scripts) and ``callbot chat``."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from callbot.cli.app import app, fail, settings_from


@app.command("eval")
def eval_command(
    ctx: typer.Context,
    files: Annotated[list[Path], typer.Argument(help="Conversation script files (YAML).")],
    as_json: Annotated[
        bool, typer.Option("--json", help="Print one JSON object instead of the report.")
    ] = False,
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="Show every transcript, not only failures.")
    ] = False,
    asr: Annotated[
        str | None,
        typer.Option("--asr", help="Model for wav: turns (name or folder; default: the locale's), or 'reference'."),
    ] = None,
    html: Annotated[Path | None, typer.Option("--html", help="Also write an HTML report here.")] = None,
    baseline: Annotated[
        Path | None, typer.Option("--baseline", help="A previous --json report: mark what got better or worse.")
    ] = None,
    jobs: Annotated[int | None, typer.Option("--jobs", "-j", help="Cases run in parallel (default: cores).")] = None,
    wer_tolerance: Annotated[
        float | None,
        typer.Option("--wer-tolerance", help="A case's WER must move more than this to count (default 0.1)."),
    ] = None,
    progress: Annotated[
        bool | None, typer.Option("--progress/--no-progress", help="Progress bar on stderr (default: if a terminal).")
    ] = None,
) -> None:
    """Run conversation scripts through the real dialogue; exit 0 all pass, 1 some fail (or regressed against
    --baseline), 2 malformed file. Audio (wav:) turns go through the live call's Listener and recognizer."""
    from callbot.cli.tuning_commands import run_eval_command  # the audio side lives in callbot.tuning

    code = run_eval_command(
        settings_from(ctx), files, as_json=as_json, verbose=verbose, asr=asr, html=html, baseline=baseline,
        jobs=jobs, progress=progress, wer_tolerance=wer_tolerance,
    )
    raise typer.Exit(code)


@app.command("chat")
def chat_command(
    ctx: typer.Context,
    locale: Annotated[
        str | None, typer.Option("--locale", "-l", help="vi or en (default: settings).")
    ] = None,
    province: Annotated[
        str | None,
        typer.Option("--province", help="Deployment province (default: settings.default_province)."),
    ] = None,
    operators_busy: Annotated[
        bool, typer.Option("--operators-busy", help="Transfers to an operator find nobody.")
    ] = False,
) -> None:
    """Talk to the bot in the terminal, typing as the caller (/silence, /dtmf 1, /hangup)."""
    from callbot.chat import run_chat
    from callbot.dialogue.resources import DialogueResources, UnknownProvince

    if locale is not None and locale not in ("vi", "en"):
        raise fail(f"--locale must be vi or en, not {locale!r}", 2)
    settings = settings_from(ctx, default_province=province)
    chosen = locale or settings.locale
    if settings.default_province:
        try:
            DialogueResources(settings).province(settings.default_province, chosen)
        except UnknownProvince as exc:
            raise fail(str(exc), 2) from None
    interactive = sys.stdin.isatty()
    run_chat(
        settings,
        chosen,
        (line.rstrip("\n") for line in sys.stdin),
        typer.echo,
        operators_free=not operators_busy,
        prompt=(lambda: typer.echo("you> ", nl=False)) if interactive else None,
    )
