"""The one clock. Domain code takes times as arguments; services ask this module."""

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

_now: Callable[[], datetime] = lambda: datetime.now(UTC)


def now() -> datetime:
    return _now()


def set_clock(func: Callable[[], datetime] | None) -> None:
    """Tests set a fixed or moving clock; None restores the wall clock."""
    global _now
    _now = func if func is not None else (lambda: datetime.now(UTC))


class FileClock:
    """A clock several processes share, for drills and simulations: the time is the ISO 8601 instant
    written in a file (re-read when the file changes)."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._seen: tuple[float, datetime] | None = None

    def __call__(self) -> datetime:
        stamp = os.stat(self.path).st_mtime_ns
        if self._seen is None or self._seen[0] != stamp:
            with open(self.path, encoding="utf-8") as f:
                self._seen = (stamp, datetime.fromisoformat(f.read().strip()).astimezone(UTC))
        return self._seen[1]


@contextmanager
def using(func: Callable[[], datetime]) -> Iterator[None]:
    """Run a block on another clock (a simulation's), then put back the one before."""
    global _now
    before, _now = _now, func
    try:
        yield
    finally:
        _now = before
