"""Who gets an incoming INVITE: the bot, a free operator (302 redirect), or nobody (403/486/503).

Pure logic: no SIP stack, no clock. ``callbot.telephony.pjsip`` asks ``AdmissionPolicy.decide`` for every INVITE.

Modes (``CALLBOT_OVERFLOW_MODE``):
- ``front-door``: the bot is the first hop. A free operator takes the call (302 with Contact = the operator);
  the bot answers only when every operator is busy or offline.
- ``overflow-target``: the PBX already tried its operators (queue overflow); the bot answers every call.
"""

from __future__ import annotations

import ipaddress
import logging
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Protocol

from callbot.types import OperatorStatus, OverflowMode

log = logging.getLogger(__name__)

IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


class Verdict(str, Enum):
    answer = "answer"
    redirect = "redirect"
    reject = "reject"


@dataclass(frozen=True, slots=True)
class Admission:
    verdict: Verdict
    status_code: int  # the SIP final response: 200, 302, 403, 486, 503
    reason: str
    target_uri: str | None = None  # the operator for a redirect


@dataclass(frozen=True, slots=True)
class InviteContext:
    source: str  # "host:port" as the transport saw it ("[::1]:5060" for IPv6)
    active_calls: int  # calls the bot is carrying now
    accepting: bool = True  # False while the service shuts down


def source_host(source: str) -> str:
    """The host of a "host:port" / "[v6]:port" / bare host transport address."""
    text = source.strip()
    if text.startswith("["):
        return text[1 : text.index("]")]
    if text.count(":") == 1:
        return text.rsplit(":", 1)[0]
    return text  # a bare IPv4/IPv6 address or host name


def parse_trusted_peers(entries: Sequence[str]) -> tuple[IpNetwork, ...]:
    """IP addresses, CIDR networks or host names (resolved once) -> networks; a bad entry raises ValueError."""
    networks: list[IpNetwork] = []
    for entry in entries:
        text = entry.strip()
        try:
            networks.append(ipaddress.ip_network(text, strict=False))
            continue
        except ValueError:
            pass
        try:
            infos = socket.getaddrinfo(text, None)
        except OSError:
            raise ValueError(
                f"CALLBOT_TRUSTED_PEERS: {entry!r} is neither an IP address, a network (10.0.0.0/8) "
                "nor a resolvable host name"
            ) from None
        networks.extend(ipaddress.ip_network(str(info[4][0])) for info in infos)
    return tuple(networks)


class AdmissionPolicy:
    def __init__(self, *, mode: OverflowMode | str, trusted_peers: Sequence[str], max_calls: int) -> None:
        self.mode = OverflowMode(mode)
        self.max_calls = max_calls
        self._trusted = parse_trusted_peers(trusted_peers)

    def is_trusted(self, source: str) -> bool:
        try:
            address = ipaddress.ip_address(source_host(source))
        except ValueError:
            return False
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        return any(address in network for network in self._trusted)

    def decide(self, invite: InviteContext, find_free_operator: Callable[[], str | None]) -> Admission:
        """``find_free_operator`` is only asked (a store query) for a trusted INVITE in front-door mode."""
        if not self.is_trusted(invite.source):
            return Admission(Verdict.reject, 403, f"untrusted source {invite.source}")
        if not invite.accepting:
            return Admission(Verdict.reject, 503, "shutting down")
        operator_uri = find_free_operator() if self.mode == OverflowMode.front_door else None
        if operator_uri:
            return Admission(Verdict.redirect, 302, "operator free", target_uri=operator_uri)
        if invite.active_calls >= self.max_calls:
            return Admission(Verdict.reject, 486, f"{invite.active_calls} calls in progress (limit {self.max_calls})")
        return Admission(Verdict.answer, 200, "bot answers")


class OperatorLike(Protocol):
    uri: str


class OperatorSource(Protocol):
    """The ticket store's view of the operators (contract 4): the first free one, or None."""

    def free_operator(self) -> OperatorLike | None: ...


class OperatorDirectory:
    """Answers "which operator is free now?" from the store (pushed by the PBX/ACD through the API), or, with
    no store, from the configured ``operator_uris`` and statuses set on this object."""

    def __init__(self, operator_uris: Sequence[str], store: OperatorSource | None = None) -> None:
        self._store = store
        self._status: dict[str, OperatorStatus] = {uri: OperatorStatus.available for uri in operator_uris}

    def set_status(self, uri: str, status: OperatorStatus | str) -> None:
        self._status[uri] = OperatorStatus(status)

    def free_operator_uri(self) -> str | None:
        if self._store is not None:
            try:
                operator = self._store.free_operator()
            except Exception:  # a store outage must not stop the bot answering: treat everyone as busy
                log.exception("operator status unavailable; treating every operator as busy")
                return None
            return operator.uri if operator is not None else None
        return next((uri for uri, status in self._status.items() if status == OperatorStatus.available), None)
