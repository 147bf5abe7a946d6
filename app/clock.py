"""The one clock. Domain code takes times as arguments; services ask this module."""

from collections.abc import Callable
from datetime import UTC, datetime

_now: Callable[[], datetime] = lambda: datetime.now(UTC)


def now() -> datetime:
    return _now()


def set_clock(func: Callable[[], datetime] | None) -> None:
    """Tests set a fixed or moving clock; None restores the wall clock."""
    global _now
    _now = func if func is not None else (lambda: datetime.now(UTC))
