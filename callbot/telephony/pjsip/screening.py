"""The request guard's screening (SIP thread, inside libHandleEvents, before pjsua sees a request): untrusted
sources get 403 (in-dialog requests too), a new INVITE that could not be answered anyway (draining, every call
slot taken, recognizers behind real time) or whose media could exhaust the ioqueue is refused statelessly.
A part of ``SipEndpoint``; every refusal is counted and logged without the caller's number."""

from __future__ import annotations

import collections
import threading
import time

from callbot.telephony.contracts import CallHandler
from callbot.telephony.overflow import RefusalLog
from callbot.telephony.pjsip_native import SWALLOW, PjsuaLibrary, RxRequest

# The select ioqueue's PJ_IOQUEUE_MAX_HANDLES (64) less the SIP transports and a few TCP connections; each call's
# media takes two handles (RTP, RTCP), still held PJ_IOQUEUE_KEY_FREE_DELAY (500 ms) after the call is gone.
IOQUEUE_MEDIA_HANDLES = 56
MEDIA_RELEASE_HOLD_S = 1.0  # how long a released call's handles count against the budget (500 ms + margin)


class RequestScreening:
    """The screening half of ``SipEndpoint`` (which owns the state below)."""

    handler: CallHandler
    call_limit: int
    _library: PjsuaLibrary | None
    _accepting: bool
    _stop: threading.Event
    _rejected: dict[str, int]
    _refusals: RefusalLog
    _media_released_at: collections.deque[float]

    # the request guard (SIP thread, inside libHandleEvents, before pjsua sees the request) ------------------
    def _screen_source(self, request: RxRequest) -> int | None:
        """Every request, in-dialog ones included: from an untrusted source -> 403 (an ACK is dropped)."""
        if self.handler.is_trusted(request.source_host):
            return None
        self._count_rejection("untrusted")
        if request.method == "ACK":
            return SWALLOW
        self._refusals.refused(request.method, request.call_id, request.source_host, 403, "untrusted source")
        return 403

    def _screen_new_call(self, request: RxRequest) -> int | None:
        """A new INVITE from a trusted source: refused statelessly when it could not be answered anyway
        (draining, every call slot taken) or when its media could exhaust the ioqueue."""
        if request.method != "INVITE":
            return None
        if not self._accepting or self._stop.is_set():
            return self._refuse_new_call(request, 503, "draining")
        assert self._library is not None
        in_pjsua = self._library.call_count()
        if in_pjsua >= self.call_limit:
            return self._refuse_new_call(request, 486, "full")
        if self.handler.asr_behind():  # full in CPU, not in slots: the edge fails over to the next worker
            return self._refuse_new_call(request, 486, "asr_behind")
        now = time.monotonic()
        released = self._media_released_at
        while released and now - released[0] > MEDIA_RELEASE_HOLD_S:
            released.popleft()
        if 2 * (in_pjsua + len(released) + 1) > IOQUEUE_MEDIA_HANDLES:
            return self._refuse_new_call(request, 503, "media_budget")
        return None

    def _count_rejection(self, reason: str) -> None:
        self._rejected[reason] = self._rejected.get(reason, 0) + 1

    def _refuse_new_call(self, request: RxRequest, status_code: int, reason: str) -> int:
        self._count_rejection(reason)
        self._refusals.refused(request.method, request.call_id, request.source_host, status_code, reason)
        return status_code
