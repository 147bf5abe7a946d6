"""Reading an HTTP `Retry-After` header (RFC 9110 §10.2.3): delay-seconds or an HTTP-date."""

import time
from collections.abc import Callable
from email.utils import parsedate_to_datetime


def parse_retry_after(value: str | None, now: Callable[[], float] = time.time) -> float | None:
    """Seconds to wait (never negative), or None when the header is absent or unreadable."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - now())
    except (TypeError, ValueError):
        return None
