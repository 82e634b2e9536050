"""``callbot campaign create|start|pause|resume|cancel|run|report|list`` and ``callbot dnc add|remove|list|import``."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Annotated

import typer

from callbot.audio import AudioError, read_wav
from callbot.campaign.contacts import ContactFileError, parse_contacts
from callbot.campaign.numbers import InvalidPhoneNumber, normalize_number
from callbot.campaign.report import report_csv, report_json
from callbot.campaign.schedule import (
    DEFAULT_DAYS,
    DEFAULT_WINDOW,
    CallingWindow,
    Pace,
    RetryPolicy,
    RetryRule,
    ScheduleError,
)
from callbot.cli.app import app, fail, settings_from
from callbot.config import Settings
from callbot.private_files import private_dir
from callbot.store import Store, StoreError, open_store
from callbot.store import campaigns as store_campaigns
from callbot.store import do_not_call
from callbot.store.campaigns import NAME_PATTERN, CampaignSpec
from callbot.types import CampaignState

campaign_app = typer.Typer(help="Outbound notification campaigns.", no_args_is_help=True)
dnc_app = typer.Typer(help="The do-not-call list: numbers no campaign calls.", no_args_is_help=True)
app.add_typer(campaign_app, name="campaign")
app.add_typer(dnc_app, name="dnc")

MESSAGE_MAX = 2000
ACTOR = "cli"


def _store(ctx: typer.Context) -> tuple[Settings, Store]:
    settings = settings_from(ctx)
    store = open_store(settings)
    if not store.database.ping():
        store.close()
        raise fail(f"the database is unreachable ({store.database.engine.url.render_as_string(hide_password=True)})")
    return settings, store


def parse_retry(entries: list[str], base: RetryPolicy) -> RetryPolicy:
    """``busy=3/120`` (outcome=attempts/delay seconds), repeatable, over the uniform policy."""
    policy = base
    for entry in entries:
        outcome, _, rule = entry.partition("=")
        attempts, _, delay = rule.partition("/")
        if not (attempts.isdigit() and delay.isdigit()):
            raise ScheduleError(f"--retry {entry!r}: expected OUTCOME=ATTEMPTS/SECONDS, e.g. busy=3/120")
        policy = policy.with_rule(outcome.strip(), RetryRule(int(attempts), int(delay)))
    return policy


@campaign_app.command("create")
def create(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="1-64 letters, digits, '.', '_', '-'.")],
    contacts: Annotated[Path, typer.Option("--contacts", help="CSV: number[,name][,locale] (UTF-8).")],
    message: Annotated[str | None, typer.Option("--message", help="The text spoken with the locale's voice.")] = None,
    audio: Annotated[Path | None, typer.Option("--audio", help="A recorded message (WAV) instead of a text.")] = None,
    locale: Annotated[str, typer.Option("--locale", help="vi | en: the message's language.")] = "vi",
    window: Annotated[str, typer.Option("--window", help="Local calling hours HH:MM-HH:MM.")] = DEFAULT_WINDOW,
    days: Annotated[str, typer.Option("--days", help="Calling days, e.g. mon-fri or mon,wed,fri.")] = DEFAULT_DAYS,
    max_attempts: Annotated[int, typer.Option("--max-attempts", help="Attempts per contact (busy, no answer, "
                                                                     "failed).")] = 3,
    retry_after: Annotated[int, typer.Option("--retry-after", help="Seconds before a retry.")] = 600,
    retry: Annotated[list[str] | None, typer.Option("--retry", help="Per outcome: busy|no_answer|failed="
                                                                    "ATTEMPTS/SECONDS (repeatable).")] = None,
    concurrency: Annotated[int, typer.Option("--concurrency", help="Calls of this campaign at once.")] = 4,
    cps: Annotated[float, typer.Option("--cps", help="New calls per second at most.")] = 1.0,
) -> None:
    """Create a campaign (not started: `callbot campaign start NAME`). Every contact row not taken is listed with
    its line number; numbers on the do-not-call list are kept as do_not_call and never dialled."""
    if (message is None) == (audio is None):
        raise fail("give exactly one of --message TEXT or --audio WAV", 2)
    if locale not in ("vi", "en"):
        raise fail(f"--locale must be vi or en, got {locale!r}", 2)
    if not NAME_PATTERN.fullmatch(name):
        raise fail("a campaign name is 1-64 letters, digits, '.', '_' or '-'", 2)
    if message is not None and not (message.strip() and len(message) <= MESSAGE_MAX and message.isprintable()):
        raise fail(f"--message must be 1-{MESSAGE_MAX} printable characters", 2)
    settings = settings_from(ctx)
    try:
        spec_window = CallingWindow.parse(window, days, settings.campaign_timezone)
        policy = parse_retry(retry or [], RetryPolicy.uniform(max_attempts, retry_after))
        pace = Pace(concurrency, cps)
        parsed = parse_contacts(contacts.read_bytes())
    except (ScheduleError, ContactFileError) as exc:
        raise fail(str(exc), 2) from None
    except OSError as exc:
        raise fail(f"cannot read {contacts}: {exc.strerror}", 2) from None
    audio_path = _keep_recording(settings, name, audio) if audio is not None else None
    _, store = _store(ctx)
    try:
        with store.session() as session:
            campaign = store_campaigns.create_campaign(
                session, spec=CampaignSpec(name, locale, message.strip() if message else None, audio_path,
                                           spec_window, policy, pace),
                contacts=parsed.contacts, problems=parsed.problems, actor=ACTOR)
            report = store_campaigns.campaign_report(session, name=campaign.name)
    except StoreError as exc:
        raise fail(str(exc)) from None
    finally:
        store.close()
    blocked = report.counts["do_not_call"]
    typer.echo(f"campaign {name} created: {report.total} contact(s), {blocked} on the do-not-call list; calls "
               f"{spec_window.describe()}, {pace.concurrency} at once, {pace.cps:g}/s; not started "
               f"(callbot campaign start {name})")
    if parsed.problems:
        typer.echo(f"{len(parsed.problems)} row(s) skipped:")
        for problem in parsed.problems:
            typer.echo(f"  {problem}")


def _keep_recording(settings: Settings, name: str, audio: Path) -> str:
    """The recording, checked readable and copied into the data directory (private), where workers find it."""
    try:
        recorded = read_wav(audio)
    except AudioError as exc:
        raise fail(str(exc), 2) from None
    seconds = len(recorded.pcm) / 2 / recorded.rate
    if not 0.3 <= seconds <= 300:
        raise fail(f"--audio: {seconds:.1f} s; a message is 0.3-300 s long", 2)
    folder = private_dir(settings.data_dir / "campaigns")
    kept = folder / f"{name}.wav"
    shutil.copyfile(audio, kept)
    kept.chmod(0o600)
    return str(kept.resolve())


def _change(ctx: typer.Context, name: str, action: str) -> None:
    settings, store = _store(ctx)
    try:
        with store.session() as session:
            campaign = store_campaigns.change_state(session, name=name, action=action, actor=ACTOR)
            window = store_campaigns.window_of(campaign)
    except StoreError as exc:
        raise fail(str(exc)) from None
    finally:
        store.close()
    typer.echo(f"campaign {name}: {CampaignState(campaign.state).value}")
    if campaign.state == CampaignState.running and not (settings.outbound_proxy and settings.campaigns_in_workers):
        typer.echo("note: the node's workers dial only with CALLBOT_OUTBOUND_PROXY set (and CALLBOT_CAMPAIGNS_IN_"
                   "WORKERS true); or run it here: callbot campaign run " + name, err=True)
    if campaign.state == CampaignState.running:
        typer.echo(f"calling {window.describe()}")


@campaign_app.command("start")
def start(ctx: typer.Context, name: str) -> None:
    """Start a created campaign: the node's workers dial it (inbound calls first)."""
    _change(ctx, name, "start")


