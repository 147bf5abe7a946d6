"""Logging (the standard library's). Secrets never go in a log line."""

import logging
import re

# Paths that carry a secret: the worker's tracking token and the carrier's webhook secret.
_SECRET_PATH = re.compile(r"(/t/|/webhooks/shippo/)[^/?\s\"]+")


def redact_path(path: str) -> str:
    """A path as it may be logged: capability tokens and webhook secrets replaced by '***'."""
    return _SECRET_PATH.sub(r"\1***", path)


class RedactSecretPaths(logging.Filter):
    """For uvicorn's access log, whose record args are (client, method, path, http version, status)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and len(record.args) >= 3 and isinstance(record.args[2], str):
            record.args = (*record.args[:2], redact_path(record.args[2]), *record.args[3:])
        return True


def configure_logging(level: str = "INFO") -> None:
    logging.basicConfig(level=level.upper(), format="%(message)s")
    logging.getLogger("apscheduler").setLevel(logging.WARNING)  # a line per tick is noise
    # The HTTP client logs each call with its whole URL, and a receiver's URL may carry its credential
    # (`?token=…`); what a call came to is recorded on the delivery or the note instead.
    for chatty in ("httpx", "httpcore"):
        logging.getLogger(chatty).setLevel(logging.WARNING)
    access = logging.getLogger("uvicorn.access")  # uvicorn's own log config keeps logger filters
    if not any(isinstance(f, RedactSecretPaths) for f in access.filters):
        access.addFilter(RedactSecretPaths())
