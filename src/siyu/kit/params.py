"""Integer parameters at the request edge: ids and counts that fit the database's signed 64-bit columns.

Python integers are unbounded, so without a bound `GET /api/v1/contacts/99999999999999999999` used to pass
validation and fail in the database driver (`OverflowError`, a 500). `Id` / `Id64` are the annotated types for
ids in paths, queries and bodies — the range of the key's column (INTEGER or BIGINT on PostgreSQL), published as
minimum / maximum in OpenAPI. `int64_guard` is the net under them: an app-wide dependency that answers 422 for any
integer path or query parameter beyond signed 64-bit, whatever type the endpoint declared, and
`bound_openapi_ints` publishes that bound in the schema. (A value within 64 bits that a 32-bit column cannot hold,
on a route that declares no `Id`, is caught by the app's `NumericValueOutOfRange` handler.)
"""

from __future__ import annotations

import contextlib
import types
from datetime import date, datetime
from typing import Annotated, Any, Union, get_args, get_origin

from annotated_types import Ge, Le
from fastapi import Request
from fastapi.exceptions import RequestValidationError
from pydantic import AfterValidator

INT64_MAX = 2**63 - 1
INT64_MIN = -(2**63)
INT32_MAX = 2**31 - 1

#: The id of a table with an INTEGER key (communities, groups, users, SOP items, …): positive, within 32 bits on
#: PostgreSQL.
Id = Annotated[int, Ge(1), Le(INT32_MAX)]
#: The id of a table with a BIGINT key (contacts, events, actions, alerts, decisions, share links, …).
Id64 = Annotated[int, Ge(1), Le(INT64_MAX)]
#: Any integer the database stores (counts, offsets) when the endpoint has no tighter bound.
Int64 = Annotated[int, Ge(INT64_MIN), Le(INT64_MAX)]
#: A page offset.
Offset = Annotated[int, Ge(0), Le(INT64_MAX)]

# Days and moments the engine computes with (weeks, calendars, timelines) stay far from date.min / date.max, so
# adding a few weeks to them cannot overflow (`date(9999, 12, 31) + timedelta(days=7)` is an OverflowError).
FIRST_DAY, LAST_DAY = date(1900, 1, 1), date(9000, 12, 31)
Day = Annotated[date, Ge(FIRST_DAY), Le(LAST_DAY)]


def _reasonable(value: datetime) -> datetime:
    if not FIRST_DAY.year <= value.year <= LAST_DAY.year:
        raise ValueError(f"must be between the years {FIRST_DAY.year} and {LAST_DAY.year}")
    return value


Moment = Annotated[datetime, AfterValidator(_reasonable)]


def _is_int(annotation: Any) -> bool:
    """int, int | None, list[int] (and Annotated variants) — the types whose values reach SQL as integers."""
    origin = get_origin(annotation)
    if origin is Annotated:
        return _is_int(get_args(annotation)[0])
    if origin in (Union, types.UnionType):
        return any(_is_int(a) for a in get_args(annotation) if a is not type(None))
    if origin in (list, set, tuple, frozenset):
        return any(_is_int(a) for a in get_args(annotation) if a is not Ellipsis)
    return annotation is int


_CACHE_ATTR = "_siyu_int_params"


def _int_params(route: Any) -> tuple[tuple[str, str], ...]:
    """(location, name) of the route's integer path / query parameters, computed once per route object."""
    cached = getattr(route, _CACHE_ATTR, None)
    if cached is None:
        cached = _find_int_params(route)
        with contextlib.suppress(AttributeError):  # a route class with __slots__: computed each time
            setattr(route, _CACHE_ATTR, cached)
    return cached


def _find_int_params(route: Any) -> tuple[tuple[str, str], ...]:
    dependant = getattr(route, "dependant", None)
    if dependant is None:
        return ()
    found: list[tuple[str, str]] = []
    stack = [dependant]
    while stack:
        d = stack.pop()
        found += [("path", f.alias) for f in d.path_params if _is_int(f.field_info.annotation)]
        found += [("query", f.alias) for f in d.query_params if _is_int(f.field_info.annotation)]
        stack.extend(d.dependencies)
    return tuple(dict.fromkeys(found))


def _out_of_range(raw: str) -> bool:
    try:
        value = int(raw.strip())
    except ValueError:
        return False  # not an integer at all: the endpoint's own validation says so
    return not INT64_MIN <= value <= INT64_MAX


def int64_guard(request: Request) -> None:
    """App-wide dependency: integer path / query parameters beyond signed 64-bit are a 422, never a 500."""
    route = request.scope.get("route")
    if route is None:
        return
    errors: list[dict[str, Any]] = []
    for where, name in _int_params(route):
        values = ([request.path_params.get(name)] if where == "path" else request.query_params.getlist(name))
        for raw in values:
            if isinstance(raw, str) and _out_of_range(raw):
                errors.append({"type": "less_than_equal" if not raw.strip().startswith("-") else "greater_than_equal",
                               "loc": (where, name), "input": raw,
                               "msg": f"Input should be between {INT64_MIN} and {INT64_MAX}"})
            elif isinstance(raw, int) and not INT64_MIN <= raw <= INT64_MAX:  # a starlette `{x:int}` convertor
                errors.append({"type": "less_than_equal", "loc": (where, name), "input": str(raw),
                               "msg": f"Input should be between {INT64_MIN} and {INT64_MAX}"})
    if errors:
        raise RequestValidationError(errors)


def bound_openapi_ints(schema: dict[str, Any]) -> dict[str, Any]:
    """Publish the guard: every integer path / query parameter without its own bound gets the 64-bit one."""

    def bound(s: dict[str, Any]) -> None:
        if s.get("type") == "integer":
            s.setdefault("maximum", INT64_MAX)
            s.setdefault("minimum", INT64_MIN)
        for key in ("anyOf", "oneOf", "allOf"):
            for sub in s.get(key, []):
                bound(sub)
        if isinstance(s.get("items"), dict):
            bound(s["items"])

    for path in schema.get("paths", {}).values():
        for operation in path.values():
            for param in operation.get("parameters", []) if isinstance(operation, dict) else []:
                if param.get("in") in ("path", "query") and isinstance(param.get("schema"), dict):
                    bound(param["schema"])
    return schema
