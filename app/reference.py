"""Reference data read on every intake and changed rarely — the depots' calendars, each model's
substitutes, which models exist — kept in memory instead of read each time.

A change committed by this process clears the cache at once (the sessions' own commits are watched
for written depots and models); a change made by another process is seen within `ttl` seconds
(REFERENCE_CACHE_SECONDS), when each entry is read again. The age is measured on the monotonic
clock: it bounds staleness in real time, whatever the service's (injectable) clock says."""

import threading
import time
from collections.abc import Callable
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session, sessionmaker

from app.models import Depot, DeviceModel

REFERENCE = "reference"  # the session factory's info key
_CHANGED = "reference_changed"
_WATCHED = (Depot, DeviceModel)


class ReferenceCache:
    def __init__(self, ttl: float, *, now: Callable[[], float] = time.monotonic) -> None:
        self.ttl, self._now = ttl, now
        self._entries: dict[Any, tuple[float, Any]] = {}
        self._lock = threading.Lock()

    def get(self, key: Any, load: Callable[[], Any], *, keep: Callable[[Any], bool] | None = None) -> Any:
        """The value under `key`, loaded if missing or older than `ttl`; kept unless `keep` says no."""
        now = self._now()
        with self._lock:
            entry = self._entries.get(key)
        if entry is not None and now - entry[0] < self.ttl:
            return entry[1]
        value = load()
        if keep is None or keep(value):
            with self._lock:
                self._entries[key] = (now, value)
        return value

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


def cached(session: Session, key: Any, load: Callable[[], Any], *, keep: Callable[[Any], bool] | None = None) -> Any:
    """`load()`'s value, from the cache of the session's factory if it has one."""
    cache = session.info.get(REFERENCE)
    return load() if cache is None else cache.get(key, load, keep=keep)


def watch(factory: sessionmaker, cache: ReferenceCache) -> None:
    """Clear `cache` after any commit of `factory`'s sessions that wrote a depot or a model."""

    @event.listens_for(factory, "before_flush")
    def _note(session, _flush_context, _instances):
        if any(isinstance(o, _WATCHED) for o in (*session.new, *session.dirty, *session.deleted)):
            session.info[_CHANGED] = True

    @event.listens_for(factory, "after_commit")
    def _clear(session):
        if session.info.pop(_CHANGED, False):
            cache.clear()

    @event.listens_for(factory, "after_rollback")
    def _forget(session):
        session.info.pop(_CHANGED, None)
