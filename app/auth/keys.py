"""API keys: ≥128 random bits with a readable prefix, stored as SHA-256, shown once, revocable."""

import hashlib
import secrets
import threading
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime, timedelta
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


@dataclass(frozen=True)
class Caller:
    """Who a request comes from: what the routes need of its key."""

    id: int
    name: str
    roles: tuple[str, ...]


class KeyCache:
    """Keys seen recently, by hash, for `ttl`: most requests are then authenticated without the
    database. A revoked key stops working within `ttl` on every process (each reads the key again
    once its entry is that old); unknown keys are never cached."""

    def __init__(self, ttl: timedelta, size: int = 1024) -> None:
        self.ttl, self.size = ttl, size
        self._entries: OrderedDict[str, tuple[Caller, datetime]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, plain: str) -> Caller | None:
        digest = hash_key(plain)
        with self._lock:
            entry = self._entries.get(digest)
            if entry is None or clock.now() >= entry[1]:
                return None
            self._entries.move_to_end(digest)
            return entry[0]

    def put(self, plain: str, caller: Caller) -> None:
        digest = hash_key(plain)
        with self._lock:
            self._entries[digest] = (caller, clock.now() + self.ttl)
            self._entries.move_to_end(digest)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)


def caller_of(row: ApiKey) -> Caller:
    return Caller(id=row.id, name=row.name, roles=tuple(row.roles))


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
