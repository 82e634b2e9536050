"""The callbot service: shared resources loaded once, the SIP endpoint, one CallSession per answered call.

``CallbotService(settings).start()`` answers calls until ``shutdown()``. One process of it is a bot worker:
``callbot worker`` runs it behind the Kamailio edge (UDP only, trusting the edge), ``callbot serve --no-edge``
beside the API, ``python -m callbot.service`` alone (the loopback tests and benchmarks). Each reports its
figures to ``<data_dir>/node/workers/<worker_id>.json`` every second (``callbot.node.status``).
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from typing import Literal

from callbot.call.resources import SharedResources
from callbot.call.session import CallSession
from callbot.campaign.dialer import Dialer
from callbot.config import Settings, SettingsError, load_settings
from callbot.node.status import StatusReporter, WorkerStatus, status_path
from callbot.node.supervisor import absorb_exit_signals
from callbot.private_files import restrict_umask
from callbot.recovery import recover_worker_calls
from callbot.telephony.contracts import CallControl, IncomingCall
from callbot.telephony.overflow import Admission, AdmissionPolicy, InviteContext, OperatorDirectory
from callbot.telephony.pjsip import SipEndpoint, SipError

log = logging.getLogger(__name__)

SHUTDOWN_GRACE_S = 15.0  # live calls get this long to say goodbye and file their tickets


class CallbotService:
    """Implements the endpoint's ``CallHandler``: admission, sessions, operator lookup."""

    def __init__(self, settings: Settings, resources: SharedResources | None = None, *, tcp: bool = True) -> None:
        self.settings = settings
        self.worker_id = settings.effective_worker_id
        try:  # before the models load: a bad peer entry is a start-up error naming it
            self.policy = AdmissionPolicy(  # max_calls: the binding's limit, known once the endpoint runs
                mode=settings.overflow_mode, trusted_peers=settings.trusted_peers, max_calls=settings.max_calls or 1,
            )
        except ValueError as exc:
            raise SettingsError(str(exc)) from None
        self.resources = resources if resources is not None else SharedResources.load(settings)
        self.operators = OperatorDirectory(settings.operator_uris, store=self.resources.store.call_log)
        self.endpoint = SipEndpoint(settings, self, tcp=tcp)
        self.status = StatusReporter(status_path(settings, self.worker_id), self._status_snapshot)
        self._started_at = time.time()
        self._state: Literal["running", "draining", "stopped"] = "running"
        self._sessions: dict[str, CallSession] = {}  # call id -> session, until its ticket is filed
        self._lock = threading.Lock()  # sessions are added on the SIP thread, read by shutdown()
        self._stopped = threading.Event()
        self.dialer: Dialer | None = None  # campaigns' calls, when CALLBOT_OUTBOUND_PROXY is set

    @property
    def record_only(self) -> bool:
        return self.resources.record_only(self.settings.locale)

    def start(self) -> None:
        if self.record_only:
            log.warning(
                "RECORD-ONLY MODE: no speech recognition model for locale %r; the bot asks its questions, records "
                "each answer and flags every ticket 'needs transcription'", self.settings.locale
            )
        recover_worker_calls(self.resources.store, self.settings)  # calls left by this worker's killed predecessor
        self.endpoint.start()
        self.policy.max_calls = self.endpoint.call_limit
        if self.settings.outbound_proxy and self.settings.campaigns_in_workers:
            self.dialer = Dialer(settings=self.settings, store=self.resources.store, endpoint=self.endpoint,
                                 resources=self.resources)
            self.dialer.start()
        self.status.start()
        log.info(
            "callbot worker %s answering on sip:%s:%s (%s mode, up to %s calls)", self.worker_id,
            self.settings.sip_bind, self.settings.sip_port, self.settings.overflow_mode, self.policy.max_calls,
        )

    def _status_snapshot(self) -> WorkerStatus:
        stats = self.endpoint.stats()
        return WorkerStatus(
            worker_id=self.worker_id, pid=os.getpid(), sip=f"{self.settings.sip_bind}:{self.settings.sip_port}",
            call_limit=stats.call_limit, active_calls=stats.active_calls, answered=stats.answered,
            rejected=stats.rejected, state=self._state,
            started_at=self._started_at, updated_at=time.time(),
        )

    # --- CallHandler (SIP thread) ------------------------------------------------------------------------
    def is_trusted(self, source: str) -> bool:
        return self.policy.is_trusted(source)

    def admit(self, call: IncomingCall, context: InviteContext) -> Admission:
        return self.policy.decide(context, self.operators.free_operator_uri)

    def create_session(self, call: IncomingCall, control: CallControl) -> CallSession:
        session = CallSession(
            call_id=call.call_id,
            caller_id=call.caller_id,
            locale=self.settings.locale,
            rate=self.settings.call_sample_rate,
            settings=self.settings,
            resources=self.resources,
            control=control,
        )
        with self._lock:
            self._sessions = {key: s for key, s in self._sessions.items() if not s.finished}
            self._sessions[call.call_id] = session
        return session

    def operator_uri_free(self) -> str | None:
        return self.operators.free_operator_uri()

    # --- lifecycle ----------------------------------------------------------------------------------------
    def live_sessions(self) -> list[CallSession]:
        with self._lock:
            return [session for session in self._sessions.values() if not session.finished]

    def shutdown(self, grace_s: float = SHUTDOWN_GRACE_S) -> None:
        """Stop accepting (503), let every live call file its ticket and hang up, then destroy the endpoint."""
        if self._stopped.is_set():
            return
        self._stopped.set()
        self._state = "draining"
        if self.dialer is not None:
            self.dialer.stop_claiming()
        self.endpoint.stop_accepting()
        sessions = self.live_sessions()
        log.info("shutting down: %d live call(s) to wind up", len(sessions))
        for session in sessions:
            session.shutdown("service shutting down")
        deadline = time.monotonic() + grace_s
        for session in sessions:
            if not session.wait(max(0.0, deadline - time.monotonic())):
                log.error("call %s did not finish within %.0f s of shutdown", session.call_id, grace_s)
        self.endpoint.stop(grace_s=5.0)
        if self.dialer is not None:
            self.dialer.stop(timeout=5.0)  # the calls it placed were hung up by the endpoint: settle them
        with self._lock:
            self._sessions.clear()
        self._state = "stopped"
        self.status.stop()

    @staticmethod
    def absorb_exit_signals() -> None:
        """SIGTERM/SIGINT become notifications, so live calls file their tickets before uvicorn's re-raise."""
        absorb_exit_signals()

    def wait_for_signal(self) -> None:
        """Block the main thread until SIGTERM or SIGINT, then shut down gracefully."""
        received = threading.Event()

        def on_signal(signum: int, _frame: object) -> None:
            log.info("received %s", signal.Signals(signum).name)
            received.set()

        previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
        try:
            while not received.wait(0.5):
                pass
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        self.shutdown()


