"""``callbot serve`` (the node: Kamailio edge + supervised bot workers + the API), ``callbot worker`` (one bot
process behind an edge) and ``callbot edge`` (the edge alone, for workers on other machines)."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import Annotated

import typer
import uvicorn
from prometheus_client.registry import Collector

from callbot.api import create_app
from callbot.cli.app import app, fail, settings_from
from callbot.config import Settings, SettingsError
from callbot.store import Store, open_store


def http_server(settings: Settings, store: Store, node_metrics: Collector | None = None) -> uvicorn.Server:
    """A uvicorn server for the API/UI on settings.http_host:http_port (run it with ``.run()``)."""
    api = create_app(settings, store)
    if node_metrics is not None:
        api.state.metrics_registry.register(node_metrics)
    config = uvicorn.Config(api, host=settings.http_host, port=settings.http_port, log_level="info",
                            access_log=False, proxy_headers=False)
    return uvicorn.Server(config)


def announce_http(settings: Settings, store: Store) -> None:
    """Where the UI is and which database it reads; on a fresh install, how to create the first login."""
    typer.echo(f"callbot: API and UI on http://{settings.http_host}:{settings.http_port}/ "
               f"(database {store.database.engine.url.render_as_string(hide_password=True)})")
    if not store.accounts.list_users():
        typer.echo("callbot: no users yet: run `callbot users add admin --role admin` to create the first login")


def announce_record_only(settings: Settings) -> None:
    """The node's workers load their own models; the node says up front when they will run record-only (the
    same lookup the workers make), so an operator sees it without reading the workers' logs."""
    from callbot.model_manager import ModelManager, ModelNotFound

    try:
        ModelManager(settings).asr_model_path(settings.locale)
    except ModelNotFound as exc:
        typer.echo(f"callbot: RECORD-ONLY MODE for locale {settings.locale!r}: {exc}; answers are recorded and "
                   "tickets flagged 'needs transcription'")


def config_file(ctx: typer.Context) -> Path | None:
    return (ctx.find_root().obj or {}).get("config")


@app.command("serve")
def serve(
    ctx: typer.Context,
    host: Annotated[str | None, typer.Option("--host", help="Listen address (CALLBOT_HTTP_HOST).")] = None,
    port: Annotated[int | None, typer.Option("--port", help="HTTP port (CALLBOT_HTTP_PORT).")] = None,
    sip: Annotated[bool, typer.Option("--sip/--no-sip", help="Also answer calls over SIP (CALLBOT_SIP_PORT).")] = True,
    edge: Annotated[bool, typer.Option(
        "--edge/--no-edge", help="A Kamailio edge in front of CALLBOT_WORKERS worker processes (default), or "
                                 "one bot process answering SIP itself (development).")] = True,
) -> None:
    """Answer calls over SIP and serve the API and the supervisors' UI (SQLite in the data directory unless
    CALLBOT_DATABASE_URL). By default the node: the Kamailio edge on CALLBOT_SIP_BIND:CALLBOT_SIP_PORT in front of
    CALLBOT_WORKERS supervised bot workers (and CALLBOT_EDGE_WORKERS on other machines). SIGTERM/SIGINT drain it:
    no new calls, live calls file their tickets, then everything exits."""
    settings = settings_from(ctx, http_host=host, http_port=port)
    if sip and edge:
        serve_node(ctx, settings)
    else:
        serve_single_process(settings, sip=sip)


def serve_node(ctx: typer.Context, settings: Settings) -> None:
    from callbot.node.edge import EdgeError, kamailio_binaries
    from callbot.node.metrics import NodeCollector
    from callbot.node.status import status_dir
    from callbot.node.supervisor import NodeError, NodeSupervisor, absorb_exit_signals
    from callbot.node.topology import TopologyError, plan_node

    try:
        plan = plan_node(settings)
        kamailio_binaries(settings)
    except (TopologyError, EdgeError) as exc:
        raise fail(str(exc), 2) from None
    store = open_store(settings)  # migrations run here, once, before the workers open the database
    supervisor = NodeSupervisor(settings, plan, config_file=config_file(ctx))
    try:
        supervisor.start(calls_per_remote_worker=lambda: probe_call_limit(settings))
    except (NodeError, EdgeError) as exc:
        store.close()
        raise fail(str(exc)) from None
    absorb_exit_signals()
    parts = [f"{len(supervisor.workers)} worker(s) x {supervisor.calls_per_worker} calls"] if supervisor.workers else []
    parts += [f"{len(plan.remote_workers)} remote worker(s)"] if plan.remote_workers else []
    typer.echo(f"callbot: node answering SIP on {settings.sip_bind}:{settings.sip_port} (UDP, TCP) through the "
               f"Kamailio edge: {' + '.join(parts)} = capacity {supervisor.capacity} calls "
               f"(logs in {supervisor.logs_dir})")
    if supervisor.workers:
        announce_record_only(settings)
    announce_http(settings, store)
    collector = NodeCollector(status_dir(settings), worker_ids=[w.worker_id for w in supervisor.workers],
                              edge=supervisor.edge, restart_counts=supervisor.restarts)
    try:
        http_server(settings, store, collector).run()
    finally:
        typer.echo("callbot: draining the node (no new calls; live calls file their tickets)")
        supervisor.stop()
        store.close()


