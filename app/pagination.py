"""Opaque cursor pagination over an increasing integer id (Stripe-style `next_cursor`)."""

import base64
import binascii

from sqlalchemy import Select

from app.errors import BadRequest


def encode_cursor(last_id: int) -> str:
    return base64.urlsafe_b64encode(f"id:{last_id}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        kind, value = raw.split(":", 1)
        if kind != "id":
            raise ValueError
        return int(value)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise BadRequest("The cursor is not one this service issued.", field="cursor") from None


def page(session, stmt: Select, id_column, *, limit: int, cursor: str | None):
    """Run `stmt` ordered by id after the cursor; returns (rows, next_cursor)."""
    if cursor:
        stmt = stmt.where(id_column > decode_cursor(cursor))
    rows = list(session.scalars(stmt.order_by(id_column).limit(limit + 1)).unique())
    next_cursor = encode_cursor(rows[limit - 1].id) if len(rows) > limit else None
    return rows[:limit], next_cursor
