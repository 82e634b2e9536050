"""The Kamailio edge: its configuration rendered from the settings (one source of truth), and the process.

Three files go into the edge's runtime directory, ``<data_dir>/node/edge/``: ``kamailio.cfg`` (the template
``kamailio.cfg.j2`` with the settings filled in), ``address.list`` (the trusted peers for the permissions module)
and ``dispatcher.list`` (the workers, with their call limits as ``maxload``). Kamailio runs in the foreground
(``-DD -E``) with that directory as its working directory, so the files refer to each other by name and
``kamcmd -s unix:kamailio_ctl`` reaches its control socket from there.
"""

from __future__ import annotations

import ctypes
import logging
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import jinja2

from callbot.config import Settings
from callbot.node.topology import WorkerAddress
from callbot.telephony.overflow import IpNetwork

log = logging.getLogger(__name__)

TEMPLATE = Path(__file__).with_name("kamailio.cfg.j2")
SETUP_HINT = "run scripts/setup.sh (it installs the Debian package kamailio)"
DISPATCHER_SET = 1
TRUSTED_GROUP = 1
CALL_EXPIRE_MARGIN_S = 120  # a call's load outlives CALLBOT_MAX_CALL_DURATION_S by this much if no BYE comes
COUNTERS = ("offered", "dispatched", "failover", "full", "untrusted", "flood", "refer_refused")
CONTROL_SOCKET = "unix:kamailio_ctl"
PR_SET_PDEATHSIG = 1  # linux/prctl.h
_LIBC = ctypes.CDLL(None, use_errno=True)


def die_with_parent() -> None:
    """preexec_fn of the node's children: SIGTERM when the process (thread) that started them dies, even by
    kill -9, so no orphaned worker or Kamailio keeps holding the node's ports."""
    _LIBC.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


class EdgeError(RuntimeError):
    """The edge cannot start: Kamailio missing, a config it refuses, or it died at start."""


@dataclass(slots=True)
class Destination:
    uri: str
    flags: str = ""  # "AP" active and probed, "IP" inactive, "DX" disabled, ...
    worker_id: str = ""  # its duid
    calls: int = 0  # the calls the edge counts on it (DLGLOAD)


