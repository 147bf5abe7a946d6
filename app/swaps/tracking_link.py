"""The worker's tracking links: capability URLs. A token has 192 random bits; only its SHA-256 is
stored, so a link is shown when issued and never again. The API issues one per swap (issuing it
again revokes the last); each message to the worker carries a link of its own, minted as it is sent.
Every link stops working two weeks after the swap ends (closed or cancelled)."""

import hashlib
import secrets
from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app import clock, writes
from app.models import SwapRequest, TrackingLink
from app.swaps.states import SwapStatus

EXPIRES_AFTER_END = timedelta(days=14)
ENDED = (SwapStatus.CLOSED, SwapStatus.CANCELLED)
API, MESSAGE = "api", "message"


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue(session: Session, swap: SwapRequest, *, purpose: str = API, first: bool = False) -> str:
    """A new token for the swap. An API link replaces the swap's earlier API link (`first`: the swap
    was just taken in and has none); links sent in messages stay valid (the worker may open any)."""
    now = clock.now()
    if purpose == API and not first:
        session.execute(update(TrackingLink).where(TrackingLink.swap_id == swap.id, TrackingLink.purpose == API,
                                                   TrackingLink.revoked_at.is_(None)).values(revoked_at=now))
    token = secrets.token_urlsafe(24)
    writes.add(session, TrackingLink.__table__, {"swap_id": swap.id, "token_hash": _hash(token), "purpose": purpose,
                                                 "created_at": now, "revoked_at": None})
    return token


def find(session: Session, token: str) -> SwapRequest | None:
    if not 20 <= len(token) <= 64:
        return None
    stmt = (select(SwapRequest).join(TrackingLink, TrackingLink.swap_id == SwapRequest.id)
            .where(TrackingLink.token_hash == _hash(token), TrackingLink.revoked_at.is_(None)))
    swap = session.scalars(stmt).unique().first()
    if swap is not None and swap.status in ENDED and clock.now() - swap.updated_at > EXPIRES_AFTER_END:
        return None  # the swap ended (its status was the last change) over two weeks ago
    return swap


def mask(text: str, token: str) -> str:
    """`text` with the token hidden: what is kept of a message that carried a link."""
    return text.replace(token, "<link>")
