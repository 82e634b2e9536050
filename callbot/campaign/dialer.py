"""The dialer: inside every bot worker (and ``callbot campaign run``), it claims the campaigns' due attempts in the
database while the process has room, and places each through the process's own SIP endpoint.

Room: inbound calls first. A worker keeps ``CALLBOT_OUTBOUND_INBOUND_RESERVE`` call slots free for inbound calls
and places at most ``CALLBOT_OUTBOUND_MAX_CALLS`` calls at once (default: its call limit less the reserve); the
campaign's own concurrency and calls-per-second limits hold node-wide (``callbot.store.campaigns``).
Order of writes: the attempt row is committed when claimed, before the INVITE; the SIP Call-ID, the answer, the
keys and a confirmation are written ahead as they happen; the result is settled when the call is over. An
attempt the endpoint could not place at all is released (never dialled, not counted). Every database write
happens on the dialer's own thread: telephony's callbacks and the call sessions only queue what happened.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import datetime

from callbot.call.resources import SharedResources
from callbot.campaign.dialogue import Message
from callbot.campaign.numbers import dial_string
from callbot.campaign.schedule import sip_outcome
from callbot.campaign.session import OutboundSession
from callbot.config import Settings
from callbot.store import UNREACHABLE, Store
from callbot.store import campaigns as store_campaigns
from callbot.store.campaigns import ClaimedAttempt
from callbot.store.models import utcnow
from callbot.store.workers import Owner
from callbot.telephony.contracts import CallControl, CallPlacer, MediaSession, NotDialled, OutboundCall, OutboundEnd
from callbot.telephony.contracts import sip_host_of
from callbot.types import ContactStatus

log = logging.getLogger(__name__)

POLL_S = 0.2
SWEEP_INTERVAL_S = 30.0  # attempts of dead processes elsewhere in the node are looked for this often
STALE_AFTER_S = 60.0  # a worker whose heartbeat is this old is gone
SESSION_GRACE_S = 10.0  # a session still running this long after its call ended is settled as it stands
STOPPED_NOTE = "the worker stopped during the call"


@dataclass(frozen=True, slots=True)
class Settlement:
    """How an attempt ended; ``status`` None: it was never dialled (released, not counted)."""

    status: ContactStatus | None
    sip_code: int | None = None
    dtmf: str | None = None
    duration_s: float | None = None
    note: str | None = None


@dataclass(eq=False)
class PlacedCall:
    """One attempt from its claim to its settlement; also the endpoint's ``OutboundHandler`` for it (its
    methods run on the SIP thread and only queue what happened)."""

    attempt: ClaimedAttempt
    dialer: Dialer
    future: Future | None = None
    call_id: str | None = None
    session: OutboundSession | None = None
    end: OutboundEnd | None = None
    ended_at: float | None = None  # monotonic
    settled: bool = False
    progress: list[tuple[str, object]] = field(default_factory=list)  # what to write ahead next

    def on_sent(self, call_id: str) -> None:
        self.call_id = call_id
        self.dialer._queue(self, "sent", call_id)

    def on_answered(self, control: CallControl) -> MediaSession:
        attempt = self.attempt
        message = Message(attempt.message_text or "", attempt.audio_path, attempt.message_locale)
        self.session = OutboundSession(
            call_id=self.call_id or f"attempt-{attempt.attempt_id}", locale=attempt.locale, name=attempt.name,
            message=message, settings=self.dialer.settings, resources=self.dialer.resources, control=control,
            on_reply=lambda digits, confirmed: self.dialer._queue(self, "reply", (digits, confirmed)))
        self.dialer._queue(self, "answered", utcnow())
        return self.session

    def on_ended(self, end: OutboundEnd) -> None:
        self.end = end
        self.ended_at = time.monotonic()
        self.dialer._queue(self, "ended", None)


class Dialer:
    def __init__(self, *, settings: Settings, store: Store, endpoint: CallPlacer, resources: SharedResources,
                 campaign: str | None = None, inbound_reserve: int | None = None,
                 clock: Callable[[], datetime] = utcnow, poll_s: float = POLL_S) -> None:
        """``campaign``: dial only this one (``campaign run``); ``clock``: the scheduler's time (the window, the
        retry delays, the pace), injected by tests."""
        self.settings = settings
        self.store = store
        self.endpoint = endpoint
        self.resources = resources
        self.campaign = campaign
        self.inbound_reserve = settings.outbound_inbound_reserve if inbound_reserve is None else inbound_reserve
        self.clock = clock
        self.poll_s = poll_s
        self.worker_id = store.call_log.worker_id
        self.incarnation = store.call_log.incarnation
        self.calls: dict[int, PlacedCall] = {}  # attempt id -> call, until settled
        self.placed = 0
        self.settled = 0
        self._events: queue.SimpleQueue[tuple[PlacedCall, str, object]] = queue.SimpleQueue()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._claiming = True
        self._stopping = False
        self._thread: threading.Thread | None = None
        self._next_sweep = 0.0
        self._rotation = 0
        self._database_down = False

    # --- control --------------------------------------------------------------------------------------------
    def start(self) -> None:
        """Settle what this worker's previous process left open, then dial on a thread of its own."""
        self.sweep(own=True)
        self._thread = threading.Thread(target=self._run, name="dialer", daemon=True)
        self._thread.start()

    def stop_claiming(self) -> None:
        self._claiming = False

    def stop(self, timeout: float = 15.0) -> None:
        """No more claims; wait for the calls in flight to end (the endpoint hangs them up when it stops) and
        settle them; whatever is still open then is settled as stopped (retried by the policy)."""
        self._claiming = False
        self._stopping = True
        deadline = time.monotonic() + timeout
        while self.calls and time.monotonic() < deadline:
            self._wake.set()
            time.sleep(0.05)
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(5)
        self._settle_ready(force=True)

    @property
    def idle(self) -> bool:
        return not self.calls

    # --- the loop -------------------------------------------------------------------------------------------
    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.run_once()
            except Exception:  # the dialer must outlive any one mishap
                log.exception("dialer: a round failed")
            self._wake.wait(self.poll_s)
            self._wake.clear()

    def run_once(self) -> None:
        self._take_events()
        self._settle_ready()
        if time.monotonic() >= self._next_sweep:
            self.sweep(own=False)
        if self._claiming:
            self._claim_and_dial()

    def _queue(self, call: PlacedCall, kind: str, value: object) -> None:
        self._events.put((call, kind, value))
        self._wake.set()

    def room(self) -> int:
        """Calls this process may place now: inbound first (a reserve of slots stays free for them)."""
        limit = self.endpoint.call_limit
        cap = self.settings.outbound_max_calls
        cap = max(0, limit - self.inbound_reserve) if cap is None else cap
        free = limit - self.inbound_reserve - self.endpoint.calls_in_progress
        return max(0, min(cap - self.endpoint.outbound_calls, free))

    def _claim_and_dial(self) -> None:
        room = self.room()
        if room <= 0:
            return
        try:
            with self.store.session() as session:
                campaign_ids = store_campaigns.running_campaign_ids(session, name=self.campaign)
            if not campaign_ids:
                return
            self._rotation += 1
            start = self._rotation % len(campaign_ids)  # campaigns take turns at the first free slot
            for campaign_id in campaign_ids[start:] + campaign_ids[:start]:
                if room <= 0:
                    break
                with self.store.session() as session:
                    claims = store_campaigns.claim_attempts(
                        session, campaign_id=campaign_id, worker_id=self.worker_id, incarnation=self.incarnation,
                        free_slots=room, now=self.clock())
                for claim in claims:
                    self._place(claim)
                    room -= 1
        except UNREACHABLE as exc:
            self._database_failed(exc)
            return
        self._database_down = False

    def _place(self, attempt: ClaimedAttempt) -> None:
        proxy = self.settings.outbound_proxy
        assert proxy is not None  # dialers run only with an outbound proxy
        target = f"sip:{dial_string(attempt.number, self.settings.outbound_number_format)}@{sip_host_of(proxy)}"
        call = PlacedCall(attempt, self)
        self.calls[attempt.attempt_id] = call
        call.future = self.endpoint.dial(OutboundCall(target, self.settings.outbound_ring_timeout_s), call)
        call.future.add_done_callback(lambda _done: self._wake.set())
        self.placed += 1

    # --- what happened to the calls ---------------------------------------------------------------------------
    def _take_events(self) -> None:
        while True:
            try:
                call, kind, value = self._events.get_nowait()
            except queue.Empty:
                break
            call.progress.append((kind, value))
        for call in list(self.calls.values()):
            if call.progress:
                self._write_ahead(call)

    def _write_ahead(self, call: PlacedCall) -> None:
        call_id: str | None = None
        answered_at: datetime | None = None
        reply: tuple[str, bool] | None = None
        for kind, value in call.progress:
            if kind == "sent" and isinstance(value, str):
                call_id = value
            elif kind == "answered" and isinstance(value, datetime):
                answered_at = value
            elif kind == "reply" and isinstance(value, tuple):
                reply = value
        try:
            with self.store.session() as session:
                store_campaigns.note_progress(
                    session, attempt_id=call.attempt.attempt_id, call_id=call_id, answered_at=answered_at,
                    dtmf=(reply[0] or None) if reply else None, confirmed=reply[1] if reply else None)
        except UNREACHABLE as exc:
            self._database_failed(exc)  # kept, written with the next progress or the settlement
            return
        call.progress.clear()

    def _settle_ready(self, force: bool = False) -> None:
        for call in list(self.calls.values()):
            settlement = self._settlement(call, force)
            if settlement is None:
                continue
            try:
                with self.store.session() as session:
                    if settlement.status is None:
                        store_campaigns.release_attempt(session, attempt_id=call.attempt.attempt_id)
                    else:
                        store_campaigns.settle_attempt(
                            session, attempt_id=call.attempt.attempt_id, outcome=settlement.status,
                            sip_code=settlement.sip_code, dtmf=settlement.dtmf, duration_s=settlement.duration_s,
                            now=self.clock(), note=settlement.note)
            except UNREACHABLE as exc:
                self._database_failed(exc)  # tried again next round; recovery settles it if this process dies
                continue
            del self.calls[call.attempt.attempt_id]
            self.settled += 1

    def _settlement(self, call: PlacedCall, force: bool) -> Settlement | None:
        """How the attempt ended, once it is over (None: not yet)."""
        future = call.future
        problem = future.exception() if future is not None and future.done() else None
        if isinstance(problem, NotDialled):
            return Settlement(None)
        if problem is not None:
            return Settlement(ContactStatus.failed, note=str(problem)[:128])
        end = call.end
        if end is None:
            return Settlement(ContactStatus.failed, note=STOPPED_NOTE) if force else None
        if not end.answered:
            status = sip_outcome(end.status_code, ringing=end.ringing, timed_out=end.timed_out)
            return Settlement(status, sip_code=end.status_code)
        session = call.session
        waited = time.monotonic() - (call.ended_at or time.monotonic())
        if session is not None and not session.finished and not force and waited < SESSION_GRACE_S:
            return None
        result = session.result if session is not None else None
        status = result.outcome if result is not None else ContactStatus.answered_no_confirm
        note = None
        if self._stopping and status == ContactStatus.answered_no_confirm:
            status, note = ContactStatus.failed, STOPPED_NOTE  # cut by our own shutdown: called again
        return Settlement(status, 200, (result.dtmf or None) if result else None, round(end.connected_s, 2), note)

    # --- recovery -------------------------------------------------------------------------------------------
    def sweep(self, *, own: bool) -> int:
        """Settle attempts whose process is gone: this worker's earlier incarnations (``own``), or any worker
        that restarted, stopped heartbeating or held an attempt longer than any call lasts."""
        self._next_sweep = time.monotonic() + SWEEP_INTERVAL_S
        lifetime = self.settings.max_call_duration_s + self.settings.outbound_ring_timeout_s
        owner = Owner(worker_id=self.worker_id if own else None, incarnation=self.incarnation,
                      max_call_duration_s=lifetime, stale_after_s=None if own else STALE_AFTER_S)
        try:
            with self.store.session() as session:
                settled = store_campaigns.settle_orphaned_attempts(session, owner=owner, now=self.clock())
        except UNREACHABLE as exc:
            self._database_failed(exc)
            return 0
        if settled:
            log.warning("dialer: settled %d attempt(s) left open by a process that stopped", settled)
        return settled

    def _database_failed(self, exc: Exception) -> None:
        if not self._database_down:
            log.warning("dialer: the database is unreachable (%s); no new campaign calls until it answers",
                        exc.__class__.__name__)
        self._database_down = True
