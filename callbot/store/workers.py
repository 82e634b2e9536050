"""Which process owns which call. Several workers (on several machines) share one database: each registers
its incarnation (one per process start) under its stable worker id and heartbeats; every call row carries
the worker id and incarnation that run it. Recovery asks here which calls without an end belong to no live
process, so it never touches a call that another process is still answering.
"""

from __future__ import annotations

import logging
import os
import socket
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session, col, select

from callbot.store.models import Call, Worker, as_utc

log = logging.getLogger(__name__)

HEARTBEAT_INTERVAL_S = 5.0
# A call started longer ago than the longest call allowed plus this is over, whichever process ran it.
CALL_LIFETIME_MARGIN_S = 300.0


@dataclass(frozen=True, slots=True)
class Owner:
    """The process that recovers: a worker (its own earlier incarnations are dead by definition, since one
    worker id runs one process at a time) or a command (``worker_id`` None), which trusts heartbeats only
    when ``stale_after_s`` is given."""

    worker_id: str | None
    incarnation: str | None
    max_call_duration_s: float
    stale_after_s: float | None = None
    spared_incarnations: frozenset[str] = frozenset()  # looked alive at registration: never touched


def register(session: Session, *, worker_id: str, incarnation: str, now: datetime,
             stale_after_s: float) -> frozenset[str]:
    """Make ``incarnation`` the worker's current one. Returns the previous incarnation when it still looks
    alive (same host and its pid runs, or another host that heartbeat recently): two processes are using one
    worker id, and recovery must leave that one's calls alone."""
    row = session.get(Worker, worker_id)
    spared: frozenset[str] = frozenset()
    host, pid = socket.gethostname(), os.getpid()
    if row is not None and row.incarnation != incarnation and _looks_alive(row, host, now, stale_after_s):
        log.error("worker id %s is also used by pid %s on %s: its calls are left alone; give every worker "
                  "its own CALLBOT_WORKER_ID", worker_id, row.pid, row.hostname)
        spared = frozenset({row.incarnation})
    if row is None:
        row = Worker(worker_id=worker_id, incarnation=incarnation, hostname=host, pid=pid, started_at=now,
                     heartbeat_at=now)
    else:
        row.incarnation, row.hostname, row.pid, row.started_at, row.heartbeat_at = incarnation, host, pid, now, now
    session.add(row)
    session.commit()
    return spared


def heartbeat(session: Session, *, worker_id: str, incarnation: str, now: datetime) -> bool:
    """False when another incarnation has taken the worker id over since."""
    row = session.get(Worker, worker_id)
    if row is None or row.incarnation != incarnation:
        return False
    row.heartbeat_at = now
    session.add(row)
    session.commit()
    return True


def orphaned_calls(session: Session, owner: Owner, now: datetime) -> tuple[list[Call], int]:
    """Calls without an end whose process is gone, and how many were left alone as (possibly) live."""
    calls = session.exec(select(Call).where(col(Call.ended_at).is_(None)).order_by(col(Call.started_at))).all()
    workers = all_workers(session)
    orphaned = [call for call in calls if _orphaned(call, workers, owner, now)]
    return orphaned, len(calls) - len(orphaned)


def _orphaned(call: Call, workers: dict[str, Worker], owner: Owner, now: datetime) -> bool:
    return process_gone(call.worker_id, call.incarnation, call.started_at, workers, owner, now)


def process_gone(worker_id: str | None, incarnation: str | None, started_at: datetime, workers: dict[str, Worker],
                 owner: Owner, now: datetime) -> bool:
    """Whether the process that ran something (a call, a campaign's attempt) started at ``started_at`` by
    ``worker_id``'s ``incarnation`` is gone, as ``owner`` can tell."""
    if incarnation is not None and incarnation in owner.spared_incarnations:
        return False
    if incarnation is not None and incarnation == owner.incarnation:
        return False  # our own live call
    if owner.worker_id is not None and worker_id == owner.worker_id:
        return True  # an earlier incarnation of this worker
    lifetime = timedelta(seconds=owner.max_call_duration_s + CALL_LIFETIME_MARGIN_S)
    if as_utc(started_at) < now - lifetime:
        return True  # no process keeps a call this long
    row = workers.get(worker_id or "")
    if row is None:
        return False  # an owner never seen: only time proves the call is over
    if row.incarnation != incarnation:
        return True  # its worker has restarted since: the process that ran the call is gone
    return owner.stale_after_s is not None and as_utc(row.heartbeat_at) < now - timedelta(seconds=owner.stale_after_s)


def all_workers(session: Session) -> dict[str, Worker]:
    return {w.worker_id: w for w in session.exec(select(Worker)).all()}


def _looks_alive(row: Worker, host: str, now: datetime, stale_after_s: float) -> bool:
    if row.hostname == host:
        if row.pid == os.getpid():
            return False
        try:
            os.kill(row.pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True
    return as_utc(row.heartbeat_at) >= now - timedelta(seconds=stale_after_s)
