"""Running a POST under an Idempotency-Key. The boundary owns the transaction: the key is claimed
first (a concurrent twin waits on it, then replays), the business write runs, and its response is
stored in the same commit."""

import json
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

from fastapi import Request
from fastapi.responses import Response
from pydantic import BaseModel
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.api import replay
from app.api.deps import database_turn
from app.api.problems import PROBLEM_JSON, domain_problem_body
from app.auth.keys import Caller
from app.db import unit_of_work
from app.errors import Conflict, DomainError
from app.swaps import idempotency

IN_PROGRESS = 0

@dataclass(frozen=True)
class Answer:
    status: int
    body: BaseModel
    headers: dict
    # What a retry is answered, when it must differ from the first answer: a one-time secret in the
    # body (the worker's tracking link) is shown once and never stored.
    replay_body: BaseModel | None = None


# (session) -> Answer; domain errors become stored problem responses.
Action = Callable[[Session], Answer]


def _render(request: Request, session: Session, action: Action, *,
            keep_claim: bool) -> tuple[idempotency.StoredResponse, idempotency.StoredResponse]:
    """(the first answer, the answer stored for replays). A domain error undoes the business write: to a
    savepoint when the transaction holds a key's claim (`keep_claim`), else all of it (no savepoint: two
    round trips fewer)."""
    try:
        if keep_claim:
            with session.begin_nested():
                answer = action(session)
        else:
            try:
                answer = action(session)
            except DomainError:
                session.rollback()
                raise
        first = idempotency.StoredResponse(answer.status, answer.body.model_dump_json().encode(), answer.headers)
        if answer.replay_body is None:
            return first, first
        return first, idempotency.StoredResponse(answer.status, answer.replay_body.model_dump_json().encode(),
                                                 answer.headers)
    except DomainError as exc:
        body = json.dumps(domain_problem_body(request.url.path, exc)).encode()
        problem = idempotency.StoredResponse(exc.status, body, {"content-type": PROBLEM_JSON})
        return problem, problem


def _respond(stored: idempotency.StoredResponse, *, replayed: bool) -> Response:
    headers = dict(stored.headers)
    media_type = headers.pop("content-type", "application/json")
    if replayed:
        headers["Idempotent-Replayed"] = "true"
    return Response(stored.body, status_code=stored.status, media_type=media_type, headers=headers)


def run(request: Request, *, api_key: Caller, key: str | None, payload: dict, action: Action) -> Response:
    """In the request's worker thread, in a turn of the process's database work (`deps.database_turn`)."""
    if key is not None:
        idempotency.check_key(key)
    with database_turn(request):
        return _run(request, api_key=api_key, key=key, payload=payload, action=action)


def _run(request: Request, *, api_key: Caller, key: str | None, payload: dict, action: Action) -> Response:
    factory = request.app.state.session_factory
    if key is None:
        with unit_of_work(factory, commit=partial(replay.commit, request)) as session:
            first, _ = _render(request, session, action, keep_claim=False)
        return _respond(first, replayed=False)
    request_hash = idempotency.fingerprint({"path": request.url.path, "body": payload})
    for _ in range(5):
        session: Session = factory()
        try:
            # Claim the key; a concurrent request with the same key blocks here until we commit.
            if not idempotency.claim(session, api_key_id=api_key.id, key=key, request_hash=request_hash,
                                     response=idempotency.StoredResponse(IN_PROGRESS, b"", {})):
                stored = idempotency.lookup(session, api_key_id=api_key.id, key=key, request_hash=request_hash)
                if stored is None:  # claimed by a request that then rolled back: try again
                    session.rollback()
                    continue
                if stored.status == IN_PROGRESS:
                    raise Conflict("A request with this Idempotency-Key is still being processed; retry shortly.")
                return _respond(stored, replayed=True)
            first, stored = _render(request, session, action, keep_claim=True)
            idempotency.settle(session, api_key_id=api_key.id, key=key, response=stored)
            replay.commit(request, session)
            return _respond(first, replayed=False)
        except IntegrityError:
            session.rollback()  # someone else claimed the key and committed: loop to replay theirs
        finally:
            session.close()
    raise Conflict("Could not settle this Idempotency-Key; retry the request.")
