"""Sending one delivery: signed per Standard Webhooks (`webhook-id`, `webhook-timestamp`,
`webhook-signature`: HMAC-SHA256 over `id.timestamp.body`, with the maintained `standardwebhooks`
package), with a 10 s timeout and no redirects.

Each attempt is recorded on the delivery (status, latency, the first 2 KB of the answer) with when
the next one is due, on the spec's schedule: at once, then after 5 s, 5 min, 30 min, 2 h, 5 h, 10 h,
14 h, 20 h and 24 h (± 10% jitter), or later when the receiver's `Retry-After` says so. The same job
is tried again then (`Retry.retry_at`), so an endpoint's lane keeps its deliveries in the order they
happened. A 410 disables the endpoint; so does failing for three days (support is told)."""

import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import httpx
from sqlalchemy.orm import Session
from standardwebhooks.webhooks import Webhook

from app import clock, outbound_http
from app.db import unit_of_work
from app.integrations.webhooks import repository, secrets, urlguard
from app.keyring import Keyring
from app.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint
from app.notify.queue import queue_service_alert
from app.outbox import JobContext, Kind, RetryPolicy
from app.retry_after import parse_retry_after

SCHEDULE = (timedelta(seconds=5), timedelta(minutes=5), timedelta(minutes=30), timedelta(hours=2),
            timedelta(hours=5), timedelta(hours=10), timedelta(hours=14), timedelta(hours=20), timedelta(hours=24))
ATTEMPTS = len(SCHEDULE) + 1
JITTER = 0.1
DISABLE_AFTER = timedelta(days=3)
KEEP_ANSWER = 2048
USER_AGENT = "spares-swap-service-webhooks/1"


@dataclass(frozen=True)
class WebhookConfig:
    allowed_hosts: frozenset[str]
    timeout: float = 10.0
    concurrency: int = 4  # endpoints served at once by one worker (each endpoint one at a time)


class Retry(Exception):
    """The delivery failed and is due again at `retry_at` (the outbox keeps the job in its lane)."""

    retryable = True
    retry_after = None

    def __init__(self, message: str, retry_at: datetime) -> None:
        super().__init__(message)
        self.retry_at = retry_at


@dataclass(frozen=True)
class Attempt:
    status: int | None
    body: str | None
    latency_ms: int
    error: str | None
    retry_after: float | None

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


def signature(secrets_: list[str], message_id: str, at: datetime, body: str) -> str:
    """Every current secret signs: during a rotation the header carries both signatures."""
    return " ".join(Webhook(s).sign(message_id, at, body) for s in secrets_)


def next_delay(attempts: int, retry_after: float | None, rng: random.Random | None = None) -> timedelta:
    """After `attempts` failed attempts: the schedule's next step with jitter, or the receiver's
    Retry-After when that is later."""
    delay = SCHEDULE[min(attempts, len(SCHEDULE)) - 1] * (1 + (rng or random).uniform(-JITTER, JITTER))
    return max(delay, timedelta(seconds=retry_after)) if retry_after else delay


def _signing_secrets(keyring: Keyring, endpoint: WebhookEndpoint, session: Session, now: datetime) -> list[str]:
    found = [secrets.unseal(keyring, endpoint.secret_encrypted, session)]
    if endpoint.previous_secret_encrypted and endpoint.previous_secret_until and endpoint.previous_secret_until > now:
        found.append(secrets.unseal(keyring, endpoint.previous_secret_encrypted, session))
    return found


def post(client: httpx.Client, url: str, body: str, headers: dict[str, str], timeout: float) -> Attempt:
    started = time.monotonic()
    try:
        answer = client.post(url, content=body.encode(), headers=headers, timeout=timeout, follow_redirects=False)
    except httpx.TimeoutException:
        return Attempt(None, None, int((time.monotonic() - started) * 1000), f"no answer within {timeout:g} s", None)
    except httpx.HTTPError as exc:
        return Attempt(None, None, int((time.monotonic() - started) * 1000), f"{type(exc).__name__}: {exc}", None)
    latency = int((time.monotonic() - started) * 1000)
    ok = 200 <= answer.status_code < 300
    return Attempt(answer.status_code, answer.text[:KEEP_ANSWER], latency,
                   None if ok else f"answered {answer.status_code}",
                   parse_retry_after(answer.headers.get("retry-after"), lambda: clock.now().timestamp()))


