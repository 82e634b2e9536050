"""Store commands: ``callbot users``, ``tokens``, ``tickets replay-journal|recover``, ``db upgrade``, ``retention``."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from callbot.cli.app import app, fail, settings_from
from callbot.recovery import STALE_AFTER_S, recover_any_dead_calls
from callbot.store import AccountError, ReplayReport, Role, Store, audit, format_ticket_number, open_store
from callbot.store.database import current_revision, engine_for_settings, upgrade_schema
from callbot.store.journal import TicketJournal
from callbot.store.models import utcnow
from callbot.store.retention import apply_retention

users_app = typer.Typer(help="Supervisors' UI accounts.", no_args_is_help=True)
tokens_app = typer.Typer(help="API tokens for machines (PBX/ACD, monitoring).", no_args_is_help=True)
tickets_app = typer.Typer(help="Tickets.", no_args_is_help=True)
db_app = typer.Typer(help="The database schema.", no_args_is_help=True)
app.add_typer(users_app, name="users")
app.add_typer(tokens_app, name="tokens")
app.add_typer(tickets_app, name="tickets")
app.add_typer(db_app, name="db")

ROLE_NAMES = ", ".join(r.value for r in Role)


def _open_store(ctx: typer.Context) -> Store:
    settings = settings_from(ctx)
    store = open_store(settings)
    if not store.database.ping():
        raise fail(f"the database is unreachable ({store.database.engine.url.render_as_string(hide_password=True)})")
    return store


def _audit(store: Store, *, action: str, target_type: str, target_id: str, new_value: str) -> None:
    """An administrator's change made from the command line, audit-logged as the actor ``cli``."""
    with store.session() as session:
        audit.record_entry(session, actor="cli", action=action, target_type=target_type, target_id=target_id,
                           new_value=new_value)


def _role(value: str) -> Role:
    try:
        return Role(value)
    except ValueError:
        raise fail(f"--role must be one of {ROLE_NAMES}, got {value!r}", code=2) from None


PasswordStdin = Annotated[bool, typer.Option("--password-stdin", help="Read the password from stdin.")]


def _password(from_stdin: bool, prompt: str) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return typer.prompt(prompt, hide_input=True, confirmation_prompt=True)


@users_app.command("add")
def users_add(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The user name to log in with.")],
    role: Annotated[str, typer.Option("--role", help=f"One of {ROLE_NAMES}.")] = "supervisor",
    password_stdin: PasswordStdin = False,
) -> None:
    """Create a user (the first one: `callbot users add admin --role admin`). Asks for the password unless
    --password-stdin is given."""
    chosen = _role(role)
    password = _password(password_stdin, "Password")
    store = _open_store(ctx)
    try:
        user = store.accounts.create_user(username=name, password=password, role=chosen)
    except AccountError as exc:
        raise fail(str(exc)) from None
    _audit(store, action="user.create", target_type="user", target_id=str(user.id),
           new_value=f"{user.username} ({user.role.value})")
    typer.echo(f"created user {user.username} with role {user.role.value}")


@users_app.command("list")
def users_list(ctx: typer.Context) -> None:
    """List the users and their roles."""
    for user in _open_store(ctx).accounts.list_users():
        typer.echo(f"{user.username}\t{user.role.value}\t{'active' if user.active else 'disabled'}")


def _set_active(ctx: typer.Context, name: str, active: bool) -> None:
    store = _open_store(ctx)
    try:
        ended = store.accounts.set_active(username=name, active=active)
    except AccountError as exc:
        raise fail(str(exc)) from None
    action = "user.enable" if active else "user.disable"
    _audit(store, action=action, target_type="user", target_id=name[:128],
           new_value="active" if active else f"disabled, {ended} session(s) ended")
    typer.echo(f"user {name} enabled" if active else f"user {name} disabled; {ended} session(s) ended")


@users_app.command("disable")
def users_disable(ctx: typer.Context, name: Annotated[str, typer.Argument(help="The user name.")]) -> None:
    """Disable a user: no more logins, and every open session of theirs ends at once."""
    _set_active(ctx, name, active=False)


