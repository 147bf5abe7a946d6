"""The worker's tracking link: a capability URL. The token has 192 random bits; only its SHA-256
is stored, so the link is shown when issued (at intake, or re-issued on request) and never again.
It stops working two weeks after the swap ends (closed or cancelled)."""

import hashlib
import secrets
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from app import clock
from app.models import SwapRequest
from app.swaps.states import SwapStatus

EXPIRES_AFTER_END = timedelta(days=14)
ENDED = (SwapStatus.CLOSED, SwapStatus.CANCELLED)


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue(swap: SwapRequest) -> str:
    """A new token for the swap (any earlier link stops working)."""
    token = secrets.token_urlsafe(24)
    swap.tracking_token_hash = _hash(token)
    return token


def find(session: Session, token: str) -> SwapRequest | None:
    if not 20 <= len(token) <= 64:
        return None
    swap = session.scalars(select(SwapRequest).where(SwapRequest.tracking_token_hash == _hash(token))).unique().first()
    if swap is not None and swap.status in ENDED and clock.now() - swap.updated_at > EXPIRES_AFTER_END:
        return None  # the swap ended (its status was the last change) over two weeks ago
    return swap