def serve_single_process(settings: Settings, *, sip: bool) -> None:
    """Today's single process: SIP (UDP and TCP) and the API together, or the API alone."""
    calls = None
    collector = None
    if sip:
        from callbot.node.metrics import NodeCollector
        from callbot.node.status import status_dir
        from callbot.service import start_service  # loads models and voices: only when answering calls
        from callbot.telephony.pjsip import SipError

        try:
            calls = start_service(settings, echo=typer.echo)
        except SettingsError as exc:
            raise fail(str(exc), 2) from None
        except SipError as exc:
            raise fail(str(exc)) from None
        calls.absorb_exit_signals()
        collector = NodeCollector(status_dir(settings), worker_ids=[calls.worker_id])
    store = calls.resources.store if calls is not None else open_store(settings)
    announce_http(settings, store)
    try:
        http_server(settings, store, collector).run()
    finally:
        if calls is not None:
            calls.shutdown()
        store.close()


def probe_call_limit(settings: Settings) -> int:
    """Calls per process of this machine's pjsua2 binding, asked in a process of its own (one Endpoint each)."""
    requested = settings.max_calls or 1000
    code = f"from callbot.telephony.pjsip import binding_call_limit; print(binding_call_limit({requested}))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines or not lines[-1].isdigit():
        raise RuntimeError(f"could not read the pjsua2 call limit: {done.stderr[-500:]}")
    return int(lines[-1])


@app.command("worker")
def worker(ctx: typer.Context) -> None:
    """One bot process behind the edge: SIP over UDP on CALLBOT_SIP_BIND:CALLBOT_SIP_PORT, answering only
    CALLBOT_TRUSTED_PEERS (the edge's address), as many calls as the pjsua2 binding carries (or CALLBOT_MAX_CALLS).
    On another machine give it the node's PostgreSQL CALLBOT_DATABASE_URL and name it in the edge's
    CALLBOT_EDGE_WORKERS. Its status: <data_dir>/node/workers/<CALLBOT_WORKER_ID>.json."""
    settings = settings_from(ctx)
    from callbot.service import run_until_signal

    raise typer.Exit(run_until_signal(settings, tcp=False))


@app.command("edge")
def edge(
    ctx: typer.Context,
    print_config: Annotated[bool, typer.Option("--print-config", help="Print kamailio.cfg and exit.")] = False,
) -> None:
    """The Kamailio edge alone, in the foreground, in front of CALLBOT_EDGE_WORKERS (workers started elsewhere
    with `callbot worker`). Its config is rendered from the settings into <data_dir>/node/edge/."""
    from callbot.node.edge import EdgeError, EdgeProcess, edge_directory, edge_files, render_config
    from callbot.node.topology import TopologyError, plan_node

    settings = settings_from(ctx)
    if print_config:
        typer.echo(render_config(settings), nl=False)
        return
    try:
        plan = plan_node(settings, local_workers=0)
        directory = edge_directory(settings)
        missing_limit = any(w.max_load is None for w in plan.remote_workers)
        default_max_load = probe_call_limit(settings) if missing_limit else 1
        edge_files(settings, plan.trusted, plan.remote_workers, default_max_load).write(directory)
        process = EdgeProcess(settings, directory)
        process.start()
    except (TopologyError, EdgeError) as exc:
        raise fail(str(exc), 2) from None
    typer.echo(f"callbot: edge on {settings.sip_bind}:{settings.sip_port} in front of "
               f"{', '.join(w.sip for w in plan.remote_workers)}")
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda _signum, _frame: stop.set())
    while process.alive and not stop.wait(0.5):
        pass
    process.stop()
    raise typer.Exit(0 if stop.is_set() else 1)
