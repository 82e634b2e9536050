"""``SipEndpoint``: the process's one pjsua2 Endpoint, its SIP thread, the request guard's screening, and the
inbound calls' life (answer or refuse, media, DTMF, transfer, hang-up, reaping)."""

from __future__ import annotations

import collections
import gc
import logging
import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass

import pjsua2 as pj

from callbot.config import Settings
from callbot.telephony.contracts import CallHandler, IncomingCall
from callbot.telephony.overflow import Admission, InviteContext, RefusalLog, Verdict, source_host
from callbot.telephony.pjsip.calls import BotAccount, BotCall, CallRecord, LogWriter, SipCallControl, caller_id_of
from callbot.telephony.pjsip.calls import with_uri_headers
from callbot.telephony.pjsip.library import SipError, account_config, create_transports, endpoint_config
from callbot.telephony.pjsip.library import native_library, outbound_account_config, set_codec_priorities
from callbot.telephony.pjsip.media import BridgePortPool, BridgeStats
from callbot.telephony.pjsip.outbound import OutboundCalls
from callbot.telephony.pjsip.screening import IOQUEUE_MEDIA_HANDLES, RequestScreening
from callbot.telephony.pjsip_native import PjsuaLibrary, RequestGuard

log = logging.getLogger(__name__)

POLL_MS = 10  # libHandleEvents timeout: bounds how late a queued command (hangup, transfer) starts
MAX_DURATION_BACKSTOP_S = 30

@dataclass(frozen=True, slots=True)
class EndpointStats:
    call_limit: int
    active_calls: int
    answered: int
    rejected: dict[str, int]  # by reason: untrusted, full, draining, media_budget, refer, or a status code
    redirected: int
    outbound_active: int = 0  # calls the bot placed, ringing or answered
    outbound_placed: int = 0