def disable(session: Session, endpoint: WebhookEndpoint, reason: str) -> None:
    now = clock.now()
    endpoint.enabled, endpoint.disabled_reason, endpoint.updated_at = False, reason[:300], now
    repository.fail_pending(session, endpoint.id, f"endpoint disabled: {reason}")
    queue_service_alert(session, f"webhook-endpoint:{endpoint.id}:disabled:{now.isoformat()}",
                        headline=f"Webhook endpoint {endpoint.id} disabled",
                        message=f"The webhook endpoint {endpoint.url} was disabled: {reason}. Its pending deliveries "
                                "failed; fix the receiver, enable it again and replay them.")


def record(session: Session, delivery: WebhookDelivery, endpoint: WebhookEndpoint, attempt: Attempt) -> None:
    """The attempt, and what follows it: done, the next attempt queued, or failed for good."""
    now = clock.now()
    delivery.attempts += 1
    delivery.last_attempt_at, delivery.response_status, delivery.response_body = now, attempt.status, attempt.body
    delivery.latency_ms, delivery.error, delivery.next_attempt_at = attempt.latency_ms, attempt.error, None
    if attempt.ok:
        delivery.status = DeliveryStatus.SUCCEEDED
        endpoint.failing_since = None
        return
    endpoint.failing_since = endpoint.failing_since or now
    if attempt.status == 410:
        delivery.status = DeliveryStatus.FAILED
        disable(session, endpoint, "the receiver answered 410 Gone")
    elif now - endpoint.failing_since >= DISABLE_AFTER:
        delivery.status = DeliveryStatus.FAILED
        disable(session, endpoint, f"every delivery failed for {DISABLE_AFTER.days} days")
    elif delivery.attempts >= ATTEMPTS:
        delivery.status = DeliveryStatus.FAILED
    else:
        delivery.next_attempt_at = now + next_delay(delivery.attempts, attempt.retry_after)


def deliver(ctx: JobContext, *, config: WebhookConfig, keyring: Keyring,
            client: Callable[[], httpx.Client]) -> None:
    delivery_id = ctx.payload["delivery_id"]
    with unit_of_work(ctx.factory) as session:
        delivery = repository.find_delivery(session, delivery_id, for_update=True)
        if delivery is None or delivery.status != DeliveryStatus.PENDING:  # its endpoint was deleted, or done
            return
        endpoint = repository.get_endpoint(session, delivery.endpoint_id)
        if not endpoint.enabled:
            delivery.status, delivery.error = DeliveryStatus.FAILED, "endpoint disabled"
            return
        now = clock.now()
        signing = _signing_secrets(keyring, endpoint, session, now)
        url, body, message_id, endpoint_id = endpoint.url, delivery.body, delivery.message_id, endpoint.id
    try:
        urlguard.check(url, config.allowed_hosts)
    except urlguard.Refused as refused:
        attempt = Attempt(None, None, 0, f"not sent: {refused.detail}", None)
    else:
        headers = {"content-type": "application/json", "user-agent": USER_AGENT, "webhook-id": message_id,
                   "webhook-timestamp": str(int(now.timestamp())),
                   "webhook-signature": signature(signing, message_id, now, body)}
        with client() as http:
            attempt = post(http, url, body, headers, config.timeout)
    with unit_of_work(ctx.factory) as session:
        ctx.fence(session)  # a worker that lost this job records nothing (the new holder sends again)
        # The endpoint's row before the delivery's, the order disabling an endpoint locks them in.
        endpoint = repository.find_endpoint(session, endpoint_id, for_update=True)
        delivery = repository.find_delivery(session, delivery_id, for_update=True)
        if endpoint is None or delivery is None or delivery.status != DeliveryStatus.PENDING:
            return
        record(session, delivery, endpoint, attempt)
        retry_at = delivery.next_attempt_at
    if retry_at is not None:
        raise Retry(f"attempt {delivery.attempts}: {attempt.error}", retry_at)


def kind(*, config: WebhookConfig, keyring: Keyring, client: Callable[[], httpx.Client] = outbound_http.client) -> Kind:
    return Kind(lambda ctx: deliver(ctx, config=config, keyring=keyring, client=client), "Sending a webhook",
                RetryPolicy(max_attempts=ATTEMPTS + 1), concurrency=config.concurrency)
