"""The worker's tracking link: a capability URL. The token has 192 random bits; only its SHA-256
is stored, so the link is shown when issued (at intake, or re-issued on request) and never again."""

import hashlib
import secrets

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import SwapRequest


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
    return session.scalars(select(SwapRequest).where(SwapRequest.tracking_token_hash == _hash(token))).unique().first()
