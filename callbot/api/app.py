"""The application: API, supervisors' UI, health and metrics around one Store."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import quote

from fastapi import FastAPI, Request, status
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from prometheus_client import CollectorRegistry
from sqlalchemy.exc import IntegrityError, InterfaceError, OperationalError
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from callbot.api import campaigns, routes_api, routes_public, routes_tuning, ui
from callbot.api.deps import LoginRequired, PageForbidden
from callbot.api.i18n import Catalogue
from callbot.api.metrics import HttpMetrics, MetricsMiddleware, StoreCollector
from callbot.api.security import LoginFormTokens, RateLimiter, load_secret_key, trusted_networks
from callbot.config import Settings
from callbot.store import Store

STATIC_DIR = Path(__file__).resolve().parent / "static"
SECURITY_HEADERS = [
    (b"content-security-policy",
     (b"default-src 'self'; img-src 'self' data:; media-src 'self'; style-src 'self'; script-src 'self'; "
      b"frame-ancestors 'none'; form-action 'self'")),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"x-frame-options", b"DENY"),
]


NO_STORE = [(b"cache-control", b"no-store"), (b"pragma", b"no-cache")]


class SecurityHeadersMiddleware:
    """Same-origin everything (no CDN, no inline script), no framing, no MIME sniffing; and no cache (browser
    or proxy) keeps any response but the static assets: pages, JSON and audio carry citizen data."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        cacheable = scope.get("path", "").startswith("/static/")

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", []) if cacheable or k.lower() != b"cache-control"]
                message["headers"] = [*headers, *SECURITY_HEADERS, *([] if cacheable else NO_STORE)]
            await send(message)

        await self.app(scope, receive, send_wrapper if scope["type"] == "http" else send)


class AsciiJSONResponse(JSONResponse):
    """JSON with every non-ASCII character escaped: encodable whatever the text holds."""

    def render(self, content: object) -> bytes:
        return json.dumps(content, ensure_ascii=True, allow_nan=False, separators=(",", ":")).encode("ascii")


def create_app(settings: Settings, store: Store) -> FastAPI:
    app = FastAPI(
        title="callbot",
        version="0.1.0",
        description="Tickets, calls, operators and statistics of the hotline overflow callbot.",
        docs_url="/api/docs",
        redoc_url=None,
        openapi_url="/api/openapi.json",
        redirect_slashes=False,  # its redirects are absolute URLs built from the Host header: never reflect it
    )
    secret = load_secret_key(settings)
    app.state.settings = settings
    app.state.store = store
    app.state.catalogue = Catalogue()
    app.state.templates = ui.make_templates()
    app.state.login_tokens = LoginFormTokens(secret)
    app.state.trusted_proxies = trusted_networks(settings.trusted_proxies)
    app.state.status_limiter = RateLimiter(rate=20, per_seconds=60)
    app.state.login_limiter = RateLimiter(rate=10, per_seconds=60)  # per client address (see client_address)
    registry = CollectorRegistry()
    registry.register(StoreCollector(store))
    app.state.metrics_registry = registry

    app.include_router(routes_public.router)
    app.include_router(routes_api.router)
    app.include_router(routes_tuning.router)
    app.include_router(ui.router)
    app.include_router(campaigns.api)
    app.include_router(campaigns.pages)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")

    @app.exception_handler(LoginRequired)
    async def _to_login(request: Request, _exc: LoginRequired) -> Response:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/login?next={quote(target)}", status_code=status.HTTP_303_SEE_OTHER)

    @app.exception_handler(OperationalError)
    @app.exception_handler(InterfaceError)
    async def _database_down(_request: Request, _exc: Exception) -> Response:
        return JSONResponse({"detail": "the database is unreachable; calls are being journaled"},
                            status_code=status.HTTP_503_SERVICE_UNAVAILABLE)

    @app.exception_handler(RequestValidationError)
    async def _invalid_request(_request: Request, exc: RequestValidationError) -> Response:
        # FastAPI's shape, without echoing the input back: it may be a citizen's data, or text JSON cannot
        # encode (a lone surrogate from "\ud800" made the default handler fail with a 500).
        errors = [{key: value for key, value in error.items() if key != "input"} for error in exc.errors()]
        return AsciiJSONResponse({"detail": jsonable_encoder(errors)},
                                 status_code=status.HTTP_422_UNPROCESSABLE_CONTENT)

    @app.exception_handler(PageForbidden)
    async def _forbidden_page(request: Request, _exc: PageForbidden) -> Response:
        return ui.forbidden_page(request)

    @app.exception_handler(IntegrityError)
    async def _conflict(_request: Request, _exc: IntegrityError) -> Response:
        # A constraint the request broke; the driver's message (which may hold values) is not repeated.
        return JSONResponse({"detail": "the change conflicts with stored data"}, status_code=status.HTTP_409_CONFLICT)

    @app.exception_handler(OverflowError)
    async def _out_of_range(_request: Request, exc: OverflowError) -> Response:
        return JSONResponse({"detail": f"value out of range: {exc}"},
                            status_code=status.HTTP_422_UNPROCESSABLE_CONTENT)

    app.add_middleware(SecurityHeadersMiddleware)
    app.add_middleware(MetricsMiddleware, metrics=HttpMetrics(registry))
    return app
