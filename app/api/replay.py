"""A request whose database connection turned out dead is run again, once, on a fresh one.

The pool does not ping a connection before each use (a round trip per request). A connection the
server closed while it sat in the pool (a restart, a failover, an idle timeout) fails on its first
statement instead; SQLAlchemy then invalidates it and every connection pooled before it. If that
happened before the request's commit began, nothing of the request was written (the transaction died
with the connection) and the request has no other effect (carrier calls, messages and webhooks are
outbox jobs, written in that same transaction), so it is run again from the start, with the body the
first run read. A lost connection during the commit is not replayed: whether it committed is unknown,
and the caller gets the 503 (see `problems`)."""

from sqlalchemy.exc import DBAPIError
from starlette.types import ASGIApp, Message, Receive, Scope, Send

REPLAY_SAFE = "replay_safe"  # request.state flag: this attempt failed on a dead connection before committing
COMMITTING = "committing"  # request.state flag: the commit began (see `deps.get_session`)


def commit(request, session) -> None:
    """Commit a request's transaction: from here a lost connection is not replayed."""
    setattr(request.state, COMMITTING, True)
    session.commit()


def lost_before_commit(state, exc: BaseException) -> bool:
    return (isinstance(exc, DBAPIError) and exc.connection_invalidated
            and not getattr(state, COMMITTING, False))


class ReplayOnLostConnection:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        read: list[Message] = []

        async def recording() -> Message:
            message = await receive()
            if message["type"] == "http.request":
                read.append(message)
            return message

        # Each attempt has a request state of its own; the scope itself is shared, so what the
        # routing writes into it (the route, for the metrics outside) is seen from outside.
        initial = dict(scope.get("state") or {})
        scope["state"] = first = dict(initial)

        async def unless_replayed(message: Message) -> None:
            # The answer to a replay-safe failure (a 503) is dropped: the flag is set before it is sent.
            if not first.get(REPLAY_SAFE):
                await send(message)

        try:
            await self.app(scope, recording, unless_replayed)
        except DBAPIError as exc:  # raised outside a route (the API key look-up): nothing was sent
            if not lost_before_commit(_State(first), exc):
                raise
            first[REPLAY_SAFE] = True
        if not first.get(REPLAY_SAFE):
            return
        replayed = list(read)

        async def replaying() -> Message:
            return replayed.pop(0) if replayed else await receive()

        scope["state"] = dict(initial)
        await self.app(scope, replaying, send)


class _State:
    def __init__(self, values: dict) -> None:
        self.__dict__.update(values)