@users_app.command("enable")
def users_enable(ctx: typer.Context, name: Annotated[str, typer.Argument(help="The user name.")]) -> None:
    """Enable a disabled user again (also lifts a login lockout)."""
    _set_active(ctx, name, active=True)


@users_app.command("password")
def users_password(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The user name.")],
    password_stdin: PasswordStdin = False,
) -> None:
    """Set a user's password; every session of that user ends (log in again with the new one)."""
    password = _password(password_stdin, "New password")
    store = _open_store(ctx)
    try:
        ended = store.accounts.set_password(username=name, password=password)
    except AccountError as exc:
        raise fail(str(exc)) from None
    _audit(store, action="user.password", target_type="user", target_id=name[:128],
           new_value=f"{ended} session(s) ended")
    typer.echo(f"password of {name} changed; {ended} session(s) ended")


@tokens_app.command("add")
def tokens_add(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="What uses the token, e.g. pbx.")],
    role: Annotated[str, typer.Option("--role", help=f"One of {ROLE_NAMES}. Default: monitor, the least "
                                                     "privileged (statistics only); the PBX/ACD gets pbx.")] = "monitor",
) -> None:
    """Create an API token (printed once; only its hash is stored). Send it as `Authorization: Bearer ...`."""
    chosen = _role(role)
    store = _open_store(ctx)
    try:
        token = store.accounts.create_token(name=name, role=chosen)
    except AccountError as exc:
        raise fail(str(exc)) from None
    _audit(store, action="token.create", target_type="token", target_id=name, new_value=chosen.value)
    typer.echo(token)


@tokens_app.command("list")
def tokens_list(ctx: typer.Context) -> None:
    """List the tokens: id, name, role, created, revoked (never the token itself: only its hash is kept)."""
    for token in _open_store(ctx).accounts.list_tokens():
        revoked = f"revoked {token.revoked_at:%Y-%m-%d %H:%M}" if token.revoked_at else "active"
        typer.echo(f"{token.id}\t{token.name}\t{token.role.value}\t{token.created_at:%Y-%m-%d %H:%M}\t{revoked}")


@tokens_app.command("revoke")
def tokens_revoke(
    ctx: typer.Context,
    name_or_id: Annotated[str, typer.Argument(help="A token's id (from `tokens list`), or a name: every live "
                                                   "token with that name.")],
) -> None:
    """Revoke tokens: they authenticate nothing from the next request on."""
    store = _open_store(ctx)
    revoked = store.accounts.revoke_tokens(name_or_id)
    if not revoked:
        raise fail(f"no live token with id or name {name_or_id!r}")
    for token in revoked:
        _audit(store, action="token.revoke", target_type="token", target_id=str(token.id), new_value=token.name)
        typer.echo(f"revoked token {token.id} ({token.name}, {token.role.value})")


@tickets_app.command("replay-journal")
def replay_journal(ctx: typer.Context) -> None:
    """Move calls journaled while the database was unreachable into the database (also done at start and in
    the background as soon as it answers). Malformed lines are kept aside in <data_dir>/journal/quarantine/."""
    store = _open_store(ctx)  # opening replays already: reported below with the rest
    call_log = store.call_log
    try:
        call_log.replay_journal()
    finally:
        store.close()
    _print_replay(call_log.replayed, call_log.journal)
    remaining = len(call_log.journal.pending_files())
    typer.echo(f"{call_log.replayed.replayed_calls} call(s) replayed, {remaining} still journaled")
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
    _print_replay(report.replayed, store.call_log.journal)
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
    days: Annotated[int, typer.Option("--days", min=1, help="Delete what is older than this many days.")],
) -> None:
    """Delete recordings, answer clips, orphaned audio files and transcripts older than N days (each deletion
    and the counts audit-logged; tickets keep their slots, their clip lists are emptied)."""
    store = _open_store(ctx)
    with store.session() as session:
        report = apply_retention(session, settings=store.settings, days=days, actor="cli:retention", now=utcnow())
    typer.echo(f"older than {days} day(s): deleted {report.recordings} recording(s), {report.clips} clip(s) of "
               f"{report.clip_tickets} ticket(s), {report.orphans} orphaned file(s); blanked the transcripts of "
               f"{report.transcripts} call(s) ({report.turns} turns)")
