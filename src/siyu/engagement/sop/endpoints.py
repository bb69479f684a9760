"""REST endpoints of engagement/sop: items, preview, occurrences, report, checks, settings, broadcasts,
import / export, share links (`/api/v1/sop/...`) and the public share redirect (`/s/{token}`)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, Literal
from urllib.parse import quote

from fastapi import APIRouter, Depends, Header, Query, Request, UploadFile
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel, Field

from siyu.auth.roles import Perm
from siyu.auth.web import runtime
from siyu.communities import service as communities
from siyu.edge.work import Work, edge_router, work
from siyu.engagement.sop import broadcast, checks, commands, gating, import_export, planner, service
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
from siyu.kit.errors import Invalid, NotFound
from siyu.kit.pagination import Cursor, Limit, PageOut, window
from siyu.kit.params import Day, Id, Moment
from siyu.models import Community, SopItem

router = APIRouter(tags=["sop"])
api = edge_router(prefix="/api/v1/sop")
#: Routes that open their own transactions instead of running as one unit of work.
own_tx = APIRouter(prefix="/api/v1/sop")
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


class BroadcastSentOut(BaseModel):
    broadcast_id: str
    sent_at: datetime
    actor: str
    item_id: int | None
    text: str
    groups: dict[str, int] = Field(description="groups by state: queued, sent, task_open, done, failed, expired")
    contacts: dict[str, int] = Field(description="members (direct messages) by state")


class TargetOut(BaseModel):
    action_id: int
    kind: str
    source: str = Field(description="broadcast | calendar | playbook | other")
    group_id: int | None
    group: str
    owner: str = Field(description="the group's owner: the person who confirms a WeCom owner task")
    contact_id: int | None
    contact: str
    state: str = Field(description="the outbox state")
    status: str = Field(description="queued | sent | task_open | done | failed | expired")
    text: str
    error: str
    created_at: datetime
    sent_at: datetime | None


def sent_out(b: broadcast.Sent) -> BroadcastSentOut:
    return BroadcastSentOut(broadcast_id=b.broadcast_id, sent_at=b.at, actor=b.actor, item_id=b.item_id,
                            text=b.text, groups=b.groups, contacts=b.contacts)


def target_out(t: broadcast.Target) -> TargetOut:
    a = t.action
    return TargetOut(action_id=a.id, kind=a.kind, source=t.source, group_id=a.group_id,
                     group=t.group.name if t.group else "", owner=t.owner, contact_id=a.contact_id,
                     contact=t.contact_name, state=a.state, status=t.status,
                     text=str((a.payload or {}).get("text", "")), error=a.last_error, created_at=a.created_at,
                     sent_at=a.sent_at)


class ImportRowOut(BaseModel):
    row: int = Field(description="the row as the spreadsheet numbers it (the header is row 1)")
    action: Literal["new", "changed", "unchanged", "error"]
    item_id: int | None = Field(description="the item the row updates (its `id` cell), or the one it created")
    title: str
    changes: list[str] = Field(description="the columns that change, for `changed`")
    errors: list[RowError]


class ImportOut(BaseModel):
    dry_run: bool
    created: list[int]
    updated: list[int]
    unchanged: list[int]
    errors: list[RowError]
    counts: dict[str, int] = Field(description="rows per action: new, changed, unchanged, error")
    rows: list[ImportRowOut]


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


@api.get("/items")
def list_items(community_id: Id | None = None, group_id: Id | None = None, cursor: Cursor = None,
               limit: Limit = 200, w: Work = Depends(work(Perm.READ))) -> PageOut[SopItemOut]:
    """By time of day, then id."""
    page = service.page_items(w.s, w.ws, community_id=community_id, group_id=group_id, cursor=cursor, limit=limit)
    return PageOut.of(page, service.item_out)


@api.post("/items", status_code=201)
def create_item(body: SopItemIn, w: Work = Depends(work(Perm.WRITE))) -> SopItemOut:
    return service.item_out(commands.create_item(w, body))


@api.get("/items/{item_id}")
def get_item(item_id: Id, w: Work = Depends(work(Perm.READ))) -> SopItemOut:
    return service.item_out(service.get_item(w.s, w.ws, item_id))


@api.patch("/items/{item_id}")
def patch_item(item_id: Id, body: SopItemPatch, w: Work = Depends(work(Perm.WRITE))) -> SopItemOut:
    return service.item_out(commands.change_item(w, item_id, body))


@api.delete("/items/{item_id}", status_code=204)
def delete_item(item_id: Id, w: Work = Depends(work(Perm.WRITE))) -> Response:
    commands.delete_item(w, item_id)
    return Response(status_code=204)


@api.post("/chains", status_code=201)
def create_chain(body: ChainIn, w: Work = Depends(work(Perm.WRITE))) -> list[SopItemOut]:
    return [service.item_out(i) for i in commands.create_chain(w, body)]


# ---------------------------------------------------------------------------------------------- calendar views


@api.get("/preview")
def preview(frm: Moment | None = Query(None, alias="from"), to: Moment | None = None,
            item_id: list[int] | None = Query(None), cursor: Cursor = None, limit: Limit = 200,
            w: Work = Depends(work(Perm.READ))) -> PageOut[PreviewOut]:
    """What planning would lay out (14 days from now unless `from` / `to` say otherwise), by due time, group and
    item."""
    start, end = _range(frm, to, w.now, timedelta(days=14))
    page = window(planner.preview_detail(w.s, w.ws, item_id, start, end, now=w.now), cursor=cursor, limit=limit)
    return PageOut.of(page, lambda c: PreviewOut(
        due_at=c.due_at, item_id=c.item.id, group_id=c.group_id, contact_id=c.contact_id, status=c.status,
        reason=c.reason, variant=c.variant, text=planner.as_payload(c)["text"]))


@api.get("/occurrences")
def list_occurrences(frm: Moment | None = Query(None, alias="from"), to: Moment | None = None,
                     community_id: Id | None = None, group_id: Id | None = None, cursor: Cursor = None,
                     limit: Limit = 200, w: Work = Depends(work(Perm.READ))) -> PageOut[OccurrenceOut]:
    """By due time, then id (7 days from now unless `from` / `to` say otherwise)."""
    start, end = _range(frm, to, w.now, timedelta(days=7))
    page = checks.occurrence_page(w.s, w.ws, start, end, community_id=community_id, group_id=group_id,
                                  cursor=cursor, limit=limit)
    return PageOut.of(page, occurrence_out)


@api.get("/report")
def report(frm: Moment | None = Query(None, alias="from"), to: Moment | None = None, cursor: Cursor = None,
           limit: Limit = 200, w: Work = Depends(work(Perm.READ))) -> PageOut[ReportOut]:
    """What the cap, quiet hours or a missed window pushed out, or was cancelled, by due time, then id (from a
    week ago for three weeks unless `from` / `to` say otherwise)."""
    start, end = _range(frm, to, w.now - timedelta(days=7), timedelta(days=21))
    page = checks.occurrence_page(w.s, w.ws, start, end, statuses=checks.PUSHED_OUT, cursor=cursor, limit=limit)
    return PageOut.of(page, lambda r: ReportOut(
        due_at=r.occ.due_at, item_id=r.item.id, title=r.item.title, group_id=r.occ.group_id,
        group=r.group.name if r.group else "", contact_id=r.occ.contact_id, status=r.occ.status,
        reason=r.occ.reason))


@api.get("/checks")
def content_checks(week: Day | None = None, cursor: Cursor = None, limit: Limit = 200,
                   w: Work = Depends(work(Perm.READ))) -> PageOut[CheckOut]:
    """The C3 content mix of the week containing `week` (this week by default), per community by id."""
    day = week or w.now.astimezone(service.zone(w.s, w.ws)).date()
    return PageOut.of(window(checks.content_mix(w.s, w.ws, day, now=w.now), cursor=cursor, limit=limit),
                      lambda c: c)


# ---------------------------------------------------------------------------------------------- settings


@api.get("/settings/communities/{community_id}")
def get_community_settings(community_id: Id, w: Work = Depends(work(Perm.READ))) -> ScheduleSettingsOut:
    return service.effective_settings(communities.get(w.s, w.ws, community_id), None)


@api.put("/settings/communities/{community_id}")
def put_community_settings(community_id: Id, body: ScheduleSettings,
                           w: Work = Depends(work(Perm.WRITE))) -> ScheduleSettingsOut:
    return commands.set_community_settings(w, community_id, body)


@api.get("/settings/groups/{group_id}")
def get_group_settings(group_id: Id, w: Work = Depends(work(Perm.READ))) -> ScheduleSettingsOut:
    g = communities.get_group(w.s, w.ws, group_id)
    c = w.s.get(Community, g.community_id) if g.community_id is not None else None
    return service.effective_settings(c, g)


@api.put("/settings/groups/{group_id}")
def put_group_settings(group_id: Id, body: ScheduleSettings,
                       w: Work = Depends(work(Perm.WRITE))) -> ScheduleSettingsOut:
    return commands.set_group_settings(w, group_id, body)


# ---------------------------------------------------------------------------------------------- broadcasts


@own_tx.post("/broadcasts", status_code=201)
def send_broadcast(body: BroadcastIn, idempotency_key: str | None = Header(None, alias="Idempotency-Key"),
                   w: Work = Depends(work(Perm.WRITE))) -> BroadcastOut:
    # Not one unit of work: the broadcast commits chunk by chunk (`commands.send_broadcast`).
    bid = broadcast.check_id(idempotency_key) if idempotency_key else broadcast.new_id()
    return commands.send_broadcast(w, body, broadcast_id=bid)


@api.get("/broadcasts")
def broadcast_history(cursor: Cursor = None, limit: Limit = 20,
                      w: Work = Depends(work(Perm.READ))) -> PageOut[BroadcastSentOut]:
    """What went out, newest first: when, by whom, what, and its groups and members counted by state (`queued`,
    `sent`, `task_open` = waiting for the owner, `done` = confirmed by the owner, `failed`, `expired`)."""
    return PageOut.of(broadcast.history(w.s, w.ws, cursor=cursor, limit=limit), sent_out)


@api.get("/broadcasts/{broadcast_id}")
def broadcast_status(broadcast_id: str, w: Work = Depends(work(Perm.READ))) -> dict[str, int]:
    """The broadcast's actions counted by outbox state."""
    return broadcast.status(w.s, w.ws, broadcast_id)


