"""What telephony and the call runtime promise each other, defined once (no pjsua2 here).

The SIP endpoint (``callbot.telephony.pjsip``) feeds each answered call's ``MediaSession`` (the call runtime's
``CallSession``) and gives it a ``CallControl``; the service is the endpoint's ``CallHandler``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from callbot.telephony.overflow import Admission, InviteContext

TICKET_HEADER = "X-Callbot-Ticket"  # carries the ticket number to the operator a call is transferred to


class CallControl(Protocol):
    """What a call session may ask of telephony (called from the session's worker thread). Telephony logs its
    own failures: these never raise, and a transfer that did not happen returns False."""

    def transfer(self, target_uri: str, headers: dict[str, str]) -> bool: ...

    def hangup(self) -> None: ...

    def operator_uri_free(self) -> str | None: ...


class MediaSession(Protocol):
    """The per-call runtime the endpoint feeds (``callbot.call.session.CallSession`` implements it)."""

    def push_inbound(self, pcm: bytes) -> None: ...

    def pull_outbound(self) -> bytes | None: ...

    def on_dtmf(self, digit: str) -> None: ...

    def on_hangup(self) -> None: ...

    def start(self) -> None: ...


@dataclass(frozen=True, slots=True)
class IncomingCall:
    """What the service learns about an INVITE before deciding."""

    call_id: str  # the SIP Call-ID: the product's call id
    source: str  # transport source "host:port"
    remote_uri: str  # From
    caller_id: str | None  # the From user part (the caller's number)


class CallHandler(Protocol):
    """The service side of the endpoint: admission, and a session for each answered call."""

    def is_trusted(self, source: str) -> bool: ...

    def admit(self, call: IncomingCall, context: InviteContext) -> Admission: ...

    def asr_behind(self) -> bool: ...  # recognizers behind real time: refuse new calls (486) until caught up

    def create_session(self, call: IncomingCall, control: CallControl) -> MediaSession: ...

    def operator_uri_free(self) -> str | None: ...