def start_service(settings: Settings, echo: Callable[[str], None] = print, *, tcp: bool = True) -> CallbotService:
    """Load the shared resources, start answering, and say how (``callbot serve``, ``callbot worker`` and
    ``main`` use this)."""
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    service = CallbotService(settings, tcp=tcp)
    try:
        service.start()
    except SipError as exc:
        service.resources.store.close()
        raise SipError(f"cannot listen for SIP on {settings.sip_bind}:{settings.sip_port}: {exc}") from exc
    if service.record_only:
        echo(f"callbot: RECORD-ONLY MODE for locale {settings.locale!r} (no speech recognition model): "
             "answers are recorded and tickets flagged 'needs transcription'")
    echo(f"callbot: answering SIP calls on {settings.sip_bind}:{settings.sip_port} ({'UDP, TCP' if tcp else 'UDP'}), "
         f"{settings.overflow_mode} mode, up to {service.policy.max_calls} calls (worker {service.worker_id})")
    return service


def run_until_signal(settings: Settings, *, tcp: bool) -> int:
    """One bot process until SIGTERM/SIGINT (``callbot worker``, ``python -m callbot.service``)."""
    try:
        service = start_service(settings, echo=lambda line: print(line, flush=True), tcp=tcp)
    except (SipError, SettingsError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print("callbot SIP service ready", flush=True)  # tests wait for this line
    service.wait_for_signal()
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Run the SIP side of the callbot (settings from CALLBOT_*).")
    parser.add_argument("--config", help="TOML settings file")
    parser.add_argument("--log-level", default="INFO")
    parser.add_argument("--udp-only", action="store_true", help="no TCP transport (a worker behind the edge)")
    args = parser.parse_args(argv)
    restrict_umask()  # recordings, clips and the journal are the service user's alone
    logging.basicConfig(level=args.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        settings = load_settings(args.config)
    except SettingsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return run_until_signal(settings, tcp=not args.udp_only)


if __name__ == "__main__":
    sys.exit(main())
