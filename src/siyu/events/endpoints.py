"""POST /api/v1/events: one event or {"events": [...]} (≤1,000). Acknowledged only after the commit.

Answer: 200 when every event was stored or was a duplicate; 422 with code `invalid_events` when any was rejected.
`mode`: live (default; automations react) or history (imports, platform syncs: state, timelines and counts
only) — for the batch (`?mode=history` or `"mode"` beside `"events"`) or per event (`"mode"` on the event).
Either way `results` says per event stored / duplicate / rejected (with code and reason), and the valid events of
a partly invalid batch ARE stored: fix and resend only the rejected ones (resending all is safe too: the stored
ones come back as duplicates).
"""

from __future__ import annotations

from typing import Any, Literal

from fastapi import Depends, Header, Query, Request
from fastapi.responses import JSONResponse

from siyu.auth.roles import Perm
from siyu.auth.service import Principal
from siyu.auth.web import require, runtime
from siyu.contacts import service as contacts
from siyu.edge.work import Work, edge_router, work
from siyu.events import body, service
from siyu.events.schemas import EventOut
from siyu.kit.errors import Invalid
from siyu.kit.pagination import Cursor, Limit, PageOut
from siyu.kit.params import Id64

router = edge_router(prefix="/api/v1", tags=["events"])
MAX_BODY = 8 * 1024 * 1024


# Not a unit of work: async (it awaits the raw body) and runs its own transaction in a worker thread.
@router.post("/events", summary="Ingest one event or a batch")
async def post_events(
    request: Request,
    who: Principal = Depends(require(Perm.INGEST)),
    idempotency_key: str | None = Header(default=None, max_length=150),
    mode: Literal["live", "history"] | None = Query(default=None, description="the batch's default mode"),
) -> JSONResponse:
    raw = await request.body()
    if len(raw) > MAX_BODY:
        raise Invalid("request body over 8 MiB", code="body_too_large", status=413)
    items, batch_mode = body.parse(raw, mode)
    rt = runtime(request)

    def work() -> list[Any]:
        with rt.tx() as s:
            return service.ingest(s, who.workspace_id, items, now=rt.clock.now(), idempotency_key=idempotency_key,
                                  mode=batch_mode, staleness=rt.staleness)  # type: ignore[arg-type]

    from starlette.concurrency import run_in_threadpool

    return body.answer(await run_in_threadpool(work))


@router.get("/contacts/{contact_id}/timeline")
def timeline(contact_id: Id64, cursor: Cursor = None, limit: Limit = 100,
             w: Work = Depends(work(Perm.READ_CONTACTS))) -> PageOut[EventOut]:
    """The contact's events (and those of contacts merged into it), latest first by when they happened."""
    contacts.get(w.s, w.ws, contact_id)
    page = service.timeline_page(w.s, w.ws, contact_id, cursor=cursor, limit=limit)
    return PageOut.of(page, lambda e: EventOut.model_validate(e, from_attributes=True))
