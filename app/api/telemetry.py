"""`GET /metrics` in the Prometheus text format (prometheus-client).

Per process: requests by method, route template and status, and their latency. Read from the
database at each scrape (so every process answers alike): outbox jobs by kind and status, how long
the oldest due job has waited, webhook deliveries by endpoint and outcome, ready stock by depot and
model against par, and how many depot × model pairs are below par.

Several processes serving one port (`uvicorn --workers`, gunicorn) share their request metrics through
prometheus-client's multiprocess mode: set PROMETHEUS_MULTIPROC_DIR to an empty folder before they start.
Set METRICS_TOKEN to require `Authorization: Bearer <token>` on scrapes."""

import hmac
import os
import time

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector
from sqlalchemy.orm import Session, sessionmaker
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app import clock, outbox
from app.api.guard import bearer_token
from app.integrations.webhooks import repository as webhooks
from app.inventory.stock import stock_view

REQUESTS = Counter("spares_http_requests_total", "HTTP requests answered", ["method", "route", "status"])
LATENCY = Histogram("spares_http_request_duration_seconds", "Time to answer an HTTP request", ["method", "route"],
                    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10))

router = APIRouter(tags=["health"])


class RequestMetrics:
    """Counts and times each request under its route template (`/api/v1/swap-requests/{swap_id}`),
    never the raw path, so ids do not multiply the series."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started, status = time.perf_counter(), 500

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            route = getattr(scope.get("route"), "path", None) or "unmatched"
            REQUESTS.labels(scope["method"], route, str(status)).inc()
            LATENCY.labels(scope["method"], route).observe(time.perf_counter() - started)


class DatabaseCollector:
    """What the database says, read at each scrape."""

    def __init__(self, factory: sessionmaker[Session]) -> None:
        self.factory = factory

    def collect(self):
        jobs = GaugeMetricFamily("spares_outbox_jobs", "Outbox jobs by kind and status", labels=["kind", "status"])
        oldest = GaugeMetricFamily("spares_outbox_oldest_due_seconds", "How long the oldest due job has waited")
        hooks = GaugeMetricFamily("spares_webhook_deliveries", "Webhook deliveries by endpoint and outcome",
                                  labels=["endpoint_id", "status"])
        ready = GaugeMetricFamily("spares_stock_ready", "Ready units by depot and model", labels=["depot", "model"])
        par = GaugeMetricFamily("spares_stock_par_level", "Par level (minimum ready) by depot and model",
                                labels=["depot", "model"])
        below = GaugeMetricFamily("spares_stock_below_par", "Depot × model pairs with ready stock under par")
        with self.factory() as session:
            for kind, status, n in outbox.counts(session):
                jobs.add_metric([kind, status], n)
            due = outbox.oldest_due(session)
            oldest.add_metric([], max((clock.now() - due).total_seconds(), 0.0) if due else 0.0)
            for endpoint_id, status, n in webhooks.delivery_counts(session):
                hooks.add_metric([str(endpoint_id), status], n)
            rows = stock_view(session)
        for row in rows:
            ready.add_metric([row.depot_code, row.model_sku], row.ready)
            if row.par_level is not None:
                par.add_metric([row.depot_code, row.model_sku], row.par_level)
        below.add_metric([], sum(1 for r in rows if r.below_par))
        yield from (jobs, oldest, hooks, ready, par, below)


def registry_for(factory: sessionmaker[Session]) -> CollectorRegistry:
    registry = CollectorRegistry()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        MultiProcessCollector(registry)  # every process's request metrics, from the shared folder
    else:
        registry.register(_ProcessMetrics())
    registry.register(DatabaseCollector(factory))
    return registry


class _ProcessMetrics:
    """This process's own metrics (the default registry) beside the database's."""

    def collect(self):
        yield from REGISTRY.collect()


@router.get("/metrics", include_in_schema=False)
def metrics(request: Request) -> Response:
    token = request.app.state.settings.metrics_token
    if token and not hmac.compare_digest((bearer_token(request.headers) or "").encode(), token.encode()):
        raise HTTPException(401, "Scraping needs 'Authorization: Bearer <METRICS_TOKEN>'.",
                            headers={"WWW-Authenticate": "Bearer"})
    return Response(generate_latest(request.app.state.metrics_registry), media_type=CONTENT_TYPE_LATEST)
