"""Keyset pagination with one envelope for every list: `items` and `next_cursor`.

Offsets get slower the deeper one pages and skip or repeat rows when rows arrive in between; a cursor names the
last row's sort key and the next page starts strictly after it, so paging through a growing contact list neither
skips nor repeats anyone. The cursor is opaque to clients (URL-safe base64 of the key); a tampered one is a 422
(`invalid_cursor`), never a 500. Lists that are computed rather than stored (a preview, a report) page through the
same envelope with an offset inside the cursor (`window`).
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Generic, TypeVar

import orjson
from fastapi import Query
from pydantic import BaseModel, Field
from sqlalchemy import ColumnElement, Select, literal, tuple_
from sqlalchemy.orm import Session

from siyu.kit.errors import Invalid

T = TypeVar("T")
U = TypeVar("U")

MAX_LIMIT = 200
DEFAULT_LIMIT = 50

#: Query parameters of every list endpoint.
Cursor = Annotated[str | None, Query(max_length=400, description="`next_cursor` of the previous page; omit for the "
                                                                  "first page")]
Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT, description="page size")]


@dataclass
class Page(Generic[T]):
    items: list[T]
    next_cursor: str | None

    def map(self, fn: Callable[[T], U]) -> Page[U]:
        return Page([fn(x) for x in self.items], self.next_cursor)


class PageOut(BaseModel, Generic[T]):
    """One page of a list."""

    items: list[T]
    next_cursor: str | None = Field(description="pass as `cursor` to get the next page; null on the last page")

    @classmethod
    def of(cls, page: Page[Any], fn: Callable[[Any], T]) -> PageOut[T]:
        return cls(items=[fn(x) for x in page.items], next_cursor=page.next_cursor)


def encode(key: Sequence[Any]) -> str:
    parts = [{"t": v.isoformat()} if isinstance(v, datetime) else v for v in key]
    return base64.urlsafe_b64encode(orjson.dumps(parts)).decode().rstrip("=")


def decode(cursor: str, width: int) -> list[Any]:
    bad = Invalid("this cursor is not one siyu gave out; start again without it", code="invalid_cursor")
    try:
        raw = orjson.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (binascii.Error, ValueError, orjson.JSONDecodeError):
        raise bad from None
    if not isinstance(raw, list) or len(raw) != width:
        raise bad
    out: list[Any] = []
    for v in raw:
        if isinstance(v, dict) and isinstance(v.get("t"), str):
            try:
                moment = datetime.fromisoformat(v["t"])
            except ValueError:
                raise bad from None
            if moment.tzinfo is None:  # siyu only gives out aware times
                raise bad
            out.append(moment)
        elif isinstance(v, bool) or not isinstance(v, int | str) or (isinstance(v, int) and not _int64(v)):
            raise bad
        else:
            out.append(v)
    return out


def keyset(session: Session, query: Select[*tuple[Any, ...]], order: Sequence[Any], *, cursor: str | None,
           limit: int, key: Callable[[Any], Sequence[Any]], desc: bool = True, scalars: bool = True) -> Page[Any]:
    """The page of `query` after `cursor`, ordered by `order` (all descending or all ascending; the last column
    unique, e.g. the id, so the order is total). `key(row)` gives a row's values of `order`."""
    limit = max(1, min(MAX_LIMIT, limit))
    if cursor:
        after = decode(cursor, len(order))
        if not all(isinstance(v, _python_type(c)) for v, c in zip(after, order, strict=True)):
            raise Invalid("this cursor is not one siyu gave out; start again without it", code="invalid_cursor")
        left = order[0] if len(order) == 1 else tuple_(*order)
        values = [literal(v, c.type) for v, c in zip(after, order, strict=True)]  # typed: dates bind as stored
        right = values[0] if len(order) == 1 else tuple_(*values)
        query = query.where(left < right if desc else left > right)
    query = query.order_by(*(c.desc() if desc else c.asc() for c in order)).limit(limit + 1)
    rows = list(session.scalars(query) if scalars else session.execute(query).all())
    more = len(rows) > limit
    rows = rows[:limit]
    return Page(rows, encode(key(rows[-1])) if more and rows else None)


def _int64(v: int) -> bool:
    return -(2**63) <= v < 2**63


def _python_type(column: ColumnElement[Any]) -> type:
    try:
        return column.type.python_type
    except NotImplementedError:
        return object


def window(items: Sequence[T], *, cursor: str | None, limit: int) -> Page[T]:
    """A page of a computed list: the cursor carries the offset."""
    limit = max(1, min(MAX_LIMIT, limit))
    start = decode(cursor, 1)[0] if cursor else 0
    if not isinstance(start, int) or start < 0:
        raise Invalid("this cursor is not one siyu gave out; start again without it", code="invalid_cursor")
    part = list(items[start:start + limit])
    return Page(part, encode([start + limit]) if start + limit < len(items) else None)
