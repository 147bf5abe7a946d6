"""Inbound carrier webhooks. Shippo authenticates by a secret in the URL (compared in constant time;
two secrets accepted during a rotation). The secret is checked before the body is read: a wrong one
is a plain 404 whatever was sent. A body we cannot use is kept and answered 200 (Shippo does not
retry a 4xx); the answer is sent only after the event is committed (else a 503, which Shippo retries)."""

import hmac
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, HTTPException, Request
from pydantic import BaseModel

from app.api.deps import SessionDep
from app.api.problems import problem_responses
from app.shipping import shippo_webhooks

router = APIRouter(tags=["webhooks"])


class WebhookResult(BaseModel):
    result: Literal["applied", "recorded", "duplicate", "unknown", "test_event", "ignored", "unusable"]


def _authorised(secret: str, request: Request) -> None:
    """Runs before the body is read (the route takes no parsed body)."""
    secrets = request.app.state.settings.webhook_secrets
    if not any(hmac.compare_digest(secret.encode(), s.encode()) for s in secrets):
        raise HTTPException(404, "Not found")


async def _raw_body(request: Request) -> bytes:
    return await request.body()


_DOCUMENTED_BODY = {"required": True, "content": {"application/json": {"schema": {
    "type": "object", "required": ["event"],
    "properties": {"event": {"type": "string", "examples": ["track_updated", "transaction_updated"]},
                   "test": {"type": "boolean"}, "data": {"description": "a Track or a Transaction"}}}}}}


@router.post("/webhooks/shippo/{secret}", response_model=WebhookResult,
             responses={**problem_responses(404, 413, 503)}, dependencies=[Depends(_authorised)],
             openapi_extra={"requestBody": _DOCUMENTED_BODY})
def shippo_webhook(request: Request, session: SessionDep,
                   body: Annotated[bytes, Depends(_raw_body)]) -> WebhookResult:
    """`track_updated` moves shipments (idempotent, never backwards); `transaction_*` settles, adopts or
    refunds labels. Every body is kept with its outcome."""
    keep = request.app.state.settings.shippo_test_events == "record"
    return WebhookResult(result=shippo_webhooks.receive(session, body, keep_test_events=keep))
