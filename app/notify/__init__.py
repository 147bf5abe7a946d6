"""Keeping people informed: messages to the worker, their manager and support, rendered from
templates and delivered through the outbox (Apprise, or the local outbox of the embedded default)."""