@api.get("/broadcasts/{broadcast_id}/targets")
def broadcast_targets(broadcast_id: str, cursor: Cursor = None, limit: Limit = 100,
                      w: Work = Depends(work(Perm.READ))) -> PageOut[TargetOut]:
    """Each group (and member) of a broadcast with its state, by action id."""
    broadcast.one(w.s, w.ws, broadcast_id)
    return PageOut.of(broadcast.targets(w.s, w.ws, broadcast_id, cursor=cursor, limit=limit), target_out)


@api.get("/owner-tasks")
def owner_tasks(cursor: Cursor = None, limit: Limit = 100, w: Work = Depends(work(Perm.READ))) -> PageOut[TargetOut]:
    """Posts and direct messages waiting for a person to send them (WeCom: the group owner confirms a mass
    message in the client), oldest first, with the group's owner: who has not confirmed yet."""
    return PageOut.of(broadcast.open_tasks(w.s, w.ws, cursor=cursor, limit=limit), target_out)


# ---------------------------------------------------------------------------------------------- import / export


@api.get("/export", response_class=Response, responses={200: {"description": "the SOP table", "content": {
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {}, "text/csv": {}}}})
def export(format: str = "xlsx", lang: Literal["en", "zh_CN"] = "en", w: Work = Depends(work(Perm.READ))) -> Response:
    """Every item, one row each with its `id` (import updates the items whose id a row carries); the header
    row in English (`lang=en`, the column keys) or Chinese (`lang=zh_CN`)."""
    data, media, name = import_export.export(w.s, w.ws, format, locale=lang)
    return Response(data, media_type=media, headers={"Content-Disposition": f'attachment; filename="{name}"'})


