"""What happens when an event is recorded: handlers that run in the recording transaction, and jobs
queued in it. Built once, by `bootstrap()`; nothing registers itself at import time."""

from collections import defaultdict
from collections.abc import Callable
from typing import TypeVar

from sqlalchemy.orm import Session

from app import outbox
from app.events import Event

E = TypeVar("E", bound=Event)


class Dispatcher:
    def __init__(self) -> None:
        self._handlers: dict[type[Event], list[Callable[[Session, Event], None]]] = defaultdict(list)

    def on(self, event_type: type[E], handler: Callable[[Session, E], None]) -> None:
        """Run `handler(session, event)` in the transaction that records the event."""
        self._handlers[event_type].append(handler)

    def queue(self, event_type: type[E], kind: str, payload: Callable[[E], dict]) -> None:
        """Queue a `kind` job, in the transaction that records the event."""
        self.on(event_type, lambda session, event: outbox.enqueue(session, kind, payload(event)))

    def dispatch(self, session: Session, event: Event) -> None:
        for handler in self._handlers.get(type(event), ()):
            handler(session, event)

    def handles(self, event_type: type[Event]) -> bool:
        return bool(self._handlers.get(event_type))
