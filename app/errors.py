"""Domain errors. Each carries the HTTP status it maps to; one handler renders them as
application/problem+json, so services never import FastAPI."""

from typing import Any


class DomainError(Exception):
    status = 400
    title = "Bad request"
    type_slug = "bad-request"

    def __init__(self, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extra = extra


class NotFound(DomainError):
    status = 404
    title = "Not found"
    type_slug = "not-found"


class Conflict(DomainError):
    status = 409
    title = "Conflict"
    type_slug = "conflict"


class InvalidTransition(Conflict):
    title = "Transition not allowed"
    type_slug = "invalid-transition"


class Unprocessable(DomainError):
    status = 422
    title = "Unprocessable request"
    type_slug = "unprocessable"


class BadRequest(DomainError):
    pass


class PayloadTooLarge(DomainError):
    status = 413
    title = "Payload too large"
    type_slug = "payload-too-large"


class UnsupportedMediaType(DomainError):
    status = 415
    title = "Unsupported media type"
    type_slug = "unsupported-media-type"
