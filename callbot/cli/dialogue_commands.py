"""Dialogue commands: ``callbot chat`` (``callbot eval`` lives in ``callbot.cli.eval_commands``)."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from callbot.cli.app import app, fail, settings_from


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
