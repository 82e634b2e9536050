"""Commands of the foundation: ``callbot models ...`` and ``callbot replay``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from callbot.audio import AudioError
from callbot.cli.app import app, fail, settings_from
from callbot.model_manager import ModelError, ModelManager

models_app = typer.Typer(help="List, fetch and check models (Vosk ASR, Piper and Coqui voices).", no_args_is_help=True)
app.add_typer(models_app, name="models")

ManifestOption = Annotated[
    Path | None, typer.Option("--manifest", help="Model manifest (default: models/manifest.toml).")
]


def _manager(ctx: typer.Context, manifest: Path | None) -> ModelManager:
    return ModelManager(settings_from(ctx), manifest=manifest)


@models_app.command("list")
def models_list(ctx: typer.Context, manifest: ManifestOption = None) -> None:
    """Every model the manifest knows, with its size, licence and where it is (or "missing")."""
    try:
        statuses = _manager(ctx, manifest).statuses()
    except ModelError as exc:
        raise fail(str(exc)) from None
    for status in statuses:
        entry = status.entry
        where = f"{status.source}: {status.path}" if status.path else "missing"
        licence = entry.licence + (" [NON-COMMERCIAL]" if entry.noncommercial else "")
        typer.echo(f"{entry.name:32} {entry.kind:6} {entry.locale:3} {entry.approx_size:>7}  {licence}")
        typer.echo(f"{'':32} {where}")


@models_app.command("pull")
def models_pull(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Model name from `callbot models list`.")],
    url: Annotated[str | None, typer.Option(
        "--url", help="Download from here instead (a mirror); a local file or file:// URL is installed as is.")] = None,
    force: Annotated[bool, typer.Option("--force", help="Fetch again even if installed.")] = False,
    manifest: ManifestOption = None,
) -> None:
    """Download a model (resumable, with a progress bar), check it and install it atomically."""
    try:
        path = _manager(ctx, manifest).pull(name, url=url, force=force)
    except ModelError as exc:
        raise fail(str(exc)) from None
    typer.echo(f"{name}: installed at {path}")


@models_app.command("install")
def models_install(
    ctx: typer.Context,
    source: Annotated[str, typer.Argument(help="A zip, tar.gz or folder on this machine (a path or file:///...).")],
    name: Annotated[str | None, typer.Option("--name", help="Which model it is (default: told by its file "
                                                            "name, as in the manifest's URL).")] = None,
    force: Annotated[bool, typer.Option("--force", help="Install again even if installed.")] = False,
    manifest: ManifestOption = None,
) -> None:
    """Install a model already on this machine (no network needed): checked like a pull (size and sha256 where
    the manifest knows them, the required files) and put in place whole; the source is left as it is."""
    try:
        entry, path = _manager(ctx, manifest).install(source, name=name, force=force)
    except ModelError as exc:
        raise fail(str(exc)) from None
    typer.echo(f"{entry.name}: installed at {path}")


@models_app.command("verify")
def models_verify(
    ctx: typer.Context,
    name: Annotated[str | None, typer.Argument(help="One model; default: every available model.")] = None,
    manifest: ManifestOption = None,
) -> None:
    """Check the file structure (and hashes, where known) of installed or packaged models."""
    try:
        manager = _manager(ctx, manifest)
        names = [name] if name else [s.entry.name for s in manager.statuses() if s.path is not None]
        failed = False
        for each in names:
            problems = manager.verify(each)
            failed = failed or bool(problems)
            typer.echo(f"{each}: {'ok' if not problems else '; '.join(problems)}")
    except ModelError as exc:
        raise fail(str(exc)) from None
    if failed:
        raise typer.Exit(1)


@models_app.command("path")
def models_path(ctx: typer.Context, name: str, manifest: ManifestOption = None) -> None:
    """Print where a model is (exit 1, naming the pull command, when it is missing)."""
    try:
        typer.echo(str(_manager(ctx, manifest).resolve(name)))
    except ModelError as exc:
        raise fail(str(exc)) from None


@app.command("replay")
def replay_command(
    ctx: typer.Context,
    wav: Annotated[Path, typer.Argument(help="A WAV file (any rate, any channel count).")],
    model: Annotated[
        str | None, typer.Option("--model", help="Vosk model name or folder (default: the locale's).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object with segments and finals.")] = False,
    realtime: Annotated[bool, typer.Option("--realtime", help="Feed frames at real-time pace.")] = False,
    channel: Annotated[str | None, typer.Option(
        "--channel", help="caller, bot or mix: which side of a call recording (stereo, caller left) to hear "
                          "(default: caller for a 2-channel file).")] = None,
) -> None:
    """Run a recording through endpointing and recognition, as a live call would, and print a timeline."""
    from callbot.asr import AsrError
    from callbot.replay import describe, replay, replay_channel

    settings = settings_from(ctx)
    manager = ModelManager(settings)
    try:
        model_path = manager.resolve(model) if model else manager.asr_model_path()
    except ModelError as exc:
        raise fail(str(exc)) from None
    if not wav.is_file():
        raise fail(f"no such file: {wav}")
    if channel not in (None, "caller", "bot", "mix"):
        raise fail(f"--channel must be caller, bot or mix, not {channel!r}", 2)
    on_event = None if as_json else (lambda event: typer.echo(describe(event)))
    try:
        picked, note = replay_channel(wav, channel)  # type: ignore[arg-type]
        if note:
            typer.echo(note, err=True)
        result = replay(wav, settings, model_path, realtime=realtime, channel=picked, on_event=on_event)
    except (AudioError, AsrError) as exc:
        raise fail(str(exc)) from None
    if as_json:
        typer.echo(json.dumps(result.as_dict(), ensure_ascii=False))
    else:
        typer.echo(
            f"{len(result.segments)} segment(s) in {result.duration:.2f} s; "
            f"{result.stats.asr_fraction:.0%} of the audio went to the recognizer"
        )
