"""Offset pagination with a hard page-size ceiling so no list endpoint can be asked for everything."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")

MAX_LIMIT = 200


@dataclass
class Page(Generic[T]):
    items: list[T]
    total: int
    offset: int
    limit: int

    @property
    def has_next(self) -> bool:
        return self.offset + self.limit < self.total

    @property
    def has_prev(self) -> bool:
        return self.offset > 0


def clamp(offset: int, limit: int) -> tuple[int, int]:
    return max(0, offset), max(1, min(MAX_LIMIT, limit))
