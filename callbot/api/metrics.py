"""Prometheus metrics on a registry owned by the app (never the process-global one)."""

from __future__ import annotations

import time
from collections.abc import Iterator

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy.exc import SQLAlchemyError
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from callbot.store import Store, operators, tickets


class StoreCollector(Collector):
    """Figures read from the store at scrape time: tickets by status, operators by status, journal backlog."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def collect(self) -> Iterator[GaugeMetricFamily]:
        journal = GaugeMetricFamily("callbot_journal_pending_calls", "Calls waiting in the journal for the database")
        journal.add_metric([], len(self._store.call_log.journal.pending_calls()))
        yield journal
        try:
            with self._store.session() as session:
                tickets_by_status = tickets.counts_by_status(session)
                statuses = [o.status for o in operators.list_operators(session)]
        except SQLAlchemyError:
            return
        by_status = GaugeMetricFamily("callbot_tickets", "Tickets by status", labels=["status"])
        for name, count in tickets_by_status.items():
            by_status.add_metric([name], count)
        yield by_status
        ops = GaugeMetricFamily("callbot_operators", "Operators by status", labels=["status"])
        for name in ("available", "busy", "offline"):
            ops.add_metric([name], sum(1 for status in statuses if status == name))
        yield ops


class HttpMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.requests = Counter("callbot_http_requests", "HTTP requests", ["method", "route", "status"],
                                registry=registry)
        self.latency = Histogram("callbot_http_request_seconds", "HTTP request duration", ["method", "route"],
                                 registry=registry)


class MetricsMiddleware:
    """Counts requests by route template (not raw path, so ticket numbers never become label values)."""

    def __init__(self, app: ASGIApp, metrics: HttpMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status_code = 500

        async def send_wrapper(message: Message) -> None:
            nonlocal status_code
            if message["type"] == "http.response.start":
                status_code = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            route = scope.get("route")
            template = getattr(route, "path", "unmatched")
            self.metrics.requests.labels(scope["method"], template, str(status_code)).inc()
            self.metrics.latency.labels(scope["method"], template).observe(time.perf_counter() - started)
