"""Idempotency keys (Stripe semantics): the first response to a key is stored in the same
transaction as the business write and replayed byte for byte; the same key with another body
is refused."""

import hashlib
import json
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from app import clock
from app.db import insert_ignoring
from app.errors import BadRequest, Unprocessable
from app.models import IdempotencyRecord

KEEP_FOR = timedelta(hours=48)  # promised: at least 24 h
# Visible ASCII only: no spaces (an unfolded continuation line), control characters or other
# encodings, which would be stored garbled and never match a retry.
KEY_PATTERN = r"^[\x21-\x7e]{1,255}$"
_KEY = re.compile(KEY_PATTERN)


def check_key(key: str) -> str:
    if not _KEY.fullmatch(key):
        raise BadRequest("An Idempotency-Key is 1 to 255 visible ASCII characters (no spaces, control "
                         "characters or non-ASCII letters).", field="Idempotency-Key")
    return key


@dataclass(frozen=True)
class StoredResponse:
    status: int
    body: bytes
    headers: dict


def fingerprint(payload: dict) -> str:
    """Hash of the request as parsed: key order and whitespace do not make a body 'different'."""
    return hashlib.sha256(json.dumps(payload, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def lookup(session: Session, *, api_key_id: int, key: str, request_hash: str) -> StoredResponse | None:
    record = session.scalars(
        select(IdempotencyRecord).where(IdempotencyRecord.api_key_id == api_key_id, IdempotencyRecord.key == key)
    ).one_or_none()
    if record is None:
        return None
    if record.request_hash != request_hash:
        raise Unprocessable(
            "This Idempotency-Key was already used with a different request body. Use a new key for a new request.",
            field="Idempotency-Key",
        )
    return StoredResponse(record.response_status, record.response_body, record.response_headers or {})


def claim(session: Session, *, api_key_id: int, key: str, request_hash: str, response: StoredResponse) -> bool:
    """Claims the key in one statement (`INSERT … ON CONFLICT DO NOTHING RETURNING`): True when this
    request holds it now. False when it was claimed before: `lookup` then says what to answer. A
    concurrent holder that has not committed yet makes this wait (PostgreSQL; SQLite serialises
    writers), so the first response is the one replayed."""
    return insert_ignoring(session, IdempotencyRecord.__table__, {
        "api_key_id": api_key_id, "key": key, "request_hash": request_hash, "response_status": response.status,
        "response_body": response.body, "response_headers": response.headers, "created_at": clock.now(),
    }, key=("api_key_id", "key"), returning=True) is not None


def settle(session: Session, *, api_key_id: int, key: str, response: StoredResponse) -> None:
    """The claimed key gets the response it will replay (in the transaction of the business write)."""
    session.execute(
        update(IdempotencyRecord)
        .where(IdempotencyRecord.api_key_id == api_key_id, IdempotencyRecord.key == key)
        .values(response_status=response.status, response_body=response.body, response_headers=response.headers)
    )


def purge_expired(session: Session, *, now: datetime | None = None) -> int:
    cutoff = (now or clock.now()) - KEEP_FOR
    result = session.execute(delete(IdempotencyRecord).where(IdempotencyRecord.created_at < cutoff))
    return result.rowcount or 0
