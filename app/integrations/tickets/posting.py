"""Posting a queued note on its ticket: an outbox job in the ticket's lane (one note at a time per
ticket, in order; a slow tool holds up nothing else). A refusal that will not change (401, 404) fails
the note at once; a busy or broken tool (429, 5xx, no answer) is tried again, after its Retry-After
when it sends one. The swap is never touched either way."""

from collections.abc import Callable
from datetime import timedelta

from sqlalchemy.orm import Session

from app import clock
from app.db import unit_of_work
from app.integrations.tickets import repository
from app.integrations.tickets.connectors import (
    TicketConnector,
    TicketError,
    TicketSystem,
    connector_for,
)
from app.integrations.tickets.notes import TicketConfig
from app.models import OutboxJob, TicketNoteStatus
from app.outbox import JobContext, Kind, RetryPolicy

RETRY = RetryPolicy(max_attempts=10, base=timedelta(seconds=30), cap=timedelta(hours=1))


def post(ctx: JobContext, *, config: TicketConfig,
         connect: Callable[[TicketSystem], TicketConnector] = connector_for) -> None:
    note_id = ctx.payload["note_id"]
    with unit_of_work(ctx.factory) as session:
        note = repository.note_for_update(session, note_id)
        if note is None or note.status != TicketNoteStatus.QUEUED:
            return
        name, system = note.system, config.systems.get(note.system)
        ticket, body, public = note.ticket_id, note.body, note.public
        note.attempts += 1
        ctx.fence(session)
    if system is None:
        raise TicketError(f"ticket system '{name}' is no longer configured", retryable=False)
    try:
        posted = connect(system).post_comment(ticket, body, public=public)
    except TicketError as exc:
        with unit_of_work(ctx.factory) as session:
            note = repository.note_for_update(session, note_id)
            note.response_status, note.error = exc.status, str(exc)[:2000]
        raise
    with unit_of_work(ctx.factory) as session:
        note = repository.note_for_update(session, note_id)
        note.status, note.posted_at, note.response_status = TicketNoteStatus.POSTED, clock.now(), posted.status
        note.external_id, note.error = posted.external_id, None


def _failed_for_good(session: Session, job: OutboxJob, message: str) -> None:
    note = repository.note_for_update(session, job.payload["note_id"])
    if note is not None and note.status == TicketNoteStatus.QUEUED:
        note.status, note.error = TicketNoteStatus.FAILED, message[:2000]


def kind(config: TicketConfig) -> Kind:
    return Kind(lambda ctx: post(ctx, config=config), "Posting a note on the ticket", RETRY, _failed_for_good,
                concurrency=3)
