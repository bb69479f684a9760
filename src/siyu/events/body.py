"""The body of an events request and its answer, shared by every door events come in through: the events API
(`POST /api/v1/events`, a token) and the signed webhook bridge (`POST /callbacks/webhook/NAME`, a signature)."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi.responses import JSONResponse

from siyu.events.schemas import EventResult
from siyu.kit.errors import Invalid


def parse(raw: bytes, mode: str | None) -> tuple[list[Any], str]:
    """The events of a body, and the batch's mode (the body's, else the query's, else live)."""
    try:
        body: Any = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise Invalid("body is not valid JSON", code="invalid_json") from None
    batch_mode = mode
    if isinstance(body, dict) and "events" in body:
        items = body["events"]
        if not isinstance(items, list):
            raise Invalid('"events" must be a list', code="invalid_events")
        if body.get("mode") is not None:
            if body["mode"] not in ("live", "history"):
                raise Invalid('"mode" must be "live" or "history"', code="invalid_mode")
            batch_mode = body["mode"]
    elif isinstance(body, dict):
        items = [body]
    else:
        raise Invalid('send one event object or {"events": [...]}', code="invalid_events")
    return items, batch_mode or "live"


def answer(results: list[EventResult]) -> JSONResponse:
    """200 when every event was stored or was a duplicate; 422 `invalid_events` (same shape) when some were
    rejected — the others are stored all the same."""
    counts = {"stored": 0, "duplicate": 0, "rejected": 0}
    for r in results:
        counts[r.status] += 1
    payload: dict[str, Any] = {**counts, "results": [r.as_dict() for r in results]}
    if counts["rejected"]:
        payload = {"code": "invalid_events", "message": f"{counts['rejected']} event(s) rejected; "
                   "the others were stored as reported", **payload}
        return JSONResponse(payload, status_code=422)
    return JSONResponse(payload, status_code=200)
