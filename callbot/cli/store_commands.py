"""Store commands: ``callbot users``, ``tokens``, ``tickets replay-journal|recover``, ``db upgrade``, ``retention``."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from callbot.cli.app import app, fail, settings_from
from callbot.recovery import STALE_AFTER_S, recover_any_dead_calls
from callbot.store import AccountError, Role, TicketStore, format_ticket_number
from callbot.store.journal import TicketJournal
from callbot.store.ticket_store import ReplayReport
from callbot.store.database import current_revision, engine_for_settings, upgrade_schema

users_app = typer.Typer(help="Supervisors' UI accounts.", no_args_is_help=True)
tokens_app = typer.Typer(help="API tokens for machines (PBX/ACD, monitoring).", no_args_is_help=True)
tickets_app = typer.Typer(help="Tickets.", no_args_is_help=True)
db_app = typer.Typer(help="The database schema.", no_args_is_help=True)
app.add_typer(users_app, name="users")
app.add_typer(tokens_app, name="tokens")
app.add_typer(tickets_app, name="tickets")
app.add_typer(db_app, name="db")

ROLE_NAMES = ", ".join(r.value for r in Role)


def _open_store(ctx: typer.Context) -> TicketStore:
    settings = settings_from(ctx)
    store = TicketStore.open(settings)
    if not store.ping():
        raise fail(f"the database is unreachable ({store.engine.url.render_as_string(hide_password=True)})")
    return store


def _role(value: str) -> Role:
    try:
        return Role(value)
    except ValueError:
        raise fail(f"--role must be one of {ROLE_NAMES}, got {value!r}", code=2) from None


@users_app.command("add")
def users_add(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The user name to log in with.")],
    role: Annotated[str, typer.Option("--role", help=f"One of {ROLE_NAMES}.")] = "supervisor",
    password_stdin: Annotated[bool, typer.Option("--password-stdin", help="Read the password from stdin.")] = False,
) -> None:
    """Create a user (the first one: `callbot users add admin --role admin`). Asks for the password unless
    --password-stdin is given."""
    chosen = _role(role)
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    store = _open_store(ctx)
    try:
        user = store.accounts.create_user(username=name, password=password, role=chosen)
    except AccountError as exc:
        raise fail(str(exc)) from None
    store.audit(actor="cli", action="user.create", target_type="user", target_id=str(user.id),
                new_value=f"{user.username} ({user.role.value})")
    typer.echo(f"created user {user.username} with role {user.role.value}")


@users_app.command("list")
def users_list(ctx: typer.Context) -> None:
    """List the users and their roles."""
    for user in _open_store(ctx).accounts.list_users():
        typer.echo(f"{user.username}\t{user.role.value}\t{'active' if user.active else 'disabled'}")


@tokens_app.command("add")
def tokens_add(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="What uses the token, e.g. pbx.")],
    role: Annotated[str, typer.Option("--role", help=f"One of {ROLE_NAMES}.")] = "engineer",
) -> None:
    """Create an API token (printed once; only its hash is stored). Send it as `Authorization: Bearer ...`."""
    chosen = _role(role)
    store = _open_store(ctx)
    token = store.accounts.create_token(name=name, role=chosen)
    store.audit(actor="cli", action="token.create", target_type="token", target_id=name, new_value=chosen.value)
    typer.echo(token)


@tickets_app.command("replay-journal")
def replay_journal(ctx: typer.Context) -> None:
    """Move calls journaled while the database was unreachable into the database (also done at start and in
    the background as soon as it answers). Malformed lines are kept aside in <data_dir>/journal/quarantine/."""
    store = _open_store(ctx)  # opening replays already: reported below with the rest
    try:
        store.replay_journal()
    finally:
        store.close()
    _print_replay(store.replayed, store.journal)
    remaining = len(store.journal.pending_files())
    typer.echo(f"{store.replayed.replayed_calls} call(s) replayed, {remaining} still journaled")
    if remaining:
        raise typer.Exit(1)


@tickets_app.command("recover")
def recover(
    ctx: typer.Context,
    stale_after: Annotated[float, typer.Option(
        "--stale-after", min=10, help="Seconds without a heartbeat after which a worker counts as dead.")] = STALE_AFTER_S,
) -> None:
    """File the calls whose worker process died: replay the journal, import unfiled drafts, and give every call
    without an end whose process is gone exactly one partial ticket (reason crashed) with what it captured, its
    recording (repaired) and clips. Calls a live worker is answering are left alone; running it again files
    nothing twice. Every worker does this for its own calls when it starts."""
    store = _open_store(ctx)
    try:
        report = recover_any_dead_calls(store, settings_from(ctx), stale_after_s=stale_after)
    finally:
        store.close()
    _print_replay(report.replayed, store.journal)
    for number in report.imported:
        typer.echo(f"imported unfiled ticket {format_ticket_number(number)}")
    for name in report.bad_unfiled:
        typer.echo(f"unreadable unfiled draft kept aside: {name}")
    for number in report.recovered:
        typer.echo(f"filed partial ticket {format_ticket_number(number)} for a crashed call")
    typer.echo(report.summary())
    if report.failed:
        raise fail(f"{report.failed} call(s) could not be recovered (see the log); run it again")


def _print_replay(report: ReplayReport, journal: TicketJournal) -> None:
    for number in report.tickets:
        typer.echo(f"replayed ticket {format_ticket_number(number)}")
    for line in report.bad_lines:
        typer.echo(f"bad journal line kept aside in {journal.quarantine_dir}: {line}")
    if kept := journal.quarantined_lines():
        typer.echo(f"{kept} malformed journal line(s) kept in {journal.quarantine_dir} (never replayed)")


@db_app.command("upgrade")
def db_upgrade(ctx: typer.Context) -> None:
    """Apply the schema migrations (also done whenever the service starts)."""
    engine = engine_for_settings(settings_from(ctx))
    try:
        upgrade_schema(engine)
        revision = current_revision(engine)
    except Exception as exc:  # noqa: BLE001  (any driver error: report it plainly)
        raise fail(f"cannot upgrade the database: {exc.__class__.__name__}: {exc}") from None
    finally:
        engine.dispose()
    typer.echo(f"database schema at revision {revision}")


@app.command("retention")
def retention(
    ctx: typer.Context,
    days: Annotated[int, typer.Option("--days", min=1, help="Delete recordings of calls older than this.")],
) -> None:
    """Delete call recordings older than N days (files removed, paths cleared, each deletion audit-logged)."""
    deleted = _open_store(ctx).delete_recordings_older_than(days=days, actor="cli:retention")
    typer.echo(f"deleted {deleted} recording(s) older than {days} day(s)")
