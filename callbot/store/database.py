"""The database: engine creation, schema migrations (Alembic scripts shipped inside the package) and the one
owner of both, ``Database``, which migrates and seeds once, when the database first answers, and hands out
sessions."""

from __future__ import annotations

import fcntl
import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import event, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.pool import NullPool
from sqlmodel import Session, create_engine, select

from callbot.config import Settings
from callbot.private_files import create_private_file, private_dir, private_opener, tighten
from callbot.store.operators import seed_operators
from callbot.store.units import seed_units

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
MIGRATION_LOCK_KEY = 0x63616C6C626F74  # "callbot": one advisory lock id for schema migrations
# Errors that mean "the database is not there right now" (server down, file unreachable, lost connection).
UNREACHABLE = (OperationalError, InterfaceError)


class NoResultRows(logging.Filter):
    """SQLAlchemy at DEBUG logs every fetched row (a ticket: name, address, phone number); hide_parameters only
    covers what is sent. Statements stay loggable, rows never are."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (isinstance(record.msg, str) and record.msg.startswith("Row "))


def _drop_result_rows_from_logs() -> None:
    engine_log = logging.getLogger("sqlalchemy.engine.Engine")
    if not any(isinstance(f, NoResultRows) for f in engine_log.filters):
        engine_log.addFilter(NoResultRows())


def create_database_engine(url: str) -> Engine:
    """SQLite: WAL, a busy timeout, foreign keys, and a fresh connection per use (so a vanished database
    file is noticed at once instead of writes landing in an unlinked file). PostgreSQL: psycopg 3 with a
    short connect timeout and pre-ping, so a restarted server is picked up again.
    SQL parameters (names, addresses, phone numbers) never reach a log line or an exception message."""
    _drop_result_rows_from_logs()
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        _private_sqlite_file(parsed.database)
        engine = create_engine(url, poolclass=NullPool, connect_args={"timeout": 15, "check_same_thread": False},
                               hide_parameters=True)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return create_engine(
        parsed, pool_pre_ping=True, pool_size=5, max_overflow=10, connect_args={"connect_timeout": 5},
        hide_parameters=True,
    )


def _private_sqlite_file(database: str | None) -> None:
    """The database file is created 0600 before SQLite opens it; SQLite gives its -wal and -shm files the
    database file's permissions. A missing directory stays missing (a vanished volume must be noticed)."""
    if not database or database == ":memory:" or database.startswith("file:"):
        return
    path = Path(database)
    if not path.parent.is_dir():
        return
    if path.exists():
        for existing in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
            tighten(existing)
    else:
        create_private_file(path)


def engine_for_settings(settings: Settings) -> Engine:
    """The engine of settings.effective_database_url; the default SQLite file's directory is created,
    an explicitly configured one must exist (a missing volume must not silently get a fresh database)."""
    if settings.database_url is None:
        private_dir(settings.data_dir)
    return create_database_engine(settings.effective_database_url)


def _sqlite_pragmas(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=15000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def alembic_config(engine: Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["engine"] = engine
    return config


def upgrade_schema(engine: Engine, revision: str = "head") -> None:
    """Bring the schema to ``revision`` (idempotent; a no-op when it is there already). The workers of a node
    may open the database at the same moment: a lock lets one migrate while the others wait."""
    with migration_lock(engine):
        command.upgrade(alembic_config(engine), revision)


@contextmanager
def migration_lock(engine: Engine) -> Iterator[None]:
    """PostgreSQL: a session advisory lock; SQLite: flock on a file beside the database."""
    if engine.dialect.name == "postgresql":
        with engine.connect() as connection:
            connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
            try:
                yield
            finally:
                connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": MIGRATION_LOCK_KEY})
        return
    database = engine.url.database
    if engine.dialect.name != "sqlite" or not database or database == ":memory:":
        yield
        return
    try:
        lock_file = open(f"{database}.migrate.lock", "a", opener=private_opener)  # noqa: SIM115 (held throughout)
    except OSError:  # no directory: the migration itself reports the database unreachable
        yield
        return
    with lock_file:
        fcntl.flock(lock_file, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock_file, fcntl.LOCK_UN)


def head_revision() -> str | None:
    """The newest migration shipped with the package."""
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return ScriptDirectory.from_config(config).get_current_head()


def current_revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


class Database:
    """The engine, and the schema and seed data it must have before any use: the migrations run and the
    responsible units and configured operators are seeded the first time the database answers (at open, or
    later when it was down then). Every session comes from here."""

    def __init__(self, settings: Settings, engine: Engine, *, migrate: bool = True) -> None:
        self.settings = settings
        self.engine = engine
        self._migrate = migrate
        self._ready = False
        self._lock = threading.Lock()
        self._on_ready: list[Callable[[], object]] = []

    def on_ready(self, task: Callable[[], object]) -> None:
        """Run ``task`` when the schema becomes ready (on the thread that made it ready; register before)."""
        self._on_ready.append(task)

    def ensure_ready(self) -> None:
        """Migrate and seed unless done already; raises when the database is unreachable."""
        with self._lock:
            if self._ready:
                return
            if self._migrate:
                upgrade_schema(self.engine)
            with Session(self.engine) as session:
                seed_units(session)
                seed_operators(session, uris=self.settings.operator_uris)
                session.commit()
            self._ready = True
        for task in self._on_ready:
            task()

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session on a ready database (raises if the database is unreachable)."""
        self.ensure_ready()
        with Session(self.engine) as session:
            yield session

    def check(self) -> None:
        """Raise an ``UNREACHABLE`` error unless the database answers right now."""
        with self.session() as session:
            session.exec(select(1)).one()

    def ping(self) -> bool:
        """Whether the database answers right now."""
        try:
            self.check()
        except UNREACHABLE:
            return False
        return True

    def close(self) -> None:
        self.engine.dispose()
