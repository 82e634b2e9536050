"""The SIP endpoint: the only module that imports pjsua2.

One ``SipEndpoint`` per process owns the one ``pj.Endpoint``. Every pjsua2 call happens on its own "sip" thread
(``threadCnt=0``: that thread polls ``libHandleEvents``), so no other Python thread ever touches pjsua2; other
threads (a call session's worker, the service's signal handler) hand it closures through ``_run_on_sip_thread``.
Media callbacks run on pjmedia's clock thread (one for all calls): ``BridgePort`` only moves one frame between
the wire and the call's session there.

Lifetimes (the traps that abort or silence calls): a ``CallRecord`` keeps the Call, its ``BridgePort`` and the
session alive for the whole call; a disconnected call is dropped on a later loop turn, never inside its own
callback, and only once its pjsua call slot is idle (pjsua2's ``~Call`` detaches and hangs up whatever call
holds that slot now); everything is dropped before ``libDestroy``.

Floods: pjsua allocates a call's media sockets before any callback, on a select ioqueue of 64 handles that
keeps each released handle 500 ms. ``RequestGuard`` (``pjsip_native``) refuses untrusted requests and new calls
beyond the media budget statelessly, before pjsua sees them; calls beyond the call limit get pjsua's own
stateless 486.
"""

from __future__ import annotations

import collections
import gc
import logging
import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from urllib.parse import quote

import pjsua2 as pj
from pjsua2 import _pjsua2

from callbot.config import Settings
from callbot.telephony.contracts import CallHandler, IncomingCall, MediaSession, OutboundCall, OutboundEnd
from callbot.telephony.contracts import NotDialled, OutboundHandler, sip_host_of
from callbot.telephony.frame_buffer import read_bytes, write_bytes
from callbot.telephony.overflow import Admission, InviteContext, Verdict, source_host
from callbot.telephony.pjsip_native import SWALLOW, PjsuaLibrary, RequestGuard, RxRequest

log = logging.getLogger(__name__)

POLL_MS = 10  # libHandleEvents timeout: bounds how late a queued command (hangup, transfer) starts
TRANSFER_TIMEOUT_S = 20.0
MAX_DURATION_BACKSTOP_S = 30
# maxCalls asked of pjsua when CALLBOT_MAX_CALLS is unset: pjsua clamps it to its compiled PJSUA_MAX_CALLS (4 in
# the PyPI wheel) and pjsua_call_get_max_count() reports the result. More calls: more workers behind the edge.
MAX_CALLS_REQUEST = 1000
MEDIA_PORTS_SPARE = 8  # conference slots beyond two per call (each call's stream + its bridge port)
# The select ioqueue's PJ_IOQUEUE_MAX_HANDLES (64) less the SIP transports and a few TCP connections; each call's
# media takes two handles (RTP, RTCP), still held PJ_IOQUEUE_KEY_FREE_DELAY (500 ms) after the call is gone.
IOQUEUE_MEDIA_HANDLES = 56
MEDIA_RELEASE_HOLD_S = 1.0  # how long a released call's handles count against the budget (500 ms + margin)
# Preferred codec order: G.711 first at 8 kHz, G.722 first when the bridge runs at 16 kHz; the rest disabled.
CODEC_ORDER = {8000: ("PCMU/8000/1", "PCMA/8000/1", "G722/16000/1"), 16000: ("G722/16000/1", "PCMU/8000/1", "PCMA/8000/1")}


class SipError(RuntimeError):
    """The endpoint could not start (port in use, bad bind address, bad registrar URI)."""


def caller_id_of(remote_uri: str) -> str | None:
    """The user part of a SIP URI ('"Ann" <sip:0912@pbx>' -> '0912'), or None."""
    text = remote_uri
    if "<" in text:
        text = text[text.index("<") + 1 : text.rindex(">")] if ">" in text else text[text.index("<") + 1 :]
    if text.startswith("tel:"):
        return text[4:].split(";", 1)[0] or None
    for scheme in ("sips:", "sip:"):
        if text.startswith(scheme):
            text = text[len(scheme) :]
            break
    user = text.split("@", 1)[0] if "@" in text else ""
    user = user.split(";", 1)[0].split(":", 1)[0]
    return user or None


