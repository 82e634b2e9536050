"""``callbot campaign run NAME``: one campaign in the foreground, until every contact is final.

The process is a dialer of its own: the shared resources (voices, recognizers, the store), one SIP endpoint
(UDP, on a free port unless one is given; every inbound INVITE refused) and a ``Dialer`` restricted to the
campaign. Its worker id (``<hostname>-campaign-<NAME>`` unless ``CALLBOT_WORKER_ID``) is stable across runs, so
a run started again after ``kill -9`` settles the attempts the killed one left open before dialling: nothing is
lost, no attempt is dialled twice. The node's workers may dial the same campaign meanwhile: claims are atomic.
"""

from __future__ import annotations

import logging
import signal
import socket
import threading
import time
from collections.abc import Callable
from datetime import datetime

from callbot.call.resources import SharedResources
from callbot.campaign.dialer import STALE_AFTER_S, Dialer
from callbot.campaign.report import summary
from callbot.config import Settings
from callbot.node.topology import free_udp_port
from callbot.store import Store
from callbot.store import campaigns as store_campaigns
from callbot.store.models import utcnow
from callbot.telephony.contracts import CallControl, IncomingCall, MediaSession
from callbot.telephony.overflow import Admission, AdmissionPolicy, InviteContext, OperatorDirectory, Verdict
from callbot.types import CampaignState

log = logging.getLogger(__name__)

PROGRESS_EVERY_S = 5.0
EXIT_FINISHED, EXIT_CANCELLED, EXIT_INTERRUPTED = 0, 3, 130


class CampaignRunError(RuntimeError):
    """The campaign cannot be run (unknown, no outbound proxy, the SIP endpoint would not start)."""


class DialerOnly:
    """The endpoint's ``CallHandler`` in a process that only places calls: every INVITE is refused (503)."""

    def __init__(self, settings: Settings, resources: SharedResources) -> None:
        self.policy = AdmissionPolicy(mode=settings.overflow_mode, trusted_peers=settings.trusted_peers, max_calls=1)
        self.operators = OperatorDirectory(settings.operator_uris, store=resources.store.call_log)

    def is_trusted(self, source: str) -> bool:
        return self.policy.is_trusted(source)

    def admit(self, call: IncomingCall, context: InviteContext) -> Admission:
        return Admission(Verdict.reject, 503, "this process only places campaign calls")

    def create_session(self, call: IncomingCall, control: CallControl) -> MediaSession:
        raise RuntimeError("a campaign runner answers no call")

    def operator_uri_free(self) -> str | None:
        return self.operators.free_operator_uri()


def runner_settings(settings: Settings, name: str, sip_port: int | None) -> Settings:
    """This run's identity: a stable worker id for the campaign, and a SIP port of its own."""
    worker_id = settings.worker_id or f"{socket.gethostname()}-campaign-{name}"
    port = sip_port or free_udp_port(settings.sip_bind)
    return settings.model_copy(update={"worker_id": worker_id, "sip_port": port})


def run_campaign(settings: Settings, name: str, *, echo: Callable[[str], None] = print, sip_port: int | None = None,
                 clock: Callable[[], datetime] = utcnow) -> int:
    """Exit status: 0 every contact final, 3 the campaign was cancelled meanwhile, 130 interrupted (SIGINT/TERM:
    calls in flight end first; run it again to go on)."""
    from callbot.telephony.pjsip import SipEndpoint, SipError  # only a dialling process loads pjsua2

    if not settings.outbound_proxy:
        raise CampaignRunError("set CALLBOT_OUTBOUND_PROXY (the PBX or SIP trunk calls go out through)")
    settings = runner_settings(settings, name, sip_port)
    resources = SharedResources.load(settings)
    store = resources.store
    try:
        with store.session() as session:
            campaign = store_campaigns.get_campaign(session, name=name)
            for action, states in (("start", (CampaignState.created,)), ("resume", (CampaignState.paused,))):
                if campaign.state in states:
                    campaign = store_campaigns.change_state(session, name=name, action=action, actor="cli")
            locales = sorted({campaign.locale, settings.locale})
        for locale in locales:
            resources.dialogue_data.locale(locale)
        endpoint = SipEndpoint(settings, DialerOnly(settings, resources), tcp=False)
        try:
            endpoint.start()
        except SipError as exc:
            raise CampaignRunError(f"cannot listen for SIP on {settings.sip_bind}:{settings.sip_port}: {exc}") from exc
        store.call_log.register_worker(stale_after_s=STALE_AFTER_S)
        dialer = Dialer(settings=settings, store=store, endpoint=endpoint, resources=resources, campaign=name,
                        inbound_reserve=0, clock=clock)
        dialer.start()
        echo(f"callbot: running campaign {name} (worker {settings.worker_id}, SIP {settings.sip_bind}:"
             f"{settings.sip_port}, calls through {settings.outbound_route or settings.outbound_proxy})")
        try:
            code = _until_final(store, name, dialer, echo)
        finally:
            dialer.stop_claiming()
            endpoint.stop_accepting()
            dialer.stop(timeout=30.0)
            endpoint.stop(grace_s=5.0)
        with store.session() as session:
            echo(f"callbot: {summary(store_campaigns.campaign_report(session, name=name))}")
        return code
    finally:
        store.close()


def _until_final(store: Store, name: str, dialer: Dialer, echo: Callable[[str], None]) -> int:
    interrupted = threading.Event()
    previous = {sig: signal.signal(sig, lambda _s, _f: interrupted.set()) for sig in (signal.SIGTERM, signal.SIGINT)}
    last_line, last_at = "", 0.0
    try:
        while not interrupted.wait(0.5):
            with store.session() as session:
                report = store_campaigns.campaign_report(session, name=name)
            line = summary(report)
            if line != last_line or time.monotonic() - last_at > PROGRESS_EVERY_S:
                if line != last_line:
                    echo(f"callbot: {line}")
                last_line, last_at = line, time.monotonic()
            state = CampaignState(report.campaign.state)
            if state == CampaignState.finished and dialer.idle:
                return EXIT_FINISHED
            if state == CampaignState.cancelled and dialer.idle:
                return EXIT_CANCELLED
        echo("callbot: interrupted; calls in flight end first, then this run stops (run it again to go on)")
        return EXIT_INTERRUPTED
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
