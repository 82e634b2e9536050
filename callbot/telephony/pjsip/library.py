"""The pjsua2 library of the process: its configuration (one Endpoint, polled by one thread, media at the call
rate), the transports, the codec order, the accounts inbound and outbound calls use, and what the binding grants
of the calls asked for."""

from __future__ import annotations

import pjsua2 as pj
from pjsua2 import _pjsua2

from callbot.config import Settings
from callbot.telephony.contracts import sip_host_of
from callbot.telephony.pjsip_native import PjsuaLibrary

# maxCalls asked of pjsua when CALLBOT_MAX_CALLS is unset: pjsua clamps it to its compiled PJSUA_MAX_CALLS (4 in
# the PyPI wheel) and pjsua_call_get_max_count() reports the result. More calls: more workers behind the edge.
MAX_CALLS_REQUEST = 1000
MEDIA_PORTS_SPARE = 8  # conference slots beyond two per call (each call's stream + its bridge port)
# Preferred codec order: G.711 first at 8 kHz, G.722 first when the bridge runs at 16 kHz; the rest disabled.
CODEC_ORDER = {8000: ("PCMU/8000/1", "PCMA/8000/1", "G722/16000/1"), 16000: ("G722/16000/1", "PCMU/8000/1", "PCMA/8000/1")}


class SipError(RuntimeError):
    """The endpoint could not start (port in use, bad bind address, bad registrar URI), or a call could not be
    placed."""


def endpoint_config(settings: Settings, rate: int, writer: pj.LogWriter) -> pj.EpConfig:
    """No pjsua thread of its own (the endpoint's SIP thread polls), calls and conference slots for what is
    asked, media at ``rate`` in 20 ms frames, no silence suppression, no echo canceller."""
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
    config.medConfig.clockRate = rate
    config.medConfig.sndClockRate = rate
    config.medConfig.audioFramePtime = 20
    config.medConfig.ptime = 20
    config.medConfig.noVad = True  # keep sending RTP during silence: the caller's side hears steady audio
    config.medConfig.ecTailLen = 0
    return config


def create_transports(endpoint: pj.Endpoint, settings: Settings, tcp: bool) -> None:
    for transport in (pj.PJSIP_TRANSPORT_UDP, pj.PJSIP_TRANSPORT_TCP)[: 2 if tcp else 1]:
        transport_config = pj.TransportConfig()
        transport_config.port = settings.sip_port
        transport_config.boundAddress = settings.sip_bind
        endpoint.transportCreate(transport, transport_config)


def set_codec_priorities(endpoint: pj.Endpoint, rate: int) -> None:
    order = CODEC_ORDER[rate]
    for codec in endpoint.codecEnum2():
        priority = 255 - 10 * order.index(codec.codecId) if codec.codecId in order else 0
        endpoint.codecSetPriority(codec.codecId, priority)


def account_config(settings: Settings) -> pj.AccountConfig:
    """The account inbound calls arrive on: registered at ``CALLBOT_SIP_REGISTRAR`` when set, else bare."""
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


def outbound_account_config(settings: Settings, proxy: str) -> pj.AccountConfig:
    """Campaign calls: From the hotline's number at the PBX, through ``CALLBOT_OUTBOUND_ROUTE`` (the node's
    edge) when set, answering the PBX's digest challenge with the SIP credentials when they are set."""
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


def native_library() -> PjsuaLibrary:
    """The pjsua C library under this binding (for the request guard and the call counts)."""
    return PjsuaLibrary(_pjsua2.__file__)


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
        return native_library().call_limit()
    finally:
        endpoint.libDestroy()
