"""Signed webhooks to the systems that want to hear: endpoints (admins), their deliveries, replays."""

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from app.api.deps import Admin, CursorsDep, SessionDep
from app.api.problems import problem_responses
from app.api.schemas import Page
from app.integrations.webhooks import endpoints, repository
from app.integrations.webhooks.schemas import (
    DeliveryRead,
    EndpointCreate,
    EndpointRead,
    EndpointUpdate,
    EndpointWithSecret,
    EventType,
    Replayed,
    ReplayRange,
    SecretRotation,
)
from app.inventory.schemas import Id
from app.models import WebhookDelivery

router = APIRouter(prefix="/api/v1", tags=["webhooks out"], responses=problem_responses(401, 403, 422))


def _hosts(request: Request) -> frozenset[str]:
    return request.app.state.settings.webhook_hosts


@router.post("/webhook-endpoints", status_code=201, response_model=EndpointWithSecret)
def create_endpoint(body: EndpointCreate, request: Request, session: SessionDep, _: Admin):
    """Register a receiver. Its signing secret is in this answer only (Standard Webhooks `whsec_…`)."""
    endpoint, secret = endpoints.register(session, body, keyring=request.app.state.keyring, allowed_hosts=_hosts(request))
    return EndpointWithSecret(**EndpointRead.model_validate(endpoint).model_dump(), secret=secret)


@router.get("/webhook-endpoints", response_model=list[EndpointRead])
def list_endpoints(session: SessionDep, _: Admin):
    return repository.list_endpoints(session)


@router.get("/webhook-endpoints/{endpoint_id}", response_model=EndpointRead, responses=problem_responses(404))
def get_endpoint(endpoint_id: Id, session: SessionDep, _: Admin):
    return repository.get_endpoint(session, endpoint_id)


@router.patch("/webhook-endpoints/{endpoint_id}", response_model=EndpointRead, responses=problem_responses(404))
def update_endpoint(endpoint_id: Id, body: EndpointUpdate, request: Request, session: SessionDep, _: Admin):
    """Change the URL, description or types wanted; disable or enable it again."""
    return endpoints.update(session, endpoint_id, body, allowed_hosts=_hosts(request))


@router.delete("/webhook-endpoints/{endpoint_id}", status_code=204, responses=problem_responses(404))
def delete_endpoint(endpoint_id: Id, session: SessionDep, _: Admin):
    endpoints.delete(session, endpoint_id)
    return Response(status_code=204)


@router.post("/webhook-endpoints/{endpoint_id}/rotate-secret", response_model=EndpointWithSecret,
             responses=problem_responses(404))
def rotate_secret(endpoint_id: Id, body: SecretRotation, request: Request, session: SessionDep, _: Admin):
    """A new secret, shown once; the old one keeps signing beside it for `grace_hours`."""
    endpoint, secret = endpoints.rotate(session, endpoint_id, grace=timedelta(hours=body.grace_hours),
                                        keyring=request.app.state.keyring)
    return EndpointWithSecret(**EndpointRead.model_validate(endpoint).model_dump(), secret=secret)


@router.get("/webhook-deliveries", response_model=Page[DeliveryRead], responses=problem_responses(400))
def list_deliveries(
    session: SessionDep,
    _: Admin,
    cursors: CursorsDep,
    endpoint_id: Id | None = None,
    status: Annotated[str | None, Query(pattern="^(pending|succeeded|failed)$")] = None,
    event_type: EventType | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
):
    """Oldest first: what was sent, what came back, how long it took, how many attempts."""
    stmt = repository.deliveries_query(endpoint_id=endpoint_id, status=status, event_type=event_type)
    rows, next_cursor = cursors.page(session, stmt, WebhookDelivery.id, resource="webhook-deliveries", limit=limit,
                                     cursor=cursor)
    return Page[DeliveryRead](items=[DeliveryRead.model_validate(r) for r in rows], next_cursor=next_cursor)


@router.post("/webhook-deliveries/{delivery_id}/replay", response_model=DeliveryRead,
             responses=problem_responses(404, 409))
def replay_delivery(delivery_id: Id, session: SessionDep, _: Admin):
    """Send it again: same id and body, signed anew, attempts counted from zero."""
    return endpoints.replay_one(session, delivery_id)


@router.post("/webhook-deliveries/replay", response_model=Replayed, responses=problem_responses(409))
def replay_deliveries(body: ReplayRange, session: SessionDep, _: Admin):
    """Send again every delivery of a time range (by when the event happened): failed ones by default."""
    ids = endpoints.replay_range(session, body)
    return Replayed(replayed=len(ids), delivery_ids=ids)