@campaign_app.command("pause")
def pause(ctx: typer.Context, name: str) -> None:
    """No new calls (calls in progress finish)."""
    _change(ctx, name, "pause")


@campaign_app.command("resume")
def resume(ctx: typer.Context, name: str) -> None:
    _change(ctx, name, "resume")


@campaign_app.command("cancel")
def cancel(ctx: typer.Context, name: str) -> None:
    """Stop for good: contacts not final stay as they are (calls in progress finish)."""
    _change(ctx, name, "cancel")


@campaign_app.command("run")
def run(
    ctx: typer.Context,
    name: str,
    sip_port: Annotated[int | None, typer.Option("--sip-port", help="Local SIP port (default: a free one).")] = None,
) -> None:
    """Run a campaign in the foreground until every contact is final (starts it if needed). Exit 0 when done,
    3 if it was cancelled meanwhile, 130 when interrupted (run it again to go on)."""
    from callbot.campaign.runner import CampaignRunError, run_campaign

    settings = settings_from(ctx)
    try:
        code = run_campaign(settings, name, echo=lambda line: typer.echo(line), sip_port=sip_port)
    except (CampaignRunError, StoreError) as exc:
        raise fail(str(exc)) from None
    raise typer.Exit(code)


@campaign_app.command("report")
def report(
    ctx: typer.Context,
    name: str,
    as_json: Annotated[bool, typer.Option("--json", help="JSON (the default).")] = False,
    as_csv: Annotated[bool, typer.Option("--csv", help="CSV, one row per contact.")] = False,
) -> None:
    """Each contact's status, attempts, last SIP code, keys pressed and talk time (holds phone numbers)."""
    if as_json and as_csv:
        raise fail("give --json or --csv, not both", 2)
    _, store = _store(ctx)
    try:
        with store.session() as session:
            found = store_campaigns.campaign_report(session, name=name)
    except StoreError as exc:
        raise fail(str(exc)) from None
    finally:
        store.close()
    if as_csv:
        typer.echo(report_csv(found), nl=False)
    else:
        typer.echo(json.dumps(report_json(found), ensure_ascii=False, indent=2))


