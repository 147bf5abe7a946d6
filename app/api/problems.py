"""RFC 9457 problem details for every error the API returns."""

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict
from sqlalchemy.exc import InterfaceError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect

from app.api.replay import REPLAY_SAFE, lost_before_commit
from app.errors import DomainError
from app.logging import redact_path

log = logging.getLogger("app.errors")
PROBLEM_JSON = "application/problem+json"


class Problem(BaseModel):
    """application/problem+json (RFC 9457); extension members may follow."""

    model_config = ConfigDict(extra="allow")
    type: str
    title: str
    status: int
    detail: str
    instance: str | None = None


def problem_body(path: str, status: int, title: str, detail: str, slug: str, **extra: Any) -> dict:
    return {"type": f"/problems/{slug}", "title": title, "status": status, "detail": detail,
            "instance": path, **extra}


def domain_problem_body(path: str, exc: DomainError) -> dict:
    return problem_body(path, exc.status, exc.title, exc.detail, exc.type_slug, **exc.extra)


def problem_response(
    request: Request, status: int, title: str, detail: str, slug: str, headers=None, **extra: Any
) -> JSONResponse:
    body = problem_body(request.url.path, status, title, detail, slug, **extra)
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def _field_name(loc: tuple) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    return ".".join(parts) or str(loc[-1] if loc else "body")


async def _domain_error(request: Request, exc: DomainError) -> JSONResponse:
    return JSONResponse(domain_problem_body(request.url.path, exc), status_code=exc.status,
                        media_type=PROBLEM_JSON)


def _validation_entry(e: dict) -> dict:
    loc = tuple(e.get("loc", ()))
    if e.get("type") == "json_invalid":  # loc is ("body", <character offset>): name the body, not the offset
        position = f" at character {loc[-1]}" if len(loc) > 1 else ""
        return {"field": "body", "in": "body", "message": f"{e.get('msg', 'invalid JSON')}{position}"}
    return {"field": _field_name(loc), "in": str(loc[0] if loc else "body"), "message": e.get("msg", "invalid")}


async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
    errors = [_validation_entry(e) for e in exc.errors()]
    summary = "; ".join(f"{e['field']}: {e['message']}" for e in errors[:5])
    return problem_response(request, 422, "Invalid request", summary or "The request is invalid.",
                            "validation", errors=errors)


STATUS_TITLES = {400: "Bad request", 401: "Unauthorized", 403: "Forbidden", 404: "Not found",
                 405: "Method not allowed", 409: "Conflict", 413: "Payload too large",
                 415: "Unsupported media type", 422: "Unprocessable request", 429: "Too many requests",
                 503: "Service unavailable"}
RETRY_AFTER_SECONDS = 2


async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    title = STATUS_TITLES.get(exc.status_code, "Error")
    detail = exc.detail if isinstance(exc.detail, str) else title
    return problem_response(request, exc.status_code, title, detail, title.lower().replace(" ", "-"),
                            headers=getattr(exc, "headers", None))


async def _database_unavailable(request: Request, exc: Exception) -> JSONResponse:
    """The database went away or refused the commit (connection lost, serialization failure, lock
    timeout): the transaction was rolled back, so nothing changed and the same request may be sent
    again. A 503 with Retry-After says exactly that; it is never a 2xx."""
    if lost_before_commit(request.state, exc):
        log.info("connection lost before commit on %s %s: run again", request.method,
                 redact_path(request.url.path))
        setattr(request.state, REPLAY_SAFE, True)  # `replay` drops this answer and runs the request again
    else:
        log.warning("database unavailable on %s %s: %s", request.method, redact_path(request.url.path),
                    type(getattr(exc, "orig", None) or exc).__name__)
    return problem_response(request, 503, STATUS_TITLES[503],
                            "The database could not complete this request, so nothing was changed. "
                            "Retry the same request in a moment.", "unavailable",
                            headers={"Retry-After": str(RETRY_AFTER_SECONDS)})


async def _client_gone(request: Request, exc: ClientDisconnect) -> JSONResponse:
    """The sender hung up before its body arrived in full: its doing, not ours (nothing was read, so
    nothing changed). The answer goes nowhere; it is logged as the 400 it would be."""
    log.info("client gone before its body arrived on %s %s", request.method, redact_path(request.url.path))
    return problem_response(request, 400, STATUS_TITLES[400], "The request's body ended before it was complete.",
                            "bad-request")


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error on %s %s", request.method, redact_path(request.url.path))
    return problem_response(request, 500, "Internal error", "Something went wrong on our side; it was logged.",
                            "internal")


def install(app: FastAPI) -> None:
    app.add_exception_handler(DomainError, _domain_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(OperationalError, _database_unavailable)
    app.add_exception_handler(InterfaceError, _database_unavailable)
    app.add_exception_handler(ClientDisconnect, _client_gone)
    app.add_exception_handler(Exception, _unexpected)


def problem_responses(*statuses: int) -> dict[int | str, dict]:
    # `model` registers the Problem schema (FastAPI also lists it under application/json); the
    # media type the errors are actually sent as carries the same schema.
    content = {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}}
    return {s: {"model": Problem, "content": content, "description": STATUS_TITLES.get(s, "Error")}
            for s in statuses}
