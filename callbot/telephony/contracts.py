"""What telephony and the call runtime promise each other, defined once (no pjsua2 here).

The SIP endpoint (``callbot.telephony.pjsip``) feeds each answered call's ``MediaSession`` (the call runtime's
``CallSession``) and gives it a ``CallControl``; the service is the endpoint's ``CallHandler``.
"""

from __future__ import annotations

from concurrent.futures import Future
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

    def create_session(self, call: IncomingCall, control: CallControl) -> MediaSession: ...

    def operator_uri_free(self) -> str | None: ...


# --- outbound calls (campaigns) -------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class OutboundCall:
    """A call the bot places: to ``target_uri`` (``sip:0912345678@pbx``), given up after ``ring_timeout_s``."""

    target_uri: str
    ring_timeout_s: float


@dataclass(frozen=True, slots=True)
class OutboundEnd:
    """How a placed call ended: its final SIP status (200 once answered), whether it rang first (a 180/183),
    whether we gave up ringing (our CANCEL), and how long it was connected."""

    status_code: int | None
    ringing: bool
    timed_out: bool
    answered: bool
    connected_s: float


class OutboundHandler(Protocol):
    """The dialer's side of one placed call; telephony calls these on its own (SIP) thread, so each only records
    what happened and returns."""

    def on_sent(self, call_id: str) -> None:
        """The INVITE is out; ``call_id`` is its SIP Call-ID."""
        ...

    def on_answered(self, control: CallControl) -> MediaSession:
        """The callee answered: the session that runs the call (its ``start`` is called next)."""
        ...

    def on_ended(self, end: OutboundEnd) -> None: ...


class NotDialled(RuntimeError):
    """A call the endpoint did not send at all (no free call slot, stopping): nothing reached the callee."""


def sip_host_of(uri: str) -> str:
    """``sip:pbx.example.org:5060;transport=udp`` -> ``pbx.example.org:5060``."""
    bare = uri[1:-1] if uri.startswith("<") and uri.endswith(">") else uri
    bare = bare.split(":", 1)[1] if bare.startswith(("sip:", "sips:")) else bare
    return bare.split("@", 1)[-1].split(";", 1)[0].split("?", 1)[0]


class CallPlacer(Protocol):
    """What the dialer needs of the process's SIP endpoint (``callbot.telephony.pjsip.SipEndpoint``)."""

    call_limit: int

    @property
    def calls_in_progress(self) -> int: ...

    @property
    def outbound_calls(self) -> int: ...

    def dial(self, request: OutboundCall, handler: OutboundHandler) -> Future: ...