async def _upload(file: UploadFile) -> tuple[str, bytes]:
    return file.filename or "", await read_upload(file, 5_000_000)


def uploaded_table(upload: tuple[str, bytes] = Depends(_upload)) -> list[dict[str, str]]:
    """The uploaded table's rows, read and parsed (in a worker thread) before the unit of work opens."""
    name, data = upload
    return import_export.read_table(data, name)


def import_out(plan: import_export.ImportPlan, *, dry_run: bool, created: list[SopItem] | None = None,
               updated: list[SopItem] | None = None) -> ImportOut:
    created_ids = iter([i.id for i in created or []])
    rows = []
    for r in plan.rows:
        item_id = next(created_ids, None) if r.action == "new" and not dry_run else r.item_id
        rows.append(ImportRowOut(row=r.row, action=r.action, item_id=item_id,  # type: ignore[arg-type]
                                 title=r.title, changes=r.changes, errors=[p.out() for p in r.problems]))
    return ImportOut(dry_run=dry_run, created=[i.id for i in created or []], updated=[i.id for i in updated or []],
                     unchanged=[r.item_id for r in plan.of("unchanged") if r.item_id is not None],
                     errors=[p.out() for p in plan.problems], counts=plan.counts, rows=rows)


@api.post("/import", status_code=201, responses={200: {"description": "`dry_run`: what the import would do"}})
def import_file(response: Response, partial: bool = False, dry_run: bool = False,
                w: Work = Depends(work(Perm.WRITE)),
                rows: list[dict[str, str]] = Depends(uploaded_table)) -> ImportOut:
    """A .xlsx or .csv file (`file`): rows with an `id` update that item, the others create one; every row or
    none, unless `partial`. `dry_run=true` answers 200 with what the import would do per row (new, changed with
    the columns, unchanged, errors) and writes nothing."""
    plan = commands.plan_import(w, rows)
    if dry_run:
        response.status_code = 200
        return import_out(plan, dry_run=True)
    created, updated = commands.import_table(w, plan, partial=partial)
    return import_out(plan, dry_run=False, created=created, updated=updated)


