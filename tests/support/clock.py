"""A clock a test sets and moves by hand."""

from datetime import UTC, datetime, timedelta


class FrozenClock:
    def __init__(self, at: datetime):
        self.at = at

    def __call__(self) -> datetime:
        return self.at

    def set(self, at: datetime) -> None:
        self.at = at.astimezone(UTC)

    def advance(self, **delta) -> None:
        self.at = self.at + timedelta(**delta)
