"""``open_store(settings)``: what a process needs of the store, opened in one place. The ``Database`` (engine,
migrations, seed data, sessions), the ``CallLog`` (a live call's writes, journaled when the database is down)
and the ``Accounts`` (users, tokens, browser sessions); everything else is a function of a session
(``callbot.store.tickets``, ``calls``, ``operators``, ``audit``, ``stats``, ``retention``)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from sqlmodel import Session

from callbot.config import Settings
from callbot.store.accounts import Accounts
from callbot.store.call_log import DATABASE_RETRY_INTERVAL_S, CallLog
from callbot.store.database import Database, engine_for_settings
from callbot.store.journal import TicketJournal
from callbot.store.maintenance import JOURNAL_CHECK_INTERVAL_S


@dataclass(frozen=True, slots=True)
class Store:
    settings: Settings
    database: Database
    call_log: CallLog
    accounts: Accounts

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session for reads and supervisor edits (raises if the database is unreachable)."""
        with self.database.session() as session:
            yield session

    def close(self) -> None:
        self.call_log.close()
        self.database.close()


def open_store(settings: Settings, *, migrate: bool = True,
               retry_interval_s: float = DATABASE_RETRY_INTERVAL_S,
               check_interval_s: float = JOURNAL_CHECK_INTERVAL_S) -> Store:
    """Connect, migrate, seed the responsible units and operators, replay the journal. A database that is down
    at open is not fatal: calls are journaled and all of this is done as soon as it answers."""
    database = Database(settings, engine_for_settings(settings), migrate=migrate)
    journal = TicketJournal(settings.data_dir / "journal")
    call_log = CallLog(settings=settings, database=database, journal=journal, retry_interval_s=retry_interval_s,
                       check_interval_s=check_interval_s)
    call_log.start()
    return Store(settings=settings, database=database, call_log=call_log, accounts=Accounts(database.engine))
