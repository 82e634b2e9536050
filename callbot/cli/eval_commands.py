"""Evaluation commands: ``callbot eval`` (conversation scripts, text and audio turns) and ``callbot fixtures
export`` (a real call -> a regression case). The work is done in ``callbot.eval``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from callbot.cli.app import app, fail, settings_from

fixtures_app = typer.Typer(help="Audio fixtures for callbot eval.", no_args_is_help=True)
app.add_typer(fixtures_app, name="fixtures")


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
    from callbot.eval.baseline import WER_TOLERANCE, compare, load_baseline
    from callbot.eval.html import write_html
    from callbot.eval.runner import AsrUnavailable, run_eval
    from callbot.eval.script import MalformedEvalFile

    settings = settings_from(ctx)
    if jobs is not None and jobs < 1:
        raise fail("--jobs must be at least 1", 2)
    if wer_tolerance is not None and not 0 <= wer_tolerance <= 1:
        raise fail("--wer-tolerance must be from 0 to 1", 2)
    try:
        previous = load_baseline(baseline) if baseline is not None else None
        report = run_eval(files, settings, asr=asr, jobs=jobs, progress=progress)
    except MalformedEvalFile as exc:
        raise fail(str(exc), 2) from None
    except AsrUnavailable as exc:
        raise fail(f"speech recognition: {exc}", 2) from None
    if previous is not None:
        report.changes = compare(report, previous, WER_TOLERANCE if wer_tolerance is None else wer_tolerance)
        report.baseline = str(baseline)
    if as_json:
        typer.echo(json.dumps(report.as_json(), ensure_ascii=False, indent=2))
    else:
        typer.echo(report.as_text(verbose))
    if html is not None:
        written = write_html(report, html)
        typer.echo(f"HTML report: {written}", err=as_json)
    raise typer.Exit(report.exit_code())


@fixtures_app.command("export")
def export_command(
    ctx: typer.Context,
    ticket: Annotated[str, typer.Argument(help="Ticket number (NNNN-NNNN or 8 digits).")],
    out_dir: Annotated[Path, typer.Option("--out", "-o", help="Folder for the script and its WAVs.")],
) -> None:
    """Cut a real call's recording into one WAV per caller turn and write a conversation script whose
    `expect` holds the ticket's (corrected) values: a supervisor's correction becomes a regression case."""
    from callbot.eval.export import PRIVACY_NOTICE, ExportError, export_ticket
    from callbot.store import open_store

    settings = settings_from(ctx)
    store = open_store(settings)
    try:
        with store.session() as session:
            result = export_ticket(session, settings, ticket, out_dir)
    except ExportError as exc:
        raise fail(str(exc), 2) from None
    finally:
        store.close()
    typer.echo(f"wrote {result.script} and {len(result.wavs)} caller clip(s) in {out_dir / 'answers'}")
    for problem in result.skipped:
        typer.echo(f"skipped {problem}", err=True)
    typer.echo(f"NOTICE: {PRIVACY_NOTICE}")
    typer.echo(f"replay it with: callbot eval {result.script}")