# --- media bridge ----------------------------------------------------------------------------------------
@dataclass(slots=True)
class BridgeStats:
    """Counters the clock thread updates; read by benchmarks and logs (ints/floats: no lock needed)."""

    frames_in: int = 0
    frames_out: int = 0
    frames_silent_out: int = 0
    callback_seconds: float = 0.0


class BridgePort(pj.AudioMediaPort):
    """A conference port serving one call at a time: the caller's frames go to ``session.push_inbound``, ours
    come from ``pull_outbound``; detached (no session) it plays silence and drops what it hears.

    Ports are pooled and reused, never freed while the bridge is clocked: freeing one queues its removal from
    the conference, but pjmedia's clock thread can call it once more after the Python object is gone (seen as
    a callback on a half-destroyed port, then SIGSEGV)."""

    def __init__(self, frame_bytes: int) -> None:
        super().__init__()
        self.session: MediaSession | None = None
        self.frame_bytes = frame_bytes
        self.stats = BridgeStats()

    def attach(self, session: MediaSession) -> None:
        self.stats = BridgeStats()
        self.session = session

    def detach(self) -> None:
        self.session = None

    def onFrameReceived(self, frame: pj.MediaFrame) -> None:
        started = time.perf_counter()
        session, stats = self.session, self.stats
        if session is not None and frame.type == pj.PJMEDIA_FRAME_TYPE_AUDIO:
            pcm = read_bytes(frame.buf)
            if pcm:
                session.push_inbound(pcm)
                stats.frames_in += 1
        stats.callback_seconds += time.perf_counter() - started

    def onFrameRequested(self, frame: pj.MediaFrame) -> None:
        started = time.perf_counter()
        session = self.session
        pcm = session.pull_outbound() if session is not None else None
        size = frame.size or self.frame_bytes
        if pcm is None:
            pcm = bytes(size)
            self.stats.frames_silent_out += 1
        elif len(pcm) != size:
            pcm = pcm[:size].ljust(size, b"\x00")
        write_bytes(frame.buf, pcm)
        frame.size = size
        frame.type = pj.PJMEDIA_FRAME_TYPE_AUDIO
        self.stats.frames_out += 1
        self.stats.callback_seconds += time.perf_counter() - started


