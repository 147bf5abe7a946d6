"""Dependencies shared by every router, defined once as Annotated aliases."""

from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from functools import partial
from typing import Annotated

import anyio
from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from app.api import replay
from app.api.guard import CHALLENGE, STATE_KEY
from app.api.pagination import Cursors
from app.auth.keys import Caller, Role


async def get_session(request: Request) -> AsyncIterator[Session]:
    """One transaction per request, committed when the handler has returned and its answer is built,
    but before a byte of it is sent (scope="function"): a 2xx always means committed. A commit that
    fails raises, and the client gets a retryable 503 instead (see `problems`).

    The transaction waits for a turn of the process's database work first (`db_work_limiter`, see
    `Settings.db_work_at_once`). The commit runs in a thread of its own limiter (`commit_limiter`, as
    many as the pool has connections), not the request threads': when every request thread waits for a
    connection, the requests holding one can still commit and give theirs back."""
    async with _turn(request):
        session = request.app.state.session_factory()
        limiter = getattr(request.app.state, "commit_limiter", None)
        try:
            yield session
        except BaseException:
            with anyio.CancelScope(shield=True):
                await anyio.to_thread.run_sync(_end, request, session, False, limiter=limiter)
            raise
        await anyio.to_thread.run_sync(_end, request, session, True, limiter=limiter)


@asynccontextmanager
async def _turn(request: Request) -> AsyncIterator[None]:
    """A turn of the process's database work for this request (one per request, however many
    transactions it runs)."""
    limiter = _limiter_unless_held(request)
    if limiter is None:
        yield
        return
    token = object()
    await limiter.acquire_on_behalf_of(token)
    with _holding(request, partial(limiter.release_on_behalf_of, token)):
        yield


@contextmanager
def database_turn(request: Request) -> Iterator[None]:
    """`_turn` for a request's own transactions run in its worker thread (`idempotent.run`)."""
    limiter = _limiter_unless_held(request)
    if limiter is None:
        yield
        return
    token = object()
    anyio.from_thread.run(limiter.acquire_on_behalf_of, token)
    with _holding(request, partial(anyio.from_thread.run_sync, limiter.release_on_behalf_of, token)):
        yield


HAS_TURN = "has_database_turn"  # request.state flag


@contextmanager
def _holding(request: Request, release: Callable[[], object]) -> Iterator[None]:
    """The request marked as holding its turn (see `_limiter_unless_held`) until the turn is released."""
    setattr(request.state, HAS_TURN, True)
    try:
        yield
    finally:
        setattr(request.state, HAS_TURN, False)
        release()


def _limiter_unless_held(request: Request) -> anyio.CapacityLimiter | None:
    """The process's database-work limiter, or None when the request needs no turn: it holds one
    already (one turn a request, however many transactions), or the app has no limiter."""
    if getattr(request.state, HAS_TURN, False):
        return None
    return getattr(request.app.state, "db_work_limiter", None)


def _end(request: Request, session: Session, commit: bool) -> None:
    try:
        if commit:
            replay.commit(request, session)
        else:
            session.rollback()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


SessionDep = Annotated[Session, Depends(get_session, scope="function")]


def get_cursors(request: Request) -> Cursors:
    return request.app.state.cursors


CursorsDep = Annotated[Cursors, Depends(get_cursors)]

_bearer = HTTPBearer(auto_error=False, description="API key: `Authorization: Bearer spk_…`")


def allow(*roles: Role) -> Callable[..., Caller]:
    """Dependency that admits keys holding one of `roles` (admin is always admitted)."""
    allowed = frozenset({Role.ADMIN, *roles})

    def check(
        request: Request,
        # Declared so the OpenAPI document shows the scheme; the key was already checked by
        # `guard.RequestGuard`, before the body was read.
        _credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    ) -> Caller:
        key = getattr(request.state, STATE_KEY, None)
        if key is None:  # only reachable if a route outside /api/ asks for a key: refuse, never admit
            raise HTTPException(401, "An API key is required: send 'Authorization: Bearer <key>'.",
                                headers=CHALLENGE)
        if not allowed.intersection(key.roles):
            raise HTTPException(
                403, f"This key's roles ({', '.join(key.roles)}) may not do this; "
                     f"it needs one of: {', '.join(sorted(allowed))}."
            )
        return key

    check.allowed_roles = sorted(r.value for r in allowed)  # type: ignore[attr-defined]  # read by docs and tests
    return check


ANY_ROLE = (Role.SUPPORT, Role.WAREHOUSE, Role.INTEGRATION)
Reader = Annotated[Caller, Depends(allow(*ANY_ROLE))]
Admin = Annotated[Caller, Depends(allow())]
Warehouse = Annotated[Caller, Depends(allow(Role.WAREHOUSE))]
Support = Annotated[Caller, Depends(allow(Role.SUPPORT, Role.INTEGRATION))]
