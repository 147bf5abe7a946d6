"""API keys: ≥128 random bits with a readable prefix, stored as SHA-256, shown once, revocable."""

import hashlib
import secrets
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.orm import Session

from app import clock
from app.errors import Conflict, NotFound, Unprocessable
from app.models import ApiKey


class Role(StrEnum):
    ADMIN = "admin"
    SUPPORT = "support"
    WAREHOUSE = "warehouse"
    INTEGRATION = "integration"


KEY_PREFIX = "spk_"


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def create_api_key(session: Session, *, name: str, roles: list[str]) -> tuple[ApiKey, str]:
    """Returns the stored row and the plain key (the only time it exists outside the caller)."""
    try:
        role_values = sorted({Role(r).value for r in roles})
    except ValueError:
        raise Unprocessable(f"Roles must be among: {', '.join(r.value for r in Role)}.", field="roles") from None
    if not role_values:
        raise Unprocessable("A key needs at least one role.", field="roles")
    if session.scalar(select(ApiKey.id).where(ApiKey.name == name)):
        raise Conflict(f"An API key named '{name}' already exists.", field="name")
    plain = KEY_PREFIX + secrets.token_urlsafe(32)  # 256 bits
    row = ApiKey(
        name=name, prefix=plain[:10], key_hash=hash_key(plain), roles=role_values, created_at=clock.now()
    )
    session.add(row)
    session.flush()
    return row, plain


def authenticate(session: Session, plain: str) -> ApiKey | None:
    row = session.scalars(select(ApiKey).where(ApiKey.key_hash == hash_key(plain))).one_or_none()
    if row is None or row.revoked_at is not None:
        return None
    return row


def revoke_api_key(session: Session, name: str) -> ApiKey:
    row = session.scalars(select(ApiKey).where(ApiKey.name == name)).one_or_none()
    if row is None:
        raise NotFound(f"No API key named '{name}'.")
    row.revoked_at = clock.now()
    session.flush()
    return row
