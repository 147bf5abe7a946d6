"""create_app(): routers, error handlers, lifespan."""

import threading
from contextlib import asynccontextmanager
from datetime import timedelta

import anyio
from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute
from fastapi_offline import FastAPIOffline

from app.api import (
    catalog,
    claims,
    health,
    holds,
    metrics,
    notifications,
    outbound_webhooks,
    planning,
    problems,
    reconciliation,
    returns,
    stock,
    swaps,
    telemetry,
    ticket_notes,
    units,
    webhooks,
    wipes,
)
from app.api.guard import RequestGuard
from app.api.pagination import Cursors
from app.api.replay import ReplayOnLostConnection
from app.auth.keys import KeyCache
from app.bootstrap import Service, bootstrap
from app.logging import configure_logging
from app.settings import Settings, get_settings
from app.web import scan_station, tracking

DESCRIPTION = """Spares inventory and courier-swap service.

Authenticate with `Authorization: Bearer <api key>`. Each operation lists the roles that may call it
(`x-roles`). Errors are `application/problem+json` (RFC 9457)."""


def create_app(settings: Settings | None = None, *, service: Service | None = None) -> FastAPI:
    settings = settings or (service.settings if service else get_settings())
    configure_logging(settings.log_level)
    owns_service = service is None  # a service handed in is its maker's to dispose of
    service = service or bootstrap(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        # Threads that end a request's transaction (see `deps.get_session`): one per pooled connection.
        app.state.commit_limiter = anyio.CapacityLimiter(settings.db_pool_size + settings.db_pool_overflow)
        app.state.db_work_limiter = anyio.CapacityLimiter(settings.db_work_at_once)
        background = thread = None
        if settings.run_background_jobs:
            background = service.background_work()
            thread = threading.Thread(target=background.run, name="background-work", daemon=True)
            thread.start()
        yield
        if background is not None:
            background.stop()
            thread.join(timeout=settings.outbox_lease_seconds)
        if owns_service:
            service.engine.dispose()

    # The docs pages (/docs, /redoc) with their assets served from the installed fastapi-offline
    # package: they work with no internet (FastAPI's own load them from a CDN).
    app = FastAPIOffline(title="Spares & courier-swap service", version="0.1.0", description=DESCRIPTION,
                         lifespan=lifespan, static_url="/docs/assets")
    app.state.settings = settings
    app.state.service = service
    app.state.engine = service.engine
    app.state.session_factory = service.session_factory
    app.state.carrier = service.carrier
    app.state.keyring = service.keyring
    app.state.cursors = Cursors(app.state.keyring)
    app.state.key_cache = KeyCache(timedelta(seconds=settings.auth_cache_seconds))
    problems.install(app)
    app.add_middleware(RequestGuard, max_body=settings.max_body_bytes,
                       larger_bodies={"/api/v1/units/import": units.MAX_CSV_BYTES})
    app.add_middleware(ReplayOnLostConnection)  # outside the guard: its key look-up is replayed too
    app.add_middleware(telemetry.RequestMetrics)  # outermost: counts what the guard refuses too
    app.state.metrics_registry = telemetry.registry_for(service.session_factory)
    for module in (health, catalog, units, holds, wipes, claims, returns, stock, swaps, notifications, outbound_webhooks, webhooks, tracking,
                   scan_station, reconciliation, telemetry, ticket_notes, planning):
        app.include_router(module.router)
    app.include_router(metrics.router)
    _document_roles(app)
    return app


def api_routes(application: FastAPI) -> list[tuple[str, str, APIRoute]]:
    """(method, path, route) for every APIRoute, however the routers are nested (recent FastAPI keeps
    each included router as one branch of `app.routes`)."""
    try:
        from fastapi.routing import iter_route_contexts
    except ImportError:  # older FastAPI: app.routes is already flat
        pairs = [(getattr(r, "path", None), r) for r in application.routes]
    else:
        pairs = [(rc.path, rc.original_route) for rc in iter_route_contexts(application.routes)]
    return [(method, path, route) for path, route in pairs if isinstance(route, APIRoute)
            for method in sorted(route.methods)]


def _document_roles(app: FastAPI) -> None:
    """Each operation's allowed roles, read off its auth dependency, go into the served OpenAPI
    document (`x-roles` and a line of the description). Routes are shared between apps, so the
    document is post-processed rather than the routes changed."""

    def openapi() -> dict:
        if app.openapi_schema is None:
            schema = get_openapi(title=app.title, version=app.version, description=app.description,
                                 routes=app.routes)
            _document_guard_answers(schema)
            for method, path, route in api_routes(app):
                roles = route_roles(route)
                operation = schema.get("paths", {}).get(path, {}).get(method.lower())
                if roles is None or operation is None:
                    continue
                operation["x-roles"] = roles
                text = operation.get("description", "")
                operation["description"] = (text + "\n\n" if text else "") + f"Roles: {', '.join(roles)}."
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi


def _document_guard_answers(schema: dict) -> None:
    """Answers any operation can give, from the request guard or the database (not from the route):
    a body over the limit (413) and a database that could not commit (503, retry)."""
    problem = {"content": {problems.PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}}}
    for path, item in schema.get("paths", {}).items():
        if not path.startswith(("/api/", "/webhooks/")):
            continue
        for operation in item.values():
            answers = operation.setdefault("responses", {})
            answers.setdefault("503", {"description": problems.STATUS_TITLES[503], **problem})
            if "requestBody" in operation:
                answers.setdefault("413", {"description": problems.STATUS_TITLES[413], **problem})


def route_roles(route: APIRoute) -> list[str] | None:
    stack = [route.dependant]
    while stack:
        dep = stack.pop()
        roles = getattr(dep.call, "allowed_roles", None)
        if roles is not None:
            return roles
        stack.extend(dep.dependencies)
    return None
