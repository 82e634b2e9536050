"""Who is where in a node: the edge's address, the local workers the supervisor starts, the remote workers named
by ``CALLBOT_EDGE_WORKERS``, and the peers the edge trusts. Validation here is what turns a bad setting into a
start-up error naming the entry, before any process starts."""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Sequence
from dataclasses import dataclass

from callbot.config import Settings
from callbot.telephony.overflow import IpNetwork, parse_trusted_peers

WILDCARDS = ("0.0.0.0", "::")
LOOPBACK_PEERS = ("127.0.0.1", "::1")


class TopologyError(ValueError):
    """A node setting that cannot work; the message names the setting and the entry."""


@dataclass(frozen=True, slots=True)
class WorkerAddress:
    """One bot worker as the edge's dispatcher sees it."""

    worker_id: str  # the dispatcher's duid; a local worker's stable id ("<hostname>-w1")
    host: str
    port: int
    max_load: int | None = None  # calls the edge sends it at once; None: the binding's limit, learnt at start
    local: bool = True  # started and supervised by this node

    @property
    def uri(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"sip:{host}:{self.port}"

    @property
    def sip(self) -> str:
        return f"{self.host}:{self.port}"


@dataclass(frozen=True, slots=True)
class NodePlan:
    edge_host: str
    edge_port: int
    local_workers: tuple[WorkerAddress, ...]
    remote_workers: tuple[WorkerAddress, ...]
    trusted: tuple[IpNetwork, ...]  # CALLBOT_TRUSTED_PEERS, resolved
    worker_trusted_peers: tuple[str, ...]  # what each local worker trusts: the edge's address

    @property
    def workers(self) -> tuple[WorkerAddress, ...]:
        return self.local_workers + self.remote_workers


def trusted_networks(settings: Settings) -> tuple[IpNetwork, ...]:
    try:
        return parse_trusted_peers(settings.trusted_peers)
    except ValueError as exc:
        raise TopologyError(str(exc)) from None


def parse_edge_worker(entry: str) -> WorkerAddress:
    """``host:port`` or ``[v6]:port``, optionally ``sip:`` in front and ``;maxload=N`` after."""
    text = entry.strip()
    target, _, params = text.partition(";")
    target = target.removeprefix("sip:")
    max_load: int | None = None
    problem = None
    for param in filter(None, params.split(";")):
        name, _, value = param.partition("=")
        if name.strip() == "maxload" and value.strip().isdigit() and int(value) > 0:
            max_load = int(value)
        else:
            problem = f"unknown parameter {param!r} (only maxload=N)"
    if target.startswith("["):
        host, _, port = target[1:].partition("]:")
    else:
        host, _, port = target.rpartition(":")
    if problem is None and (not host or not port.isdigit() or not 0 < int(port) < 65536):
        problem = "expected host:port"
    if problem is None:
        try:
            host = str(ipaddress.ip_address(host))
        except ValueError:
            try:
                host = socket.getaddrinfo(host, None)[0][4][0]
            except OSError:
                problem = f"{host!r} is neither an IP address nor a resolvable host name"
    if problem is not None:
        raise TopologyError(f"CALLBOT_EDGE_WORKERS: bad entry {entry!r}: {problem}")
    return WorkerAddress(worker_id=f"{host}-{port}", host=host, port=int(port), max_load=max_load, local=False)


def free_udp_port(host: str, taken: Sequence[int] = ()) -> int:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    for _ in range(100):
        with socket.socket(family, socket.SOCK_DGRAM) as probe:
            probe.bind((host, 0))
            port = probe.getsockname()[1]
        if port not in taken:
            return port
    raise TopologyError(f"no free UDP port on {host} for a worker")


def local_worker_ids(count: int) -> list[str]:
    """Stable across restarts of the node and of each worker: another engineer's crash recovery keys on it."""
    host = socket.gethostname()
    return [f"{host}-w{index}" for index in range(1, count + 1)]


def plan_node(settings: Settings, *, local_workers: int | None = None) -> NodePlan:
    """The node this machine runs: ``local_workers`` (default CALLBOT_WORKERS) workers on CALLBOT_WORKER_BIND
    ports CALLBOT_WORKER_PORT_BASE.. (free ports when unset), plus CALLBOT_EDGE_WORKERS."""
    trusted = trusted_networks(settings)
    remote = tuple(parse_edge_worker(entry) for entry in settings.edge_workers)
    count = settings.workers if local_workers is None else local_workers
    ports: list[int] = []
    for index in range(count):
        if settings.worker_port_base is not None:
            ports.append(settings.worker_port_base + index)
        else:
            ports.append(free_udp_port(settings.worker_bind, taken=[settings.sip_port, *ports]))
    if settings.sip_port in ports and settings.worker_bind in (settings.sip_bind, *WILDCARDS):
        raise TopologyError(f"CALLBOT_WORKER_PORT_BASE: worker ports {ports} overlap the edge's CALLBOT_SIP_PORT "
                            f"{settings.sip_port}")
    local = tuple(
        WorkerAddress(worker_id=worker_id, host=settings.worker_bind, port=port)
        for worker_id, port in zip(local_worker_ids(count), ports)
    )
    if not local and not remote:
        raise TopologyError("no workers: set CALLBOT_WORKERS (local) or CALLBOT_EDGE_WORKERS (remote)")
    # The edge sends to workers from its listen address; listening on every address it sends from the routed one.
    edge_peers = LOOPBACK_PEERS if settings.sip_bind in WILDCARDS else (settings.sip_bind,)
    return NodePlan(settings.sip_bind, settings.sip_port, local, remote, trusted, edge_peers)
