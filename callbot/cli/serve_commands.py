"""``callbot serve``: the API and the supervisors' UI (the SIP service joins it in its own module)."""

from __future__ import annotations

from typing import Annotated, Optional

import typer
import uvicorn

from callbot.api import create_app
from callbot.cli.app import app, settings_from
from callbot.config import Settings
from callbot.store import TicketStore


def http_server(settings: Settings, store: TicketStore) -> uvicorn.Server:
    """A uvicorn server for the API/UI on settings.http_host:http_port (run it with ``.run()``)."""
    config = uvicorn.Config(create_app(settings, store), host=settings.http_host, port=settings.http_port,
                            log_level="info", access_log=False, proxy_headers=False)
    return uvicorn.Server(config)


@app.command("serve")
def serve(
    ctx: typer.Context,
    host: Annotated[Optional[str], typer.Option("--host", help="Listen address (CALLBOT_HTTP_HOST).")] = None,
    port: Annotated[Optional[int], typer.Option("--port", help="HTTP port (CALLBOT_HTTP_PORT).")] = None,
) -> None:
    """Serve the API and the supervisors' UI (SQLite in the data directory unless CALLBOT_DATABASE_URL)."""
    settings = settings_from(ctx, http_host=host, http_port=port)
    store = TicketStore.open(settings)
    typer.echo(f"callbot: API and UI on http://{settings.http_host}:{settings.http_port}/ "
               f"(database {store.engine.url.render_as_string(hide_password=True)})")
    try:
        http_server(settings, store).run()
    finally:
        store.close()
