"""One call's objects on the SIP side: the record that keeps a call alive until it is reaped, pjsua2's Call and
Account subclasses (their callbacks hand everything to the ``SipEndpoint``), and the ``CallControl`` a call
session uses from its own thread."""

from __future__ import annotations

import logging
import time
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from urllib.parse import quote

import pjsua2 as pj

from callbot.telephony.contracts import IncomingCall, MediaSession, OutboundCall, OutboundHandler
from callbot.telephony.pjsip.media import BridgePort

if TYPE_CHECKING:
    from callbot.telephony.pjsip.endpoint import SipEndpoint

log = logging.getLogger(__name__)

TRANSFER_TIMEOUT_S = 20.0


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



def with_uri_headers(uri: str, headers: dict[str, str]) -> str:
    """``sip:op@pbx`` + {"X-Callbot-Ticket": "12345678"} -> ``sip:op@pbx?X-Callbot-Ticket=12345678``: headers in
    the Refer-To URI reach the transfer target in the INVITE the transferee sends (RFC 3515 section 2.1)."""
    if not headers:
        return uri
    query = "&".join(f"{quote(name, safe='-')}={quote(value, safe='')}" for name, value in headers.items())
    bare = uri[1:-1] if uri.startswith("<") and uri.endswith(">") else uri
    separator = "&" if "?" in bare else "?"
    return f"<{bare}{separator}{query}>"


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


class LogWriter(pj.LogWriter):
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