class BridgePortPool:
    """The endpoint's bridge ports (SIP thread only): one per concurrent call, created on demand, reused."""

    def __init__(self, rate: int) -> None:
        self.rate = rate
        self._idle: list[BridgePort] = []
        self._all: list[BridgePort] = []

    def acquire(self, session: MediaSession) -> BridgePort:
        if not self._idle:
            fmt = pj.MediaFormatAudio()
            fmt.init(pj.PJMEDIA_FORMAT_PCM, self.rate, 1, 20000, 16)
            port = BridgePort(frame_bytes=self.rate // 50 * 2)
            port.createPort(f"bridge{len(self._all)}", fmt)
            self._all.append(port)
            log.info("bridge port %d created", len(self._all))
            self._idle.append(port)
        port = self._idle.pop()
        port.attach(session)
        return port

    def release(self, port: BridgePort) -> None:
        port.detach()
        self._idle.append(port)

    def clear(self) -> None:
        """Drop every port: only once the bridge's clock is stopped and before libDestroy."""
        for port in self._all:
            port.detach()
        self._idle.clear()
        self._all.clear()


# --- calls ---------------------------------------------------------------------------------------------
@dataclass(eq=False)
class OutboundState:
    """What a call the bot placed adds to its record: the request, who hears about it, how far it got."""

    request: OutboundCall
    handler: OutboundHandler
    dialed_at: float  # monotonic
    ringing: bool = False  # a 180/183 came
    timed_out: bool = False  # we gave up ringing (CANCEL)


@dataclass(eq=False)
class CallRecord:
    """Everything one call keeps alive until it is reaped (outside any of its own callbacks)."""

    call: BotCall | None  # None once released (after the call ended, on the SIP thread, outside its callbacks)
    incoming: IncomingCall
    session: MediaSession | None = None
    port: BridgePort | None = None
    answered_at: float | None = None  # monotonic
    started: bool = False  # the session's worker runs
    hangup_requested: bool = False
    disconnected: bool = False
    transfer_result: Future | None = None
    dtmf_methods: set[int] = field(default_factory=set)
    outbound: OutboundState | None = None  # a call the bot placed (a campaign's)

    def release(self) -> None:
        """Free the Call and the port now. The session (kept by the service) still references this record
        through its CallControl, so without this the Call could outlive libDestroy and abort the process."""
        if self.call is not None:
            self.call.record = None
        self.call = None
        self.port = None


class BotCall(pj.Call):
    def __init__(self, endpoint: SipEndpoint, account: pj.Account, call_id: int = pj.PJSUA_INVALID_ID) -> None:
        super().__init__(account, call_id)
        self.endpoint = endpoint
        self.record: CallRecord | None = None

    def onCallState(self, prm: pj.OnCallStateParam) -> None:
        info = self.getInfo()
        if info.state == pj.PJSIP_INV_STATE_EARLY and self.record is not None and self.record.outbound is not None:
            self.record.outbound.ringing = True
        elif info.state == pj.PJSIP_INV_STATE_CONFIRMED and self.record is not None:
            self.endpoint._on_confirmed(self.record)
        elif info.state == pj.PJSIP_INV_STATE_DISCONNECTED:
            self.endpoint._media_released_at.append(time.monotonic())  # refused calls had media too
            if self.record is not None:
                self.endpoint._on_disconnected(self.record, info.lastStatusCode)

    def onCallTransferRequest(self, prm: pj.OnCallTransferRequestParam) -> None:
        # The bot transfers (REFER out); it never lets the far end transfer it: that would make the bot dial a
        # URI of the caller's choosing with the caller's details on the line.
        prm.statusCode = 403
        self.endpoint._count_rejection("refer")

    def onCallMediaState(self, prm: pj.OnCallMediaStateParam) -> None:
        if self.record is not None:
            self.endpoint._on_media_state(self.record, self)

    def onDtmfDigit(self, prm: pj.OnDtmfDigitParam) -> None:
        # Once per digit, for RFC 2833 telephone-events and SIP INFO (application/dtmf-relay) alike; onDtmfEvent
        # would also report every key-down/update packet and, when overridden, suppresses this callback.
        if self.record is not None:
            self.endpoint._on_dtmf(self.record, prm.digit, prm.method)

    def onCallTransferStatus(self, prm: pj.OnCallTransferStatusParam) -> None:
        if self.record is not None:
            self.endpoint._on_transfer_status(self.record, prm.statusCode, prm.finalNotify)
        prm.cont = not prm.finalNotify


class BotAccount(pj.Account):
    def __init__(self, endpoint: SipEndpoint) -> None:
        super().__init__()
        self.endpoint = endpoint

    def onIncomingCall(self, prm: pj.OnIncomingCallParam) -> None:
        self.endpoint._on_incoming(self, prm)

    def onRegState(self, prm: pj.OnRegStateParam) -> None:
        log.info("registration: %s %s", prm.code, prm.reason)


class _LogWriter(pj.LogWriter):
    def write(self, entry: pj.LogEntry) -> None:
        level = logging.WARNING if entry.level <= 2 else logging.DEBUG
        log.log(level, "pjsip: %s", entry.msg.rstrip())


class SipCallControl:
    """``CallControl`` for one call: each request runs on the SIP thread; this (worker) thread waits for it."""

    def __init__(self, endpoint: SipEndpoint, record: CallRecord) -> None:
        self._endpoint = endpoint
        self._record = record

    def transfer(self, target_uri: str, headers: dict[str, str]) -> bool:
        result: Future = Future()
        if not self._endpoint._run_on_sip_thread(lambda: self._endpoint._start_transfer(self._record, target_uri, headers, result)):
            return False
        try:
            return bool(result.result(timeout=TRANSFER_TIMEOUT_S))
        except TimeoutError:
            log.warning("transfer of %s to %s timed out", self._record.incoming.call_id, target_uri)
            return False

    def hangup(self) -> None:
        self._endpoint._run_on_sip_thread(lambda: self._endpoint._hangup(self._record))

    def operator_uri_free(self) -> str | None:
        return self._endpoint.handler.operator_uri_free()


# --- the endpoint --------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class EndpointStats:
    call_limit: int
    active_calls: int
    answered: int
    rejected: dict[str, int]  # by reason: untrusted, full, draining, media_budget, refer, or a status code
    redirected: int
    outbound_active: int = 0  # calls the bot placed, ringing or answered
    outbound_placed: int = 0


class SipEndpoint:
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
    def outbound_calls(self) -> int:
        placed = sum(1 for record in list(self._calls.values()) if record.outbound is not None and not record.disconnected)
        return placed + self._dials_pending

    def dial(self, request: OutboundCall, handler: OutboundHandler) -> Future:
        """Place a call (from any thread). The future gives its SIP Call-ID once the INVITE is out, or raises
        SipError when it could not be placed (no outbound proxy, no free call slot, a bad URI, stopping);
        ``handler`` then hears of the answer and the end on the SIP thread."""
        result: Future = Future()
        with self._dials_lock:
            self._dials_pending += 1
        if not self._run_on_sip_thread(lambda: self._dial_or_fail(request, handler, result)):
            with self._dials_lock:
                self._dials_pending -= 1
            result.set_exception(NotDialled("the SIP endpoint is stopping"))
        return result

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
            writer = _LogWriter()
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

    def _create(self, endpoint: pj.Endpoint, writer: _LogWriter) -> BotAccount:
        settings = self.settings
        endpoint.libCreate()
        config = pj.EpConfig()
        config.uaConfig.threadCnt = 0
        config.uaConfig.mainThreadOnly = False
        requested = settings.max_calls or MAX_CALLS_REQUEST
        config.uaConfig.maxCalls = requested  # pjsua answers a stateless 486 beyond it, before allocating media
        config.medConfig.maxMediaPorts = max(config.medConfig.maxMediaPorts, 2 * requested + MEDIA_PORTS_SPARE)
        config.uaConfig.userAgent = "callbot"
        config.logConfig.writer = writer
        config.logConfig.level = 3
        config.logConfig.consoleLevel = 3
        config.logConfig.decor = 0
        config.medConfig.clockRate = self.rate
        config.medConfig.sndClockRate = self.rate
        config.medConfig.audioFramePtime = 20
        config.medConfig.ptime = 20
        config.medConfig.noVad = True  # keep sending RTP during silence: the caller's side hears steady audio
        config.medConfig.ecTailLen = 0
        endpoint.libInit(config)
        self._library = PjsuaLibrary(_pjsua2.__file__)
        self.call_limit = self._library.call_limit()
        if settings.max_calls and settings.max_calls > self.call_limit:
            log.warning("CALLBOT_MAX_CALLS=%d but this pjsua2 build carries at most %d calls per process (its "
                        "PJSUA_MAX_CALLS); run more workers behind the edge for more", settings.max_calls,
                        self.call_limit)
        for transport in (pj.PJSIP_TRANSPORT_UDP, pj.PJSIP_TRANSPORT_TCP)[: 2 if self.tcp else 1]:
            transport_config = pj.TransportConfig()
            transport_config.port = settings.sip_port
            transport_config.boundAddress = settings.sip_bind
            endpoint.transportCreate(transport, transport_config)
        endpoint.libStart()
        self._guard = RequestGuard(self._library, every_request=self._screen_source, initial_invite=self._screen_new_call)
        self._guard.register()
        endpoint.audDevManager().setNullDev()
        self._set_codec_priorities(endpoint)
        account = BotAccount(self)
        account.create(self._account_config(), True)
        if settings.outbound_proxy:
            self._outbound_account = BotAccount(self)
            self._outbound_account.create(self._outbound_account_config(settings.outbound_proxy), False)
        return account

    def _set_codec_priorities(self, endpoint: pj.Endpoint) -> None:
        order = CODEC_ORDER[self.rate]
        for codec in endpoint.codecEnum2():
            priority = 255 - 10 * order.index(codec.codecId) if codec.codecId in order else 0
            endpoint.codecSetPriority(codec.codecId, priority)

    def _account_config(self) -> pj.AccountConfig:
        settings = self.settings
        config = pj.AccountConfig()
        config.mediaConfig.transportConfig.boundAddress = settings.sip_bind
        if settings.sip_registrar:
            host = settings.sip_registrar.split(":", 1)[1] if settings.sip_registrar.startswith("sip") else settings.sip_registrar
            user = settings.sip_username or "callbot"
            config.idUri = f"sip:{user}@{host}"
            config.regConfig.registrarUri = settings.sip_registrar
            if settings.sip_username:
                config.sipConfig.authCreds.append(pj.AuthCredInfo("digest", "*", settings.sip_username, 0, settings.sip_password or ""))
        else:
            config.idUri = f"sip:callbot@{settings.sip_bind}:{settings.sip_port}"
            config.regConfig.registerOnAdd = False
        return config

    def _outbound_account_config(self, proxy: str) -> pj.AccountConfig:
        """Campaign calls: From the hotline's number at the PBX, through ``CALLBOT_OUTBOUND_ROUTE`` (the node's
        edge) when set, answering the PBX's digest challenge with the SIP credentials when they are set."""
        settings = self.settings
        config = pj.AccountConfig()
        user = settings.outbound_caller_id or settings.sip_username or "callbot"
        config.idUri = f"sip:{user}@{sip_host_of(proxy)}"
        config.regConfig.registerOnAdd = False
        config.mediaConfig.transportConfig.boundAddress = settings.sip_bind
        if settings.outbound_route:
            route = settings.outbound_route if ";lr" in settings.outbound_route else f"{settings.outbound_route};lr"
            config.sipConfig.proxies.append(route)
        if settings.sip_username:
            config.sipConfig.authCreds.append(pj.AuthCredInfo("digest", "*", settings.sip_username, 0,
                                                              settings.sip_password or ""))
        return config

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

    # the request guard (SIP thread, inside libHandleEvents, before pjsua sees the request) ------------------
    def _screen_source(self, request: RxRequest) -> int | None:
        """Every request, in-dialog ones included: from an untrusted source -> 403 (an ACK is dropped)."""
        if self.handler.is_trusted(request.source_host):
            return None
        self._count_rejection("untrusted")
        return SWALLOW if request.method == "ACK" else 403

    def _screen_new_call(self, request: RxRequest) -> int | None:
        """A new INVITE from a trusted source: refused statelessly when it could not be answered anyway
        (draining, every call slot taken) or when its media could exhaust the ioqueue."""
        if request.method != "INVITE":
            return None
        if not self._accepting or self._stop.is_set():
            self._count_rejection("draining")
            return 503
        assert self._library is not None
        in_pjsua = self._library.call_count()
        if in_pjsua >= self.call_limit:
            self._count_rejection("full")
            return 486
        now = time.monotonic()
        released = self._media_released_at
        while released and now - released[0] > MEDIA_RELEASE_HOLD_S:
            released.popleft()
        if 2 * (in_pjsua + len(released) + 1) > IOQUEUE_MEDIA_HANDLES:
            self._count_rejection("media_budget")
            return 503
        return None

    def _count_rejection(self, reason: str) -> None:
        self._rejected[reason] = self._rejected.get(reason, 0) + 1

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

    def _outbound_ended(self, record: CallRecord, status: int | None) -> None:
        outbound = record.outbound
        assert outbound is not None
        connected = time.monotonic() - record.answered_at if record.answered_at is not None else 0.0
        if outbound.timed_out and record.answered_at is None and (status is None or status < 300):
            status = 487  # our CANCEL ended the INVITE; pjsua reports the CANCEL's own 200 as the last status
        end = OutboundEnd(status_code=status, ringing=outbound.ringing, timed_out=outbound.timed_out,
                          answered=record.answered_at is not None, connected_s=connected)
        try:
            outbound.handler.on_ended(end)
        except Exception:
            log.exception("the dialer failed on the end of %s", record.incoming.call_id)

    def _dial_or_fail(self, request: OutboundCall, handler: OutboundHandler, result: Future) -> None:
        with self._dials_lock:
            self._dials_pending -= 1
        try:
            self._dial(request, handler, result)
        except Exception as exc:
            if not result.done():
                result.set_exception(SipError(f"the call could not be placed: {exc!r}"))
            raise

    def _dial(self, request: OutboundCall, handler: OutboundHandler, result: Future) -> None:
        account = self._outbound_account
        if account is None:
            result.set_exception(SipError("outbound calls need CALLBOT_OUTBOUND_PROXY"))
            return
        if not self._accepting or self._stop.is_set():
            result.set_exception(NotDialled("the SIP endpoint is stopping"))
            return
        if self._library is not None and self._library.call_count() >= self.call_limit:
            result.set_exception(NotDialled("no free call slot"))
            return
        call = BotCall(self, account)
        record = CallRecord(call=call, incoming=IncomingCall(call_id="", source="", remote_uri=request.target_uri,
                                                             caller_id=None),
                            outbound=OutboundState(request, handler, time.monotonic()))
        call.record = record
        op = pj.CallOpParam(True)
        op.opt.audioCount = 1
        op.opt.videoCount = 0
        try:
            call.makeCall(request.target_uri, op)
        except pj.Error as exc:
            call.record = None
            self._finished.append(record)
            result.set_exception(SipError(f"the call could not be placed: {exc.info().strip()}"))
            return
        info = call.getInfo()
        record.incoming = IncomingCall(call_id=info.callIdString, source="", remote_uri=request.target_uri,
                                       caller_id=None)
        self._outbound_placed += 1
        if not record.disconnected:
            self._calls[info.id] = record
        log.info("INVITE %s placed (campaign call)", info.callIdString)  # the number is citizen data: not logged
        try:
            handler.on_sent(info.callIdString)
        finally:
            result.set_result(info.callIdString)

    def _enforce_ring_timeouts(self) -> None:
        """A placed call still unanswered after its ring timeout is given up (CANCEL): no answer."""
        now = time.monotonic()
        for record in list(self._calls.values()):
            outbound = record.outbound
            if (outbound is not None and record.answered_at is None and not outbound.timed_out
                    and not record.disconnected and now - outbound.dialed_at > outbound.request.ring_timeout_s):
                outbound.timed_out = True
                self._hangup(record)

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


def with_uri_headers(uri: str, headers: dict[str, str]) -> str:
    """``sip:op@pbx`` + {"X-Callbot-Ticket": "12345678"} -> ``sip:op@pbx?X-Callbot-Ticket=12345678``: headers in
    the Refer-To URI reach the transfer target in the INVITE the transferee sends (RFC 3515 section 2.1)."""
    if not headers:
        return uri
    query = "&".join(f"{quote(name, safe='-')}={quote(value, safe='')}" for name, value in headers.items())
    bare = uri[1:-1] if uri.startswith("<") and uri.endswith(">") else uri
    separator = "&" if "?" in bare else "?"
    return f"<{bare}{separator}{query}>"


def binding_call_limit(requested: int = MAX_CALLS_REQUEST) -> int:
    """What this pjsua2 binding grants of ``requested`` calls per process. It creates and destroys the process's
    one Endpoint, so run it in a process of its own (``callbot.cli.serve_commands.probe_call_limit`` does)."""
    endpoint = pj.Endpoint()
    endpoint.libCreate()
    try:
        config = pj.EpConfig()
        config.uaConfig.threadCnt = 0
        config.uaConfig.maxCalls = requested
        config.logConfig.level = 0
        config.logConfig.consoleLevel = 0
        endpoint.libInit(config)
        return PjsuaLibrary(_pjsua2.__file__).call_limit()
    finally:
        endpoint.libDestroy()
