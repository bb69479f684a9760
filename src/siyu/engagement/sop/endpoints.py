"""REST endpoints of engagement/sop: items, preview, occurrences, report, checks, settings, broadcasts,
import / export, share links (`/api/v1/sop/...`) and the public share redirect (`/s/{token}`)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import APIRouter, Depends, Header, Query, Request, UploadFile
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel

from siyu.auth import service as auth
from siyu.auth.roles import Perm
from siyu.auth.service import Principal
from siyu.auth.web import require, runtime
from siyu.communities import service as communities
from siyu.engagement.sop import broadcast, checks, gating, import_export, planner, service
from siyu.engagement.sop.schemas import (
    BroadcastIn,
    BroadcastOut,
    ChainIn,
    CheckOut,
    OccurrenceOut,
    RowError,
    ScheduleSettings,
    ScheduleSettingsOut,
    ShareLinkIn,
    ShareLinkOut,
    SopItemIn,
    SopItemOut,
    SopItemPatch,
)
from siyu.kit.body_limit import read_upload
from siyu.kit.errors import Invalid
from siyu.kit.params import Day, Id, Moment
from siyu.models import Community

router = APIRouter(tags=["sop"])
api = APIRouter(prefix="/api/v1/sop")
public = APIRouter(include_in_schema=False)
MAX_RANGE = timedelta(days=62)


class PreviewOut(BaseModel):
    due_at: datetime
    item_id: int
    group_id: int | None
    contact_id: int | None
    status: str
    reason: str
    variant: str
    text: str


class ReportOut(BaseModel):
    due_at: datetime
    item_id: int
    title: str
    group_id: int | None
    group: str
    contact_id: int | None
    status: str
    reason: str


class ImportOut(BaseModel):
    created: list[int]
    errors: list[RowError]


def _range(frm: datetime | None, to: datetime | None, now: datetime, default: timedelta) -> tuple[datetime, datetime]:
    start = frm or now
    end = to or start + default
    if start.tzinfo is None or end.tzinfo is None:
        raise Invalid("from and to need a time zone offset (e.g. 2026-11-02T00:00:00+08:00)", code="naive_datetime")
    if end <= start:
        raise Invalid("to must be after from", code="invalid_range")
    if end - start > MAX_RANGE:
        raise Invalid("at most 62 days at a time", code="range_too_long")
    return start.astimezone(UTC), end.astimezone(UTC)


def occurrence_out(r: checks.Row) -> OccurrenceOut:
    o = r.occ
    return OccurrenceOut(id=o.id, item_id=o.item_id, title=r.item.title, group_id=o.group_id,
                         contact_id=o.contact_id, key=o.key, due_at=o.due_at, status=o.status,
                         display_status=r.display, reason=o.reason, variant=o.variant, action_id=o.action_id)


# ---------------------------------------------------------------------------------------------- items


@api.get("/items", response_model=list[SopItemOut])
def list_items(request: Request, community_id: Id | None = None, group_id: Id | None = None,
               who: Principal = Depends(require(Perm.READ))) -> list[SopItemOut]:
    with runtime(request).tx() as s:
        return [service.item_out(i) for i in service.list_items(s, who.workspace_id, community_id=community_id,
                                                                 group_id=group_id)]


@api.post("/items", response_model=SopItemOut, status_code=201)
def create_item(request: Request, body: SopItemIn, who: Principal = Depends(require(Perm.WRITE))) -> SopItemOut:
    rt = runtime(request)
    now = rt.clock.now()
    with rt.tx() as s:
        item = service.create_item(s, who.workspace_id, body, now=now)
        planner.plan_window(s, who.workspace_id, now, now + planner.HORIZON, now, item_ids=[item.id])
        auth.audit(s, who, "sop.item.create", "sop_item", item.id, {"title": item.title}, now=now)
        return service.item_out(item)


@api.get("/items/{item_id}", response_model=SopItemOut)
def get_item(request: Request, item_id: Id, who: Principal = Depends(require(Perm.READ))) -> SopItemOut:
    with runtime(request).tx() as s:
        return service.item_out(service.get_item(s, who.workspace_id, item_id))


@api.patch("/items/{item_id}", response_model=SopItemOut)
def patch_item(request: Request, item_id: Id, body: SopItemPatch,
               who: Principal = Depends(require(Perm.WRITE))) -> SopItemOut:
    rt = runtime(request)
    now = rt.clock.now()
    with rt.tx() as s:
        item = service.update_item(s, who.workspace_id, item_id, body, now=now)
        planner.plan_window(s, who.workspace_id, now, now + planner.HORIZON, now, item_ids=[item.id])
        auth.audit(s, who, "sop.item.update", "sop_item", item.id, {"fields": sorted(body.model_fields_set)},
                   now=now)
        return service.item_out(item)


@api.delete("/items/{item_id}", status_code=204)
def delete_item(request: Request, item_id: Id, who: Principal = Depends(require(Perm.WRITE))) -> Response:
    rt = runtime(request)
    with rt.tx() as s:
        service.delete_item(s, who.workspace_id, item_id, now=rt.clock.now())
        auth.audit(s, who, "sop.item.delete", "sop_item", item_id, now=rt.clock.now())
    return Response(status_code=204)


@api.post("/chains", response_model=list[SopItemOut], status_code=201)
def create_chain(request: Request, body: ChainIn, who: Principal = Depends(require(Perm.WRITE))) -> list[SopItemOut]:
    rt = runtime(request)
    now = rt.clock.now()
    with rt.tx() as s:
        items = service.create_chain(s, who.workspace_id, body, now=now)
        auth.audit(s, who, "sop.chain.create", "sop_item", items[0].id, {"series": body.series}, now=now)
        return [service.item_out(i) for i in items]


# ---------------------------------------------------------------------------------------------- calendar views


@api.get("/preview", response_model=list[PreviewOut])
def preview(request: Request, frm: Moment | None = Query(None, alias="from"), to: Moment | None = None,
            item_id: list[int] | None = Query(None), who: Principal = Depends(require(Perm.READ))
            ) -> list[PreviewOut]:
    rt = runtime(request)
    start, end = _range(frm, to, rt.clock.now(), timedelta(days=14))
    with rt.tx() as s:
        rows = planner.preview_detail(s, who.workspace_id, item_id, start, end, now=rt.clock.now())
        return [PreviewOut(due_at=c.due_at, item_id=c.item.id, group_id=c.group_id, contact_id=c.contact_id,
                           status=c.status, reason=c.reason, variant=c.variant,
                           text=planner.as_payload(c)["text"]) for c in rows[:5000]]


@api.get("/occurrences", response_model=list[OccurrenceOut])
def list_occurrences(request: Request, frm: Moment | None = Query(None, alias="from"), to: Moment | None = None,
                     community_id: Id | None = None, group_id: Id | None = None,
                     who: Principal = Depends(require(Perm.READ))) -> list[OccurrenceOut]:
    rt = runtime(request)
    start, end = _range(frm, to, rt.clock.now(), timedelta(days=7))
    with rt.tx() as s:
        return [occurrence_out(r) for r in checks.occurrences(s, who.workspace_id, start, end,
                                                               community_id=community_id, group_id=group_id)]


@api.get("/report", response_model=list[ReportOut])
def report(request: Request, frm: Moment | None = Query(None, alias="from"), to: Moment | None = None,
           who: Principal = Depends(require(Perm.READ))) -> list[ReportOut]:
    rt = runtime(request)
    start, end = _range(frm, to, rt.clock.now() - timedelta(days=7), timedelta(days=21))
    with rt.tx() as s:
        return [ReportOut(due_at=r.occ.due_at, item_id=r.item.id, title=r.item.title, group_id=r.occ.group_id,
                          group=r.group.name if r.group else "", contact_id=r.occ.contact_id, status=r.occ.status,
                          reason=r.occ.reason) for r in checks.report(s, who.workspace_id, start, end)]


@api.get("/checks", response_model=list[CheckOut])
def content_checks(request: Request, week: Day | None = None,
                   who: Principal = Depends(require(Perm.READ))) -> list[CheckOut]:
    rt = runtime(request)
    with rt.tx() as s:
        day = week or rt.clock.now().astimezone(service.zone(s, who.workspace_id)).date()
        return checks.content_mix(s, who.workspace_id, day, now=rt.clock.now())


# ---------------------------------------------------------------------------------------------- settings


@api.get("/settings/communities/{community_id}", response_model=ScheduleSettingsOut)
def get_community_settings(request: Request, community_id: Id,
                           who: Principal = Depends(require(Perm.READ))) -> ScheduleSettingsOut:
    with runtime(request).tx() as s:
        return service.effective_settings(communities.get(s, who.workspace_id, community_id), None)


@api.put("/settings/communities/{community_id}", response_model=ScheduleSettingsOut)
def put_community_settings(request: Request, community_id: Id, body: ScheduleSettings,
                           who: Principal = Depends(require(Perm.WRITE))) -> ScheduleSettingsOut:
    rt = runtime(request)
    with rt.tx() as s:
        out = service.set_community_settings(s, who.workspace_id, community_id, body, now=rt.clock.now())
        auth.audit(s, who, "sop.settings.community", "community", community_id,
                   body.model_dump(exclude_unset=True), now=rt.clock.now())
        return out


@api.get("/settings/groups/{group_id}", response_model=ScheduleSettingsOut)
def get_group_settings(request: Request, group_id: Id,
                       who: Principal = Depends(require(Perm.READ))) -> ScheduleSettingsOut:
    with runtime(request).tx() as s:
        g = communities.get_group(s, who.workspace_id, group_id)
        c = s.get(Community, g.community_id) if g.community_id is not None else None
        return service.effective_settings(c, g)


@api.put("/settings/groups/{group_id}", response_model=ScheduleSettingsOut)
def put_group_settings(request: Request, group_id: Id, body: ScheduleSettings,
                       who: Principal = Depends(require(Perm.WRITE))) -> ScheduleSettingsOut:
    rt = runtime(request)
    with rt.tx() as s:
        out = service.set_group_settings(s, who.workspace_id, group_id, body, now=rt.clock.now())
        auth.audit(s, who, "sop.settings.group", "group", group_id, body.model_dump(exclude_unset=True),
                   now=rt.clock.now())
        return out


# ---------------------------------------------------------------------------------------------- broadcasts


@api.post("/broadcasts", response_model=BroadcastOut, status_code=201)
def send_broadcast(request: Request, body: BroadcastIn,
                   idempotency_key: str | None = Header(None, alias="Idempotency-Key"),
                   who: Principal = Depends(require(Perm.WRITE))) -> BroadcastOut:
    rt = runtime(request)
    bid = broadcast.check_id(idempotency_key) if idempotency_key else broadcast.new_id()
    out = broadcast.send(rt.sessions, who.workspace_id, body, broadcast_id=bid, now=rt.clock.now())
    with rt.tx() as s:
        auth.audit(s, who, "sop.broadcast", "broadcast", bid,
                   {"item_id": body.item_id, "groups": out.groups, "contacts": out.contacts,
                    "created": out.created}, now=rt.clock.now())
    return out


@api.get("/broadcasts/{broadcast_id}", response_model=dict[str, int])
def broadcast_status(request: Request, broadcast_id: str,
                     who: Principal = Depends(require(Perm.READ))) -> dict[str, int]:
    with runtime(request).tx() as s:
        return broadcast.status(s, who.workspace_id, broadcast_id)


# ---------------------------------------------------------------------------------------------- import / export


@api.get("/export", response_class=Response, responses={200: {"description": "the SOP table", "content": {
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {}, "text/csv": {}}}})
def export(request: Request, format: str = "xlsx", who: Principal = Depends(require(Perm.READ))) -> Response:
    with runtime(request).tx() as s:
        if format == "csv":
            return Response(import_export.export_csv(s, who.workspace_id), media_type="text/csv; charset=utf-8",
                            headers={"Content-Disposition": 'attachment; filename="sop.csv"'})
        if format != "xlsx":
            raise Invalid("format is xlsx or csv", code="invalid_format")
        return Response(import_export.export_xlsx(s, who.workspace_id),
                        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                        headers={"Content-Disposition": 'attachment; filename="sop.xlsx"'})


@api.post("/import", response_model=ImportOut, status_code=201)
async def import_file(request: Request, file: UploadFile, partial: bool = False,
                      who: Principal = Depends(require(Perm.WRITE))) -> ImportOut:
    data = await read_upload(file, 5_000_000)
    from starlette.concurrency import run_in_threadpool

    return await run_in_threadpool(_import, request, who, data, file.filename or "", partial)


def _import(request: Request, who: Principal, data: bytes, filename: str, partial: bool) -> ImportOut:
    rt = runtime(request)
    rows = import_export.read_table(data, filename)
    with rt.tx() as s:
        created, errors = import_export.import_rows(s, who.workspace_id, rows, now=rt.clock.now(), partial=partial)
        auth.audit(s, who, "sop.import", "sop_item", "", {"created": len(created), "errors": len(errors),
                                                          "partial": partial}, now=rt.clock.now())
        return ImportOut(created=[i.id for i in created], errors=errors)


# ---------------------------------------------------------------------------------------------- C4 share links


@api.post("/share-links", response_model=ShareLinkOut, status_code=201)
def create_share_link(request: Request, body: ShareLinkIn,
                      who: Principal = Depends(require(Perm.WRITE))) -> ShareLinkOut:
    rt = runtime(request)
    with rt.tx() as s:
        link = gating.create_link(s, who.workspace_id, body.item_id, body.contact_id, now=rt.clock.now(),
                                  url=body.url)
        assert link.item_id is not None
        return ShareLinkOut(token=link.token, url=gating.link_url(rt.settings.base_url, link), item_id=link.item_id,
                            contact_id=link.sharer_contact_id)


@public.get("/s/{token}")
def open_share_link(request: Request, token: str, u: str | None = Query(default=None, max_length=200),
                    sig: str | None = Query(default=None, max_length=100)) -> Any:
    """The public share redirect. `u` (the visitor's `<platform>:<id>`) counts only with a valid `sig`
    (`gating.member_signature`); otherwise the click is anonymous: no contact is created, nothing unlocked."""
    rt = runtime(request)
    with rt.tx(write=True) as s:  # a GET that records the click
        target = gating.click(s, token, now=rt.clock.now(), visitor=u, signature=sig, base_url=rt.settings.base_url,
                              secret=rt.settings.secret_key.get_secret_value())
    return RedirectResponse(target, status_code=302)


router.include_router(api)
router.include_router(public)
