"""API-only shapes (pages, small answers). Domain inputs/outputs live beside their services."""

from typing import Generic, TypeVar

from pydantic import BaseModel

T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = None


class ImportResult(BaseModel):
    imported: int
    unit_ids: list[int]
