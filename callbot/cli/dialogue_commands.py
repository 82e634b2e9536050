"""Dialogue commands: ``callbot eval`` (conversation regression scripts) and ``callbot chat``."""

from __future__ import annotations

import json
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
) -> None:
    """Run conversation scripts through the real dialogue; exit 0 all pass, 1 some fail, 2 malformed file."""
    from callbot.evaluation import MalformedEvalFile, run_eval

    settings = settings_from(ctx)
    try:
        report = run_eval(files, settings)
    except MalformedEvalFile as exc:
        raise fail(str(exc), 2) from None
    if as_json:
        typer.echo(json.dumps(report.as_json(), ensure_ascii=False, indent=2))
    else:
        typer.echo(report.as_text(verbose))
    raise typer.Exit(0 if report.passed == len(report.results) else 1)


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
