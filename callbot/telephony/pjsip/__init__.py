"""The SIP endpoint: the only package that imports pjsua2.

One ``SipEndpoint`` per process owns the one ``pj.Endpoint``. Every pjsua2 call happens on its own "sip" thread
(``threadCnt=0``: that thread polls ``libHandleEvents``), so no other Python thread ever touches pjsua2; other
threads (a call session's worker, the dialer, the service's signal handler) hand it closures through
``_run_on_sip_thread``. Media callbacks run on pjmedia's clock thread (one for all calls): ``BridgePort`` only
moves one frame between the wire and the call's session there.

- ``endpoint``: ``SipEndpoint``, the SIP thread and the inbound calls' life;
- ``screening``: the request guard's decisions before pjsua sees a request (untrusted, full, media budget);
- ``outbound``: the calls the bot places (campaigns);
- ``calls``: a call's record, pjsua2's Call/Account subclasses, the ``CallControl`` a session uses;
- ``media``: the bridge ports; ``library``: the library's configuration, accounts and call limit.

Lifetimes (the traps that abort or silence calls): a ``CallRecord`` keeps the Call, its ``BridgePort`` and the
session alive for the whole call; a disconnected call is dropped on a later loop turn, never inside its own
callback, and only once its pjsua call slot is idle (pjsua2's ``~Call`` detaches and hangs up whatever call
holds that slot now); everything is dropped before ``libDestroy``.

Floods: pjsua allocates a call's media sockets before any callback, on a select ioqueue of 64 handles that
keeps each released handle 500 ms. ``RequestGuard`` (``pjsip_native``) refuses untrusted requests and new calls
beyond the media budget statelessly, before pjsua sees them; calls beyond the call limit get pjsua's own
stateless 486.
"""

from callbot.telephony.pjsip.calls import caller_id_of, with_uri_headers
from callbot.telephony.pjsip.endpoint import EndpointStats, SipEndpoint
from callbot.telephony.pjsip.library import MAX_CALLS_REQUEST, SipError, binding_call_limit
from callbot.telephony.pjsip.media import BridgePort, BridgeStats

__all__ = ["MAX_CALLS_REQUEST", "BridgePort", "BridgeStats", "EndpointStats", "SipEndpoint", "SipError",
           "binding_call_limit", "caller_id_of", "with_uri_headers"]
