"""The root ``callbot`` command; each command group lives in its own module of this package."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Optional

import typer
from sqlalchemy.engine import URL

from callbot.config import Settings, SettingsError, load_settings

app = typer.Typer(
    name="callbot",
    help="Overflow voice callbot: answers a hotline's calls when every operator is busy.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


@app.callback()
def root(
    ctx: typer.Context,
    config: Annotated[
        Optional[Path], typer.Option("--config", "-c", help="TOML settings file (also CALLBOT_CONFIG).")
    ] = None,
) -> None:
    ctx.obj = {"config": config}


def settings_from(ctx: typer.Context, **overrides: object) -> Settings:
    """The settings for this invocation; a bad value exits 2 with a message naming the setting."""
    root_ctx = ctx.find_root()
    config = (root_ctx.obj or {}).get("config")
    try:
        return load_settings(config, **{k: v for k, v in overrides.items() if v is not None})
    except SettingsError as exc:
        typer.echo("\n".join(f"error: {line}" for line in str(exc).splitlines()), err=True)
        raise typer.Exit(2) from None


def say_database(url: URL) -> None:
    """Every command that opens the database says which one, on stderr (stdout stays the command's output)."""
    typer.echo(f"callbot: database {url.render_as_string(hide_password=True)}", err=True)


def fail(message: str, code: int = 1) -> typer.Exit:
    """Print a clear error to stderr and return the Exit to raise."""
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code)


@app.command("config")
def show_config(ctx: typer.Context) -> None:
    """Print the effective settings as JSON (every secret masked: keys, passwords, passwords inside URLs)."""
    settings = settings_from(ctx)
    typer.echo(json.dumps(settings.redacted_dump(), indent=2, ensure_ascii=False))