# ---------------------------------------------------------------------------------------------- C4 share links


@api.post("/share-links", status_code=201)
def create_share_link(body: ShareLinkIn, w: Work = Depends(work(Perm.WRITE))) -> ShareLinkOut:
    link = gating.create_link(w.s, w.ws, body.item_id, body.contact_id, now=w.now, url=body.url)
    assert link.item_id is not None
    return ShareLinkOut(token=link.token, url=gating.link_url(w.rt.settings.base_url, link), item_id=link.item_id,
                        contact_id=link.sharer_contact_id)


@public.get("/s/{token}")
def open_share_link(request: Request, token: str, u: str | None = None, sig: str | None = None) -> Any:
    """The public share link. `u` (the visitor's `<platform>:<id>`) counts only with a valid `sig`
    (`gating.member_signature`); otherwise the click is anonymous: no contact is created, nothing unlocked.
    The visitor goes on to the shared article, or to the link's page (`/s/<token>/opened`) when the share has
    none (a draw, an item without a link); a link that does not exist is a member's page too, never JSON."""
    from siyu.console import member

    rt = runtime(request)
    if (u and len(u) > 200) or (sig and len(sig) > 100):  # not what a signature looks like: anonymous
        u = sig = None
    try:
        # Public (nobody signed in, so no Work), and a GET that records the click: its own write transaction.
        with rt.tx(write=True) as s:
            opened = gating.open_link(s, token, now=rt.clock.now(), visitor=u, signature=sig,
                                      base_url=rt.settings.base_url, secret=rt.settings.secret_key.get_secret_value())
    except (NotFound, Invalid) as exc:
        return member.problem_for(request, exc, locale=member.locale_for(request, None))
    if opened.target:
        return RedirectResponse(opened.target, status_code=302)
    # The click is recorded once; reloading the page it leads to records nothing more.
    return RedirectResponse(f"/s/{quote(token)}/opened?r={opened.outcome}", status_code=302)


@public.get("/s/{token}/opened")
def share_link_page(request: Request, token: str, r: str = "opened") -> Any:
    """What a visitor sees after opening a share link that has no article of its own."""
    from siyu.console import member
    from siyu.models import Workspace

    with runtime(request).read() as s:
        try:
            shared = gating.share_page(s, token)
        except NotFound as exc:
            return member.problem_for(request, exc, locale=member.locale_for(request, None))
        locale = member.locale_for(request, s.get(Workspace, shared.workspace_id))
    outcome = r if r in gating.OUTCOMES else "opened"
    return member.page(request, "member/share.html", locale=locale, shared=shared, outcome=outcome)


router.include_router(api)
router.include_router(own_tx)
router.include_router(public)
