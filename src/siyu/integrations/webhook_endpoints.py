"""`POST /callbacks/webhook/NAME`: events from any platform, in the body of `POST /api/v1/events` (one event or
`{"events": [...], "mode": …}`, docs/events.md), signed with the instance's secret instead of a bearer token.

Order of checks, nothing stored until the last: the connector exists (404), the request is signed (401), the
signature matches the body and timestamp (403), the timestamp is inside the tolerance window (403), the body is
JSON of the right shape (422); then, in one transaction, the signature is claimed (409 on a replay) and the
events go through `events.ingest` — the same validation, projection and automations as the events API, `mode`
honoured. A contact or group named without a `platform` is on this connector's platform (its name).

Not a unit of work: it awaits the raw body (the signature covers the exact bytes) and runs its transaction in a
worker thread, like the events API.
"""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from siyu.auth.web import runtime
from siyu.connectors import health, instances
from siyu.connectors.webhook import service, signing
from siyu.connectors.webhook.connector import WebhookConnector
from siyu.events import body
from siyu.events import service as events
from siyu.events.service import MAX_BATCH
from siyu.kit.errors import Invalid, NotFound, SiyuError

router = APIRouter(tags=["callbacks"])


def on_platform(items: list[Any], platform: str) -> list[Any]:
    """A `contact` / `group` reference without a platform is one of this connector's."""
    out = []
    for item in items:
        if isinstance(item, dict):
            item = dict(item)
            for ref in ("contact", "group"):
                if isinstance(item.get(ref), dict) and "platform" not in item[ref]:
                    item[ref] = {**item[ref], "platform": platform}
        out.append(item)
    return out


@router.post("/callbacks/webhook/{name}", summary="Events from a signed webhook bridge")
async def receive(
    name: str,
    request: Request,
    idempotency_key: str | None = Header(default=None, max_length=150),
    mode: Literal["live", "history"] | None = Query(default=None, description="the batch's default mode"),
) -> JSONResponse:
    raw = await request.body()
    rt = runtime(request)
    timestamp = request.headers.get(signing.TIMESTAMP_HEADER)
    signature = request.headers.get(signing.SIGNATURE_HEADER)

    def work() -> list[Any]:
        now = rt.clock.now()
        with rt.read() as s:
            inst = instances.by_name(s, name, kind="webhook")
            if inst is None:
                raise NotFound(f"no webhook connector named {name!r}", code="unknown_connector")
            connector = rt.connectors.of(inst)
        if not isinstance(connector, WebhookConnector):
            raise SiyuError(f"connector {name!r} cannot be used: its secrets cannot be opened with this "
                            "installation's key", code="connector_unusable", status=503)
        tolerance = connector.config.tolerance_seconds
        verified = signing.verify(connector.inbound_secrets(), timestamp, signature, raw, now, tolerance)
        items, batch_mode = body.parse(raw, mode)
        if len(items) > MAX_BATCH:
            raise Invalid(f"at most {MAX_BATCH} events per request", code="batch_too_large")
        with rt.tx(write=True) as s:
            service.claim(s, inst.id, verified, now)
            results = events.ingest(s, inst.workspace_id, on_platform(items, name), now=now,
                                    idempotency_key=idempotency_key, mode=batch_mode,  # type: ignore[arg-type]
                                    staleness=rt.staleness)
            # Last, in the same commit (one fsync per callback, not two): the health page's counters and the
            # replay table's upkeep. The connector's row is the one lock concurrent callbacks of a connector
            # share, taken after their events are in, so they queue only for the commit and never deadlock.
            health.record(s, name, now, ok=True, direction="in", connector_id=inst.id)
            service.prune(s, inst.id, now, tolerance)
        return results

    return body.answer(await run_in_threadpool(work))
