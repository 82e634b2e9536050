"""Calls the bot places (a campaign's): dialled on the SIP thread from the outbound account, given up after the
ring timeout, their answer and end reported to the dialer's ``OutboundHandler``. A part of ``SipEndpoint``."""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from typing import TYPE_CHECKING, cast

import pjsua2 as pj

from callbot.telephony.contracts import IncomingCall, NotDialled, OutboundCall, OutboundEnd, OutboundHandler
from callbot.telephony.pjsip.calls import BotAccount, BotCall, CallRecord, OutboundState
from callbot.telephony.pjsip.library import SipError
from callbot.telephony.pjsip_native import PjsuaLibrary

if TYPE_CHECKING:
    from callbot.telephony.pjsip.endpoint import SipEndpoint

log = logging.getLogger(__name__)


class OutboundCalls:
    """The outbound half of ``SipEndpoint`` (which owns the state below and runs these on its SIP thread)."""

    _calls: dict[int, CallRecord]
    _finished: list[CallRecord]
    _commands: queue.SimpleQueue[Callable[[], None]]
    _dials_lock: threading.Lock
    _dials_pending: int
    _outbound_placed: int
    _outbound_account: BotAccount | None
    _library: PjsuaLibrary | None
    _accepting: bool
    _stop: threading.Event
    call_limit: int

    def _run_on_sip_thread(self, command: Callable[[], None]) -> bool:
        raise NotImplementedError

    def _hangup(self, record: CallRecord) -> None:
        raise NotImplementedError

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
        call = BotCall(cast("SipEndpoint", self), account)
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

