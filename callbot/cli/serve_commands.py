"""``callbot serve``: the API and the supervisors' UI (the SIP service joins it in its own module)."""

from __future__ import annotations

from typing import Annotated

import typer
import uvicorn

from callbot.api import create_app
from callbot.cli.app import app, fail, settings_from
from callbot.config import Settings
from callbot.store import Store, open_store


def http_server(settings: Settings, store: Store) -> uvicorn.Server:
    """A uvicorn server for the API/UI on settings.http_host:http_port (run it with ``.run()``)."""
    config = uvicorn.Config(create_app(settings, store), host=settings.http_host, port=settings.http_port,
                            log_level="info", access_log=False, proxy_headers=False)
    return uvicorn.Server(config)


@app.command("serve")
def serve(
    ctx: typer.Context,
    host: Annotated[str | None, typer.Option("--host", help="Listen address (CALLBOT_HTTP_HOST).")] = None,
    port: Annotated[int | None, typer.Option("--port", help="HTTP port (CALLBOT_HTTP_PORT).")] = None,
    sip: Annotated[bool, typer.Option("--sip/--no-sip", help="Also answer calls over SIP (CALLBOT_SIP_PORT).")] = True,
) -> None:
    """Answer calls over SIP and serve the API and the supervisors' UI (SQLite in the data directory unless
    CALLBOT_DATABASE_URL). The API runs on this thread; SIGTERM/SIGINT stop it, then live calls file their
    tickets and the SIP endpoint shuts down."""
    settings = settings_from(ctx, http_host=host, http_port=port)
    calls = None
    if sip:
        from callbot.service import start_service  # loads models and voices: only when answering calls
        from callbot.telephony.pjsip import SipError

        try:
            calls = start_service(settings, echo=typer.echo)
        except SipError as exc:
            raise fail(str(exc)) from None
        calls.absorb_exit_signals()
    store = calls.resources.store if calls is not None else open_store(settings)
    typer.echo(f"callbot: API and UI on http://{settings.http_host}:{settings.http_port}/ "
               f"(database {store.database.engine.url.render_as_string(hide_password=True)})")
    try:
        http_server(settings, store).run()
    finally:
        if calls is not None:
            calls.shutdown()
        store.close()
