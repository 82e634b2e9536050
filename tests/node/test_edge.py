"""The edge's configuration rendered from the settings, the node's topology checks and the start-up errors
(fast: Kamailio only checks the rendered config, nothing answers calls)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from callbot.config import Settings, SettingsError, load_settings
from callbot.node.edge import (
    EdgeError,
    EdgeProcess,
    edge_files,
    kamailio_binaries,
    render_addresses,
    render_config,
    render_dispatcher,
)
from callbot.node.status import WorkerStatus, read_statuses, write_status
from callbot.node.topology import TopologyError, WorkerAddress, parse_edge_worker, plan_node, trusted_networks
from tests.support import REPO

EXAMPLE = REPO / "sip" / "kamailio"
EXAMPLE_WORKERS = [WorkerAddress("callbot-w1", "127.0.0.1", 5061), WorkerAddress("callbot-w2", "127.0.0.1", 5062)]


def test_the_shipped_kamailio_files_are_the_rendering_of_the_default_settings() -> None:
    settings = Settings()
    assert (EXAMPLE / "kamailio.cfg").read_text() == render_config(settings), "re-render: callbot edge --print-config"
    assert (EXAMPLE / "address.list").read_text() == render_addresses(trusted_networks(settings))
    assert (EXAMPLE / "dispatcher.list").read_text() == render_dispatcher(EXAMPLE_WORKERS, 4)


def test_print_config_prints_the_rendering(tmp_path: Path) -> None:
    env = {key: value for key, value in os.environ.items() if not key.startswith("CALLBOT_")}
    env.update({"CALLBOT_SIP_PORT": "5999", "CALLBOT_EDGE_RETRY_AFTER_S": "7", "CALLBOT_DATA_DIR": str(tmp_path)})
    done = subprocess.run([sys.executable, "-m", "callbot", "edge", "--print-config"], env=env, cwd=REPO,
                          capture_output=True, text=True, timeout=60, check=True)
    assert done.stdout == render_config(Settings(sip_port=5999, edge_retry_after_s=7))
    assert "listen=udp:127.0.0.1:5999" in done.stdout and "Retry-After: 7" in done.stdout


def test_settings_reach_the_rendered_files() -> None:
    settings = Settings(sip_bind="::1", sip_port=5070, edge_flood_requests=9, max_call_duration_s=300,
                        trusted_peers=["10.1.0.0/16", "192.0.2.7"])
    config = render_config(settings)
    assert "listen=udp:[::1]:5070" in config and "listen=tcp:[::1]:5070" in config
    assert 'modparam("pike", "reqs_density_per_unit", 9)' in config
    assert 'modparam("dispatcher", "ds_hash_expire", 420)' in config  # the longest call + a margin
    assert render_addresses(trusted_networks(settings)).splitlines()[1:] == ["1 10.1.0.0 16 0", "1 192.0.2.7 32 0"]
    workers = [WorkerAddress("a", "10.0.0.11", 5070, max_load=6), WorkerAddress("b", "::1", 5071)]
    assert render_dispatcher(workers, 4).splitlines()[1:] == [
        "1 sip:10.0.0.11:5070 8 0 duid=a;maxload=6", "1 sip:[::1]:5071 8 0 duid=b;maxload=4"]


def test_kamailio_accepts_the_rendered_config(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, sip_port=5999)
    edge_files(settings, trusted_networks(settings), EXAMPLE_WORKERS, 4).write(tmp_path / "edge")
    EdgeProcess(settings, tmp_path / "edge").check()  # kamailio -c; raises EdgeError with its words


def test_a_bad_trusted_peer_is_a_start_up_error_naming_it(tmp_path: Path) -> None:
    with pytest.raises(TopologyError, match="not-a-host.invalid"):
        plan_node(Settings(trusted_peers=["127.0.0.1", "not-a-host.invalid"]))
    env = {key: value for key, value in os.environ.items() if not key.startswith("CALLBOT_")}
    env.update({"CALLBOT_DATA_DIR": str(tmp_path), "CALLBOT_TRUSTED_PEERS": '["10.0.0.0/33"]'})
    done = subprocess.run([sys.executable, "-m", "callbot", "serve"], env=env, cwd=REPO, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 2 and "10.0.0.0/33" in done.stderr, done.stderr


def test_kamailio_missing_is_an_error_naming_the_setup_script(tmp_path: Path) -> None:
    with pytest.raises(EdgeError, match="scripts/setup.sh"):
        kamailio_binaries(Settings(edge_kamailio="/nonexistent/kamailio"))
    env = {key: value for key, value in os.environ.items() if not key.startswith("CALLBOT_")}
    env.update({"CALLBOT_DATA_DIR": str(tmp_path), "CALLBOT_EDGE_KAMAILIO": "/nonexistent/kamailio"})
    done = subprocess.run([sys.executable, "-m", "callbot", "serve"], env=env, cwd=REPO, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 2 and "scripts/setup.sh" in done.stderr, done.stderr


@pytest.mark.parametrize(("entry", "expected"), [
    ("10.0.0.11:5070", ("10.0.0.11", 5070, None)),
    ("sip:10.0.0.12:5071;maxload=6", ("10.0.0.12", 5071, 6)),
    ("[::1]:5072", ("::1", 5072, None)),
    ("localhost:5073", ("127.0.0.1", 5073, None)),
])
def test_remote_workers_are_parsed(entry: str, expected: tuple) -> None:
    worker = parse_edge_worker(entry)
    assert (worker.host, worker.port, worker.max_load) == expected and not worker.local


@pytest.mark.parametrize("entry", ["10.0.0.11", "10.0.0.11:0", "10.0.0.11:5070;weight=2", "nohost.invalid:5070",
                                   "10.0.0.11:5070;maxload=0"])
def test_a_bad_remote_worker_entry_is_named(entry: str) -> None:
    with pytest.raises(TopologyError, match="CALLBOT_EDGE_WORKERS") as raised:
        parse_edge_worker(entry)
    assert entry in str(raised.value)


def test_local_workers_get_stable_ids_and_distinct_ports() -> None:
    plan = plan_node(Settings(workers=3, sip_port=5060))
    ids = [worker.worker_id for worker in plan.local_workers]
    assert ids == [ids[0][:-1] + "1", ids[0][:-1] + "2", ids[0][:-1] + "3"] and ids[0].endswith("-w1")
    assert len({worker.port for worker in plan.local_workers}) == 3 and 5060 not in {w.port for w in plan.local_workers}
    assert plan.worker_trusted_peers == ("127.0.0.1",)  # workers answer the edge only
    fixed = plan_node(Settings(workers=2, worker_port_base=5070))
    assert [worker.port for worker in fixed.local_workers] == [5070, 5071]
    with pytest.raises(TopologyError, match="overlap"):
        plan_node(Settings(workers=2, sip_port=5071, worker_port_base=5070))


def test_worker_status_files_are_replaced_whole(tmp_path: Path) -> None:
    status = WorkerStatus("vm-w1", 42, "127.0.0.1:5071", 4, 1, 7, {"full": 2}, "running", 1.0, 2.0)
    write_status(tmp_path / "vm-w1.json", status)
    write_status(tmp_path / "vm-w1.json", status)
    (tmp_path / "broken.json").write_text("{not json")
    assert read_statuses(tmp_path) == [status]
    assert not list(tmp_path.glob(".status-*"))  # no temporary file left behind


def test_node_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CALLBOT_WORKERS", "3")
    monkeypatch.setenv("CALLBOT_EDGE_WORKERS", '["10.0.0.11:5070;maxload=2"]')
    monkeypatch.setenv("CALLBOT_WORKER_ID", "edge-host-w9")
    settings = load_settings()
    assert (settings.workers, settings.edge_workers, settings.worker_id) == (3, ["10.0.0.11:5070;maxload=2"], "edge-host-w9")
    assert settings.max_calls is None  # the binding's limit, read at start
    monkeypatch.setenv("CALLBOT_WORKERS", "40")
    with pytest.raises(SettingsError, match="CALLBOT_WORKERS"):
        load_settings()


@pytest.mark.parametrize("command", [["worker"], ["serve", "--no-edge"]])
def test_a_bad_trusted_peer_stops_a_single_process_too(tmp_path: Path, command: list[str]) -> None:
    env = {key: value for key, value in os.environ.items() if not key.startswith("CALLBOT_")}
    env.update({"CALLBOT_DATA_DIR": str(tmp_path), "CALLBOT_TRUSTED_PEERS": '["bad peer!"]'})
    done = subprocess.run([sys.executable, "-m", "callbot", *command], env=env, cwd=REPO, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 2 and "bad peer!" in done.stdout + done.stderr, done.stdout + done.stderr