@campaign_app.command("list")
def list_campaigns(ctx: typer.Context) -> None:
    _, store = _store(ctx)
    try:
        with store.session() as session:
            for campaign, counts in store_campaigns.list_campaigns(session):
                total = sum(counts.values())
                done = total - counts["pending"] - counts["outside_window"]
                typer.echo(f"{campaign.name}\t{CampaignState(campaign.state).value}\t{done}/{total} final\t"
                           f"confirmed {counts['confirmed']}")
    finally:
        store.close()


# --- the do-not-call list ---------------------------------------------------------------------------------------
def _numbers(values: list[str]) -> list[str]:
    try:
        return [normalize_number(value) for value in values]
    except InvalidPhoneNumber as exc:
        raise fail(str(exc), 2) from None


@dnc_app.command("add")
def dnc_add(ctx: typer.Context, numbers: list[str]) -> None:
    """Add numbers (any written form); campaigns never call them, running ones included."""
    normalized = _numbers(numbers)
    _, store = _store(ctx)
    try:
        with store.session() as session:
            added = do_not_call.add_numbers(session, numbers=normalized, actor=ACTOR)
    finally:
        store.close()
    typer.echo(f"{len(added)} number(s) added, {len(normalized) - len(added)} listed already")


@dnc_app.command("import")
def dnc_import(ctx: typer.Context, file: Path) -> None:
    """Add every number of a CSV (first column); bad rows are listed with their line numbers."""
    try:
        parsed = parse_contacts(file.read_bytes())
    except (OSError, ContactFileError) as exc:
        raise fail(f"cannot read {file}: {exc}", 2) from None
    _, store = _store(ctx)
    try:
        with store.session() as session:
            added = do_not_call.add_numbers(session, numbers=[c.number for c in parsed.contacts], actor=ACTOR)
    finally:
        store.close()
    typer.echo(f"{len(added)} number(s) added, {len(parsed.contacts) - len(added)} listed already")
    for problem in parsed.problems:
        typer.echo(f"  skipped {problem}")


@dnc_app.command("remove")
def dnc_remove(ctx: typer.Context, number: str) -> None:
    [normalized] = _numbers([number])
    _, store = _store(ctx)
    try:
        with store.session() as session:
            removed = do_not_call.remove_number(session, number=normalized, actor=ACTOR)
    finally:
        store.close()
    if not removed:
        raise fail("that number is not on the list")
    typer.echo("removed")


@dnc_app.command("list")
def dnc_list(ctx: typer.Context) -> None:
    _, store = _store(ctx)
    try:
        with store.session() as session:
            rows, total = do_not_call.list_numbers(session)
    finally:
        store.close()
    for row in rows:
        typer.echo(f"{row.number}\t{row.added_at:%Y-%m-%d}\t{row.added_by}")
    typer.echo(f"{total} number(s)", err=True)

