"""The SQL of ticket notes."""

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from app.db import insert_new
from app.models import TicketNote


def notes_query(*, swap_id: int | None, status: str | None) -> Select:
    stmt = select(TicketNote)
    if swap_id is not None:
        stmt = stmt.where(TicketNote.swap_id == swap_id)
    if status is not None:
        stmt = stmt.where(TicketNote.status == status)
    return stmt


def note_for_update(session: Session, note_id: int) -> TicketNote | None:
    return session.scalars(select(TicketNote).where(TicketNote.id == note_id).with_for_update()).first()


def add(session: Session, row: TicketNote) -> TicketNote | None:
    """Inserts the note (not yet in the session): the note as written, or None when one with its dedupe
    key exists already (queued by another process at the same moment included: the unique key says so
    in the same statement)."""
    return insert_new(session, row, key=("dedupe_key",))
