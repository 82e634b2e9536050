"""The callbot service: shared resources loaded once, the SIP endpoint, one CallSession per answered call.

``CallbotService(settings).start()`` answers calls until ``shutdown()``; ``callbot serve`` runs it beside the
API. ``python -m callbot.service`` runs the SIP side alone (used by the loopback tests and benchmarks).
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
import time
from collections.abc import Callable

from callbot.call_session import CallSession, SharedResources
from callbot.config import Settings, SettingsError, load_settings
from callbot.private_files import restrict_umask
from callbot.recovery import recover_worker_calls
from callbot.telephony.overflow import Admission, AdmissionPolicy, InviteContext, OperatorDirectory
from callbot.telephony.pjsip import PJSUA_MAX_CALLS, CallControl, IncomingCall, SipEndpoint, SipError

log = logging.getLogger(__name__)

SHUTDOWN_GRACE_S = 15.0  # live calls get this long to say goodbye and file their tickets


class CallbotService:
    """Implements the endpoint's ``CallHandler``: admission, sessions, operator lookup."""

    def __init__(self, settings: Settings, resources: SharedResources | None = None) -> None:
        self.settings = settings
        self.resources = resources if resources is not None else SharedResources.load(settings)
        self.policy = AdmissionPolicy(
            mode=settings.overflow_mode, trusted_peers=settings.trusted_peers,
            max_calls=min(settings.max_calls, PJSUA_MAX_CALLS),
        )
        self.operators = OperatorDirectory(settings.operator_uris, store=self.resources.store.call_log)
        self.endpoint = SipEndpoint(settings, self)
        self._sessions: dict[str, CallSession] = {}  # call id -> session, until its ticket is filed
        self._lock = threading.Lock()  # sessions are added on the SIP thread, read by shutdown()
        self._stopped = threading.Event()

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
        log.info(
            "callbot answering on sip:%s:%s (%s mode, up to %s calls)",
            self.settings.sip_bind, self.settings.sip_port, self.settings.overflow_mode, self.policy.max_calls,
        )

    # --- CallHandler (SIP thread) ------------------------------------------------------------------------
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
        with self._lock:
            self._sessions.clear()

    @staticmethod
    def absorb_exit_signals() -> None:
        """Make SIGTERM/SIGINT plain notifications. uvicorn stops on them and then re-raises the signal it
        caught; with the default handlers that would kill the process before live calls file their tickets."""
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda signum, _frame: log.info("%s: shutting down", signal.Signals(signum).name))

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


def start_service(settings: Settings, echo: Callable[[str], None] = print) -> CallbotService:
    """Load the shared resources, start answering, and say how (``callbot serve`` and ``main`` use this)."""
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    service = CallbotService(settings)
    try:
        service.start()
    except SipError as exc:
        service.resources.store.close()
        raise SipError(f"cannot listen for SIP on {settings.sip_bind}:{settings.sip_port}: {exc}") from exc
    if service.record_only:
        echo(f"callbot: RECORD-ONLY MODE for locale {settings.locale!r} (no speech recognition model): "
             "answers are recorded and tickets flagged 'needs transcription'")
    echo(f"callbot: answering SIP calls on {settings.sip_bind}:{settings.sip_port} (UDP, TCP), "
         f"{settings.overflow_mode} mode, up to {service.policy.max_calls} calls")
    return service


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Run the SIP side of the callbot (settings from CALLBOT_*).")
    parser.add_argument("--config", help="TOML settings file")
    parser.add_argument("--log-level", default="INFO")
    args = parser.parse_args(argv)
    restrict_umask()  # recordings, clips and the journal are the service user's alone
    logging.basicConfig(level=args.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        service = start_service(load_settings(args.config), echo=lambda line: print(line, flush=True))
    except (SipError, SettingsError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print("callbot SIP service ready", flush=True)  # tests wait for this line
    service.wait_for_signal()
    return 0


if __name__ == "__main__":
    sys.exit(main())
