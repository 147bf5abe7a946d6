"""Opaque cursor pagination over an increasing integer id (Stripe-style `next_cursor`).

A cursor carries the last id seen and an HMAC of it and of the list it belongs to, so only cursors
this service issued for this list are accepted: a forged, edited or out-of-range one is a 400, never
a query with a number the database cannot hold."""

import base64
import binascii
import hashlib
import hmac

from sqlalchemy import Select
from sqlalchemy.orm import Session

from app.errors import BadRequest
from app.inventory.schemas import MAX_ID
from app.keyring import Keyring

_ID_BYTES, _MAC_BYTES = 4, 12


class Cursors:
    PURPOSE = "pagination-cursor"

    def __init__(self, keyring: Keyring) -> None:
        self._keyring = keyring

    def _mac(self, session: Session, resource: str, body: bytes) -> bytes:
        key = self._keyring.key(self.PURPOSE, session)
        return hmac.new(key, resource.encode() + b":" + body, hashlib.sha256).digest()[:_MAC_BYTES]

    def encode(self, session: Session, resource: str, last_id: int) -> str:
        body = last_id.to_bytes(_ID_BYTES, "big")
        return base64.urlsafe_b64encode(body + self._mac(session, resource, body)).decode().rstrip("=")

    def decode(self, session: Session, resource: str, cursor: str) -> int:
        try:
            raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        except (ValueError, binascii.Error):
            raw = b""
        body, mac = raw[:_ID_BYTES], raw[_ID_BYTES:]
        if len(raw) != _ID_BYTES + _MAC_BYTES or not hmac.compare_digest(mac, self._mac(session, resource, body)):
            raise BadRequest("The cursor is not one this service issued for this list; start again without it.",
                             field="cursor")
        last_id = int.from_bytes(body, "big")
        if not 1 <= last_id <= MAX_ID:
            raise BadRequest("The cursor is out of range.", field="cursor")
        return last_id

    def page_by_priority(self, session, stmt: Select, priority_column, id_column, *, resource: str, limit: int,
                         cursor: str | None):
        """Like `page`, highest priority first (0–3), then by id. The cursor carries both."""
        resource = f"{resource}:by-priority"
        if cursor:
            packed = self.decode(session, resource, cursor)
            priority, last_id = packed >> 28, packed & (2**28 - 1)
            stmt = stmt.where((priority_column < priority) | ((priority_column == priority) & (id_column > last_id)))
        rows = list(session.scalars(stmt.order_by(priority_column.desc(), id_column).limit(limit + 1)).unique())
        next_cursor = None
        if len(rows) > limit:
            last = rows[limit - 1]
            next_cursor = self.encode(session, resource, (last.priority << 28) | last.id)
        return rows[:limit], next_cursor

    def page(self, session, stmt: Select, id_column, *, resource: str, limit: int, cursor: str | None):
        """Run `stmt` ordered by id after the cursor; returns (rows, next_cursor)."""
        if cursor:
            stmt = stmt.where(id_column > self.decode(session, resource, cursor))
        rows = list(session.scalars(stmt.order_by(id_column).limit(limit + 1)).unique())
        next_cursor = self.encode(session, resource, rows[limit - 1].id) if len(rows) > limit else None
        return rows[:limit], next_cursor