class SipEndpoint(RequestScreening, OutboundCalls):
    def __init__(self, settings: Settings, handler: CallHandler, *, tcp: bool = True) -> None:
        """``tcp=False`` for a worker behind the edge: the edge talks UDP to it, and every accepted TCP
        connection would take one of the ioqueue's 64 handles before any SIP is read."""
        self.settings = settings
        self.handler = handler
        self.tcp = tcp
        self.rate = settings.call_sample_rate
        self._commands: queue.SimpleQueue[Callable[[], None]] = queue.SimpleQueue()
        self._calls: dict[int, CallRecord] = {}  # pjsua call index -> record (SIP thread only)
        self._finished: list[CallRecord] = []  # disconnected or rejected, dropped on the next loop turn
        self._ports = BridgePortPool(self.rate)
        self._retired_calls: list[BotCall] = []  # ended, freed once their pjsua slot is idle (SIP thread only)
        self._media_released_at: collections.deque[float] = collections.deque(maxlen=4 * IOQUEUE_MEDIA_HANDLES)
        self._library: PjsuaLibrary | None = None
        self._guard: RequestGuard | None = None
        self._outbound_account: BotAccount | None = None  # campaigns' calls leave from it (CALLBOT_OUTBOUND_PROXY)
        self._dials_lock = threading.Lock()
        self._dials_pending = 0  # dial() requests not yet carried out on the SIP thread
        self._outbound_placed = 0
        self.call_limit = 0  # known once started: what the pjsua2 binding grants of CALLBOT_MAX_CALLS
        self._answered = 0
        self._redirected = 0
        self._rejected: dict[str, int] = {}
        self._refusals = RefusalLog(time.monotonic)
        self._accepting = True
        self._stop = threading.Event()
        self._ready = threading.Event()
        self._start_error: BaseException | None = None
        self._thread: threading.Thread | None = None
        self._drain_deadline: float | None = None

    # public API (any thread) -------------------------------------------------------------------------------
    def start(self, timeout: float = 10.0) -> None:
        """Start the SIP thread; returns once both transports listen, raises SipError if they cannot."""
        self._thread = threading.Thread(target=self._run, name="sip", daemon=True)
        self._thread.start()
        if not self._ready.wait(timeout):
            raise SipError("the SIP endpoint did not start in time")
        if self._start_error is not None:
            raise SipError(str(self._start_error)) from self._start_error

    def stop_accepting(self) -> None:
        """New INVITEs get 503 from now on; live calls carry on."""
        self._accepting = False

    def stop(self, grace_s: float = 10.0) -> None:
        """Graceful shutdown: refuse new calls (503), hang up live ones (their sessions get ``on_hangup`` and
        file their tickets), wait up to ``grace_s`` for the BYEs to complete, then destroy the library."""
        self._drain_deadline = time.monotonic() + grace_s
        self._stop.set()
        if self._thread is not None:
            self._thread.join(grace_s + 10.0)

    def stats(self) -> EndpointStats:
        return EndpointStats(
            call_limit=self.call_limit,
            active_calls=self.active_calls,
            answered=self._answered,
            rejected=dict(self._rejected),
            redirected=self._redirected,
            outbound_active=self.outbound_calls,
            outbound_placed=self._outbound_placed,
        )

    @property
    def calls_in_progress(self) -> int:
        """Every call holding a pjsua slot (answered inbound, placed outbound) and the dials on their way."""
        return len(self._calls) + self._dials_pending

    @property
    def active_calls(self) -> int:
        return sum(1 for record in list(self._calls.values()) if record.session is not None and not record.disconnected)

    def bridge_stats(self) -> list[BridgeStats]:
        return [record.port.stats for record in list(self._calls.values()) if record.port is not None]

    # the SIP thread ------------------------------------------------------------------------------------
    def _run(self) -> None:
        endpoint = pj.Endpoint()
        account: BotAccount | None = None
        try:
            writer = LogWriter()
            account = self._create(endpoint, writer)
        except pj.Error as exc:  # SWIG's pj.Error has an empty str(); its info() says what failed
            self._start_error = SipError(exc.info().strip())
            self._ready.set()
            self._destroy(endpoint, account)
            return
        except Exception as exc:  # noqa: BLE001 (reported to start())
            self._start_error = exc
            self._ready.set()
            self._destroy(endpoint, account)
            return
        self._ready.set()
        log.info("SIP listening on %s:%s (%s), %s Hz bridge, %d calls at most", self.settings.sip_bind,
                 self.settings.sip_port, "UDP, TCP" if self.tcp else "UDP", self.rate, self.call_limit)
        try:
            while not self._stop.is_set():
                self._turn(endpoint)
            self._drain(endpoint)
        finally:
            self._destroy(endpoint, account)
            del writer

    def _turn(self, endpoint: pj.Endpoint) -> None:
        endpoint.libHandleEvents(POLL_MS)
        self._enforce_ring_timeouts()
        self._release_finished()
        while True:
            try:
                command = self._commands.get_nowait()
            except queue.Empty:
                break
            try:
                command()
            except Exception:
                log.exception("SIP command failed")
        self._enforce_max_duration()

    def _release_finished(self) -> None:
        """Outside every callback: release ports now, and Call objects whose pjsua slot is idle.

        pjsua2's ``~Call`` clears the user data of the slot its ``id`` names and hangs up the call active there.
        pjsua reuses a slot as soon as its call is gone, so an ended Call freed after a new INVITE took its slot
        would detach that new call from its Call object (no more callbacks: no hangup seen, no ticket) and send
        it a BYE right after its 200 OK (issue 11). ``isActive()`` asks pjsua about the slot itself."""
        for record in self._finished:
            if record.port is not None:
                self._ports.release(record.port)
            if record.call is not None:
                self._retired_calls.append(record.call)
            record.release()
        self._finished.clear()
        if self._retired_calls:
            self._retired_calls = [call for call in self._retired_calls if call.isActive()]

    def _drain(self, endpoint: pj.Endpoint) -> None:
        self._accepting = False
        for record in list(self._calls.values()):
            self._hangup(record)
        deadline = self._drain_deadline or time.monotonic() + 10.0
        while self._calls and time.monotonic() < deadline:
            self._turn(endpoint)

    def _create(self, endpoint: pj.Endpoint, writer: LogWriter) -> BotAccount:
        settings = self.settings
        endpoint.libCreate()
        endpoint.libInit(endpoint_config(settings, self.rate, writer))
        self._library = native_library()
        self.call_limit = self._library.call_limit()
        if settings.max_calls and settings.max_calls > self.call_limit:
            log.warning("CALLBOT_MAX_CALLS=%d but this pjsua2 build carries at most %d calls per process (its "
                        "PJSUA_MAX_CALLS); run more workers behind the edge for more", settings.max_calls,
                        self.call_limit)
        create_transports(endpoint, settings, self.tcp)
        endpoint.libStart()
        self._guard = RequestGuard(self._library, every_request=self._screen_source, initial_invite=self._screen_new_call)
        self._guard.register()
        endpoint.audDevManager().setNullDev()
        set_codec_priorities(endpoint, self.rate)
        account = BotAccount(self)
        account.create(account_config(settings), True)
        if settings.outbound_proxy:
            self._outbound_account = BotAccount(self)
            self._outbound_account.create(outbound_account_config(settings, settings.outbound_proxy), False)
        return account

    def _destroy(self, endpoint: pj.Endpoint, account: BotAccount | None) -> None:
        # Drop every Call and port before the library goes: a Call freed after libDestroy aborts the process.
        self._finished.extend(self._calls.values())
        self._calls.clear()
        self._release_finished()
        # Stop the bridge's clock before freeing its ports, so no media callback can reach a freed one.
        try:
            endpoint.audDevManager().setNoDev()
        except pj.Error:
            pass
        self._ports.clear()
        self._retired_calls.clear()
        gc.collect()
        if self._guard is not None and self._guard.active:
            self._guard.unregister()
        for held in (self._outbound_account, account):
            if held is not None:
                try:
                    held.shutdown()
                except pj.Error:
                    pass
        self._outbound_account = None
        del account
        try:
            endpoint.libDestroy()
        except pj.Error:
            log.exception("libDestroy failed")
        log.info("SIP endpoint stopped")

    def _run_on_sip_thread(self, command: Callable[[], None]) -> bool:
        if self._stop.is_set() and self._drain_deadline is not None and time.monotonic() > self._drain_deadline:
            return False
        self._commands.put(command)
        return True

    # callbacks and commands (SIP thread) -------------------------------------------------------------------
    def _on_incoming(self, account: BotAccount, prm: pj.OnIncomingCallParam) -> None:
        call = BotCall(self, account, prm.callId)
        info = call.getInfo()
        incoming = IncomingCall(
            call_id=info.callIdString,
            source=prm.rdata.srcAddress,
            remote_uri=info.remoteUri,
            caller_id=caller_id_of(info.remoteUri),
        )
        record = CallRecord(call=call, incoming=incoming)
        context = InviteContext(source=incoming.source, active_calls=self.active_calls, accepting=self._accepting and not self._stop.is_set())
        try:
            admission = self.handler.admit(incoming, context)
        except Exception:
            log.exception("admission failed for %s", incoming.call_id)
            admission = Admission(Verdict.reject, 503, "admission error")
        # call id and source host only: the From URI carries the caller's number (citizen data, never logged)
        log.info("INVITE %s from %s: %s %s", incoming.call_id, source_host(incoming.source), admission.status_code,
                 admission.reason)
        if admission.verdict is Verdict.answer:
            self._answer(record, call, prm.callId)
        else:
            self._refuse(record, call, admission)

    def _refuse(self, record: CallRecord, call: BotCall, admission: Admission) -> None:
        op = pj.CallOpParam()
        op.statusCode = admission.status_code
        op.reason = admission.reason
        if admission.verdict is Verdict.redirect and admission.target_uri:
            header = pj.SipHeader()
            header.hName = "Contact"
            header.hValue = f"<{admission.target_uri}>"
            op.txOption.headers.append(header)
            self._redirected += 1
        else:
            self._count_rejection(str(admission.status_code))
        try:
            (call.answer if admission.verdict is Verdict.redirect else call.hangup)(op)
        except pj.Error as exc:
            log.warning("could not send %s: %s", admission.status_code, exc.info())
        self._finished.append(record)

    def _answer(self, record: CallRecord, call: BotCall, index: int) -> None:
        control = SipCallControl(self, record)
        try:
            record.session = self.handler.create_session(record.incoming, control)
        except Exception:
            log.exception("could not create a session for %s", record.incoming.call_id)
            self._refuse(record, call, Admission(Verdict.reject, 503, "session error"))
            return
        call.record = record
        self._calls[index] = record
        op = pj.CallOpParam()
        op.statusCode = 200
        call.answer(op)
        record.answered_at = time.monotonic()
        self._answered += 1

    def _on_confirmed(self, record: CallRecord) -> None:
        outbound = record.outbound
        if outbound is not None and record.session is None:  # the callee answered the bot's call
            record.answered_at = time.monotonic()
            try:
                record.session = outbound.handler.on_answered(SipCallControl(self, record))
            except Exception:
                log.exception("no session for the answered call %s", record.incoming.call_id)
                self._hangup(record)
                return
            if record.call is not None:
                self._on_media_state(record, record.call)  # its media may have come up before the answer
        self._start_session(record)

    def _start_session(self, record: CallRecord) -> None:
        if record.session is not None and not record.started:
            record.started = True
            record.session.start()

    def _on_media_state(self, record: CallRecord, call: BotCall) -> None:
        if record.port is not None or record.session is None:
            return
        info = call.getInfo()
        for media in info.media:
            if media.type == pj.PJMEDIA_TYPE_AUDIO and media.status == pj.PJSUA_CALL_MEDIA_ACTIVE:
                audio = call.getAudioMedia(media.index)
                record.port = self._ports.acquire(record.session)
                audio.startTransmit(record.port)
                record.port.startTransmit(audio)
                return

    def _on_dtmf(self, record: CallRecord, digit: str, method: int) -> None:
        record.dtmf_methods.add(method)
        if record.session is not None and not record.disconnected:
            record.session.on_dtmf(digit)

    def _on_transfer_status(self, record: CallRecord, status: int, final: bool) -> None:
        log.info("transfer of %s: %s%s", record.incoming.call_id, status, " (final)" if final else "")
        if record.transfer_result is None or record.transfer_result.done():
            return
        if 200 <= status < 300 and final:
            record.transfer_result.set_result(True)
        elif status >= 300:
            record.transfer_result.set_result(False)

    def _on_disconnected(self, record: CallRecord, status: int) -> None:
        if record.disconnected:
            return
        record.disconnected = True
        log.info("call %s ended (%s)", record.incoming.call_id, status)
        if record.port is not None:
            stats = record.port.stats
            frames = stats.frames_in + stats.frames_out
            log.info(
                "call %s bridge: %d frames in, %d out (%d silent), %.1f us per callback",
                record.incoming.call_id, stats.frames_in, stats.frames_out, stats.frames_silent_out,
                stats.callback_seconds / frames * 1e6 if frames else 0.0,
            )
        if record.transfer_result is not None and not record.transfer_result.done():
            record.transfer_result.set_result(False)
        index = next((key for key, value in self._calls.items() if value is record), None)
        if index is not None:
            del self._calls[index]
        if record.session is not None:
            try:
                self._start_session(record)  # a caller gone before the ACK still leaves a (partial) ticket
                record.session.on_hangup()
            except Exception:
                log.exception("session hangup handler failed for %s", record.incoming.call_id)
        if record.outbound is not None:
            self._outbound_ended(record, status)
        self._finished.append(record)  # released on the next loop turn, not inside this callback


    def _start_transfer(self, record: CallRecord, target_uri: str, headers: dict[str, str], result: Future) -> None:
        call = record.call
        if record.disconnected or call is None:
            result.set_result(False)
            return
        record.transfer_result = result
        op = pj.CallOpParam()
        for name, value in headers.items():
            header = pj.SipHeader()
            header.hName = name
            header.hValue = value
            op.txOption.headers.append(header)
        try:
            call.xfer(with_uri_headers(target_uri, headers), op)
        except pj.Error as exc:
            log.warning("REFER to %s failed: %s", target_uri, exc.info())
            result.set_result(False)

    def _hangup(self, record: CallRecord) -> None:
        call = record.call
        if record.disconnected or record.hangup_requested or call is None:
            return
        record.hangup_requested = True
        op = pj.CallOpParam()
        op.statusCode = 200
        try:
            call.hangup(op)
        except pj.Error as exc:
            log.warning("hangup of %s failed: %s", record.incoming.call_id, exc.info())

    def _enforce_max_duration(self) -> None:
        # The session winds a call up at max_call_duration_s (goodbye, ticket); this is the backstop if it cannot.
        limit = self.settings.max_call_duration_s + MAX_DURATION_BACKSTOP_S
        now = time.monotonic()
        for record in list(self._calls.values()):
            if record.answered_at is not None and not record.hangup_requested and now - record.answered_at > limit:
                log.info("call %s reached the %s s limit; hanging up", record.incoming.call_id, limit)
                self._hangup(record)