@dataclass(frozen=True, slots=True)
class EdgeFiles:
    config: str
    addresses: str
    dispatcher: str

    def write(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        for name, text in (("kamailio.cfg", self.config), ("address.list", self.addresses),
                           ("dispatcher.list", self.dispatcher)):
            (directory / name).write_text(text)


def render_config(settings: Settings) -> str:
    """kamailio.cfg for these settings (``callbot edge --print-config``; sip/kamailio/kamailio.cfg holds the
    rendering of the defaults)."""
    template = jinja2.Template(TEMPLATE.read_text(), undefined=jinja2.StrictUndefined, keep_trailing_newline=True)
    host = settings.sip_bind
    return template.render(
        listen_host=f"[{host}]" if ":" in host else host,
        port=settings.sip_port,
        flood_requests=settings.edge_flood_requests,
        retry_after_s=settings.edge_retry_after_s,
        call_expire_s=settings.max_call_duration_s + CALL_EXPIRE_MARGIN_S,
    )


def render_addresses(trusted: Sequence[IpNetwork]) -> str:
    lines = ["# callbot: CALLBOT_TRUSTED_PEERS (permissions group 1: group address mask port)"]
    lines += [f"{TRUSTED_GROUP} {network.network_address} {network.prefixlen} 0" for network in trusted]
    return "\n".join(lines) + "\n"


def dispatcher_attributes(worker: WorkerAddress, default_max_load: int) -> str:
    return f"duid={worker.worker_id};maxload={worker.max_load or default_max_load}"


def render_dispatcher(workers: Sequence[WorkerAddress], default_max_load: int) -> str:
    lines = ["# callbot: bot workers (set uri flags priority attributes; flags 8 = probed; maxload = the "
             "worker's call limit)"]
    lines += [f"{DISPATCHER_SET} {worker.uri} 8 0 {dispatcher_attributes(worker, default_max_load)}" for worker in workers]
    return "\n".join(lines) + "\n"


def edge_files(settings: Settings, trusted: Sequence[IpNetwork], workers: Sequence[WorkerAddress],
               default_max_load: int) -> EdgeFiles:
    return EdgeFiles(render_config(settings), render_addresses(trusted), render_dispatcher(workers, default_max_load))


def kamailio_binaries(settings: Settings) -> tuple[str, str]:
    """(kamailio, kamcmd) paths, or EdgeError naming scripts/setup.sh."""
    kamailio = shutil.which(settings.edge_kamailio) or shutil.which(settings.edge_kamailio, path="/usr/sbin:/sbin")
    if kamailio is None:
        raise EdgeError(f"Kamailio ({settings.edge_kamailio}) is not installed: {SETUP_HINT}")
    kamcmd = Path(kamailio).with_name("kamcmd")
    if not kamcmd.exists():
        raise EdgeError(f"kamcmd is missing beside {kamailio}: {SETUP_HINT}")
    return kamailio, str(kamcmd)


def edge_directory(settings: Settings) -> Path:
    return settings.data_dir / "node" / "edge"


class EdgeProcess:
    """Kamailio in the foreground, in its own process group (its children die with it), driven by kamcmd."""

    def __init__(self, settings: Settings, directory: Path, output: IO[str] | None = None) -> None:
        self.kamailio, self.kamcmd = kamailio_binaries(settings)
        self.directory = directory
        self.output = output  # None: inherit (``callbot edge`` in a terminal)
        self.address = f"{settings.sip_bind}:{settings.sip_port}"
        self.process: subprocess.Popen | None = None

    def command(self, *extra: str) -> list[str]:
        return [self.kamailio, "-f", "kamailio.cfg", "-w", ".", "-Y", ".", "-P", "kamailio.pid", *extra]

    def check(self) -> None:
        """kamailio -c: a config Kamailio refuses is an error at start, with its words."""
        checked = subprocess.run(self.command("-c"), cwd=self.directory, capture_output=True, text=True, timeout=30)
        if checked.returncode != 0:
            raise EdgeError(f"Kamailio refuses the rendered config ({self.directory / 'kamailio.cfg'}):\n"
                            f"{(checked.stdout + checked.stderr)[-3000:]}")

    def start(self, timeout: float = 20.0) -> None:
        self.check()
        (self.directory / "kamailio_ctl").unlink(missing_ok=True)
        self.process = subprocess.Popen(self.command("-DD", "-E"), cwd=self.directory, stdout=self.output,
                                        stderr=subprocess.STDOUT if self.output else None, start_new_session=True,
                                        preexec_fn=die_with_parent)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise EdgeError(f"Kamailio exited at start ({self.process.returncode}); see its log")
            if self.try_rpc("core.version") is not None:
                log.info("edge (Kamailio) listening on %s", self.address)
                return
            time.sleep(0.1)
        self.stop()
        raise EdgeError(f"Kamailio did not answer on its control socket within {timeout:.0f} s")

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def rpc(self, *args: str, timeout: float = 5.0) -> str:
        done = subprocess.run([self.kamcmd, "-s", CONTROL_SOCKET, *args], cwd=self.directory, capture_output=True,
                              text=True, timeout=timeout)
        if done.returncode != 0:
            raise EdgeError(f"kamcmd {' '.join(args)}: {(done.stdout + done.stderr).strip()}")
        return done.stdout

    def try_rpc(self, *args: str) -> str | None:
        try:
            return self.rpc(*args)
        except (EdgeError, subprocess.TimeoutExpired, OSError):
            return None

    def set_worker_state(self, uri: str, state: str) -> bool:
        """state: "ip" (inactive, probed), "ap" (active, probed), "d" (disabled); uri may be "all"."""
        return self.try_rpc("dispatcher.set_state", state, str(DISPATCHER_SET), uri) is not None

    def forget_calls_of(self, uri: str, attributes: str) -> bool:
        """A dead worker's calls are gone, but the edge counts them until their BYEs come: remove it and add it
        back (inactive, probed: flags 9), which starts its call load at zero. No reset RPC exists in 5.6."""
        removed = self.try_rpc("dispatcher.remove", str(DISPATCHER_SET), uri) is not None
        return removed and self.try_rpc("dispatcher.add", str(DISPATCHER_SET), uri, "9", "0", attributes) is not None

    def destinations(self) -> list[Destination]:
        """The dispatcher's view of every worker (``kamcmd dispatcher.list``); empty when it does not answer."""
        found: list[Destination] = []
        for line in (self.try_rpc("dispatcher.list") or "").splitlines():
            name, _, value = line.strip().partition(":")
            value = value.strip()
            if name == "URI":
                found.append(Destination(uri=value))
            elif found and name == "FLAGS":
                found[-1].flags = value
            elif found and name == "BODY":
                found[-1].worker_id = dict(p.partition("=")[::2] for p in value.split(";")).get("duid", "")
            elif found and name == "DLGLOAD" and value.isdigit():
                found[-1].calls = int(value)
        return found

    def counters(self) -> dict[str, int]:
        """The edge's script counters (group callbot); empty when it does not answer."""
        text = self.try_rpc("cnt.grp_get_all", "callbot") or ""
        found: dict[str, int] = {}
        for line in text.splitlines():
            name, _, value = line.strip().partition(":")
            if name.strip() in COUNTERS and value.strip().isdigit():
                found[name.strip()] = int(value)
        return found

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM to Kamailio's process group (its children too, even if the main process is already gone)."""
        process = self.process
        if process is None:
            return
        try:
            os.killpg(process.pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
