"""Tuning commands: ``callbot fixtures export`` (a real call -> a regression case), and the audio side of
``callbot eval`` (``run_eval_command``: ``--asr``, ``--html``, ``--baseline``, ``--jobs``, ``--progress``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from callbot.cli.app import app, fail, settings_from
from callbot.config import Settings

fixtures_app = typer.Typer(help="Audio fixtures for callbot eval.", no_args_is_help=True)
app.add_typer(fixtures_app, name="fixtures")


def run_eval_command(
    settings: Settings,
    files: list[Path],
    *,
    as_json: bool = False,
    verbose: bool = False,
    asr: str | None = None,
    html: Path | None = None,
    baseline: Path | None = None,
    wer_tolerance: float | None = None,
    jobs: int | None = None,
    progress: bool | None = None,
) -> int:
    """Run the scripts (text and audio turns), print the report, write the HTML; returns the exit code:
    0 all pass and nothing got worse than the baseline, 1 a case fails or regressed, 2 bad input."""
    from callbot.evaluation import MalformedEvalFile
    from callbot.tuning.baseline import WER_TOLERANCE, compare, load_baseline
    from callbot.tuning.html_report import write_html
    from callbot.tuning.runner import AsrUnavailable, run_tuning

    if jobs is not None and jobs < 1:
        raise fail("--jobs must be at least 1", 2)
    if wer_tolerance is not None and not 0 <= wer_tolerance <= 1:
        raise fail("--wer-tolerance must be from 0 to 1", 2)
    try:
        previous = load_baseline(baseline) if baseline is not None else None
        report = run_tuning(files, settings, asr=asr, jobs=jobs, progress=progress)
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
    return report.exit_code()


@fixtures_app.command("export")
def export_command(
    ctx: typer.Context,
    ticket: Annotated[str, typer.Argument(help="Ticket number (NNNN-NNNN or 8 digits).")],
    out_dir: Annotated[Path, typer.Option("--out", "-o", help="Folder for the script and its WAVs.")],
) -> None:
    """Cut a real call's recording into one WAV per caller turn and write a conversation script whose
    `expect` holds the ticket's (corrected) values: a supervisor's correction becomes a regression case."""
    from callbot.store import TicketStore
    from callbot.tuning.export import PRIVACY_NOTICE, ExportError, export_ticket

    settings = settings_from(ctx)
    store = TicketStore.open(settings)
    try:
        result = export_ticket(store, settings, ticket, out_dir)
    except ExportError as exc:
        raise fail(str(exc), 2) from None
    finally:
        store.close()
    typer.echo(f"wrote {result.script} and {len(result.wavs)} caller clip(s) in {out_dir / 'answers'}")
    for problem in result.skipped:
        typer.echo(f"skipped {problem}", err=True)
    typer.echo(f"NOTICE: {PRIVACY_NOTICE}")
    typer.echo(f"replay it with: callbot eval {result.script}")
