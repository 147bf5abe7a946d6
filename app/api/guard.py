"""The first look at every request, before routing and before its body is read:

- under /api/ the caller is authenticated: no valid key is a 401 and the body is never read (FastAPI
  reads and parses a body before it runs any dependency). The key found goes to the route's role check
  through the request state, so it is looked up once; a key seen in the last AUTH_CACHE_SECONDS is
  not looked up at all (so a revocation takes that long, at most, to reach every process);
- a body over the limit is a 413 problem: at once when its Content-Length says so, else as soon as the
  bytes read pass it (chunked uploads);
- a NUL character in the path or query string is a 422 problem: no text field takes one (PostgreSQL
  cannot even store one). JSON bodies are checked by `Input`.

Starlette's own body limiter is not used: it runs outside this middleware (so it would read past an
unauthenticated caller) and answers in plain text."""

import anyio
from fastapi import HTTPException
from fastapi.responses import JSONResponse
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.api.problems import PROBLEM_JSON, problem_body
from app.auth.keys import Caller, KeyCache, authenticate, caller_of

API_PREFIX = "/api/"
STATE_KEY = "api_key"
CHALLENGE = {"WWW-Authenticate": "Bearer"}


def bearer_token(headers: Headers) -> str | None:
    scheme, _, token = headers.get("authorization", "").partition(" ")
    return (token.strip() or None) if scheme.lower() == "bearer" else None


class RequestGuard:
    def __init__(self, app: ASGIApp, *, max_body: int, larger_bodies: dict[str, int] | None = None) -> None:
        self.app = app
        self.max_body = max_body
        self.larger_bodies = larger_bodies or {}  # path → its own limit (CSV imports)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        nul_in = "path" if "\x00" in scope["path"] else "query" if b"%00" in scope.get(
            "query_string", b"") or b"\x00" in scope.get("query_string", b"") else None
        if nul_in is not None:
            message = "must not contain a NUL character (%00)"
            await _problem(scope, receive, send, 422, "Invalid request", f"{nul_in}: {message}", slug="validation",
                           errors=[{"field": nul_in, "in": nul_in, "message": message}])
            return
        headers = Headers(scope=scope)
        if scope["path"].startswith(API_PREFIX):
            token = bearer_token(headers)
            cache = scope["app"].state.key_cache
            key = None if token is None else cache.get(token) or await anyio.to_thread.run_sync(
                _lookup, scope["app"].state.session_factory, cache, token)
            if key is None:
                detail = ("An API key is required: send 'Authorization: Bearer <key>'." if token is None
                          else "The API key is unknown or revoked.")
                await _problem(scope, receive, send, 401, "Unauthorized", detail, headers=CHALLENGE)
                return
            scope.setdefault("state", {})[STATE_KEY] = key
        limit = self.larger_bodies.get(scope["path"], self.max_body)
        length = headers.get("content-length", "")
        if length.isdigit() and int(length) > limit:
            await _problem(scope, receive, send, 413, "Payload too large", _too_large(limit))
            return
        await self.app(scope, _counting(receive, limit), send)


def _too_large(limit: int) -> str:
    return f"The request body is larger than {limit} bytes."


def _counting(receive: Receive, limit: int) -> Receive:
    read = 0

    async def counted() -> Message:
        nonlocal read
        message = await receive()
        if message["type"] == "http.request":
            read += len(message.get("body", b""))
            if read > limit:
                # An HTTPException passes through FastAPI's body reading unchanged and is rendered
                # as a problem by the app's handler.
                raise HTTPException(413, _too_large(limit))
        return message

    return counted


def _lookup(factory, cache: KeyCache, token: str) -> Caller | None:
    # A short session of its own: no transaction stays open for the request (on SQLite every
    # transaction holds the write lock).
    with factory() as session:
        row = authenticate(session, token)
    if row is None:
        return None
    caller = caller_of(row)
    cache.put(token, caller)
    return caller


async def _problem(scope: Scope, receive: Receive, send: Send, status: int, title: str, detail: str,
                   headers: dict | None = None, slug: str | None = None, **extra) -> None:
    body = problem_body(scope["path"], status, title, detail, slug or title.lower().replace(" ", "-"), **extra)
    await JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)(scope, receive, send)
