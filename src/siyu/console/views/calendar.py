"""Console pages: the SOP content calendar (C2–C5) — the week of what goes out when, per community or group, with
each occurrence's status; the 14-day preview; items edited in place; broadcast; import / export; cap and quiet
hours; the C3 content-mix warning."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import date, datetime, timedelta
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from starlette.datastructures import FormData, UploadFile

from siyu.auth import service as auth
from siyu.auth.roles import Perm
from siyu.auth.service import Principal
from siyu.auth.web import require, runtime
from siyu.communities import service as communities
from siyu.console.render import N_, done, flash, is_htmx, render
from siyu.console.views.common import form_data, integer, parse, text
from siyu.engagement.sop import broadcast, checks, import_export, planner, service
from siyu.engagement.sop.schemas import (
    TIMINGS,
    BroadcastIn,
    RowError,
    ScheduleSettings,
    SopItemIn,
    SopItemPatch,
)
from siyu.kit.body_limit import read_upload
from siyu.kit.errors import Invalid
from siyu.models import SopItem

router = APIRouter(prefix="/calendar")
WEEKDAYS = (N_("Mon"), N_("Tue"), N_("Wed"), N_("Thu"), N_("Fri"), N_("Sat"), N_("Sun"))


def _day(raw: str | None, fallback: date) -> date:
    try:
        return date.fromisoformat(raw) if raw else fallback
    except ValueError:
        return fallback


def item_data(form: FormData, tz: Any) -> dict[str, Any]:
    """The item form as SopItemIn input."""
    target = text(form, "target")
    data: dict[str, Any] = {
        "title": text(form, "title"), "text": text(form, "text"), "owner": text(form, "owner"),
        "notes": text(form, "notes"), "timing": text(form, "timing") or "rrule", "rrule": text(form, "rrule"),
        "time_of_day": text(form, "time_of_day") or "08:00", "kind": text(form, "kind") or "content",
        "activity": form.get("activity") in ("1", "on", "true"),
        "missed_policy": text(form, "missed_policy") or "late",
    }
    kind, _, ident = target.partition(":")
    if kind == "c" and ident.isdigit():
        data["community_id"] = int(ident)
    elif kind == "g" and ident.isdigit():
        data["group_id"] = int(ident)
    offset = integer(form, "offset_days")
    if offset is not None:
        data["offset_days"] = offset
    once = text(form, "once_at")
    if once:
        try:
            data["once_at"] = datetime.fromisoformat(once).replace(tzinfo=tz)
        except ValueError:
            raise Invalid("once_at must be a date and time", code="validation_error") from None
    return data


def _targets(session: Any, ws: int) -> list[tuple[str, str]]:
    out = []
    for c in communities.list_all(session, ws):
        out.append((f"c:{c.id}", c.name))
        out.extend((f"g:{g.id}", f"  └ {g.name}") for g in communities.groups(session, ws, c.id))
    return out


def _week(session: Any, ws: int, monday: date, community_id: int | None, group_id: int | None
          ) -> dict[date, list[dict[str, Any]]]:
    tz = service.zone(session, ws)
    _, lo, hi = checks.week_start(session, ws, monday)
    rows = checks.occurrences(session, ws, lo, hi, community_id=community_id, group_id=group_id)
    days: dict[date, dict[tuple[str, int], dict[str, Any]]] = {monday + timedelta(days=i): {} for i in range(7)}
    for r in rows:
        local = r.occ.due_at.astimezone(tz)
        slot = days.setdefault(local.date(), {}).setdefault(
            (local.strftime("%H:%M"), r.item.id),
            {"time": local.strftime("%H:%M"), "item": r.item, "statuses": Counter(), "reasons": [], "dm": 0})
        slot["statuses"][r.display] += 1
        if r.occ.contact_id is not None:
            slot["dm"] += 1
        if r.occ.reason and len(slot["reasons"]) < 3 and r.occ.reason not in slot["reasons"]:
            slot["reasons"].append(r.occ.reason)
    return {d: sorted(v.values(), key=lambda s: (s["time"], s["item"].id)) for d, v in sorted(days.items())}


def _preview(session: Any, ws: int, now: datetime, community_id: int | None, group_id: int | None
             ) -> list[dict[str, Any]]:
    tz = service.zone(session, ws)
    cands = planner.preview_detail(session, ws, None, now, now + timedelta(days=14), now=now)
    wanted: set[int] | None = None
    if group_id is not None:
        wanted = {group_id}
    elif community_id is not None:
        wanted = {g.id for g in communities.groups(session, ws, community_id)}
    grouped: dict[tuple[datetime, int], dict[str, Any]] = {}
    for c in cands:
        if wanted is not None and c.group_id not in wanted:
            continue
        e = grouped.setdefault((c.due_at, c.item.id), {"at": c.due_at.astimezone(tz), "item": c.item,
                                                       "statuses": Counter()})
        e["statuses"][c.status] += 1
    return [grouped[k] for k in sorted(grouped, key=lambda k: (k[0], k[1]))][:300]


def _chains(items: list[SopItem]) -> dict[str, list[SopItem]]:
    out: dict[str, list[SopItem]] = defaultdict(list)
    order = {"preview": 0, "poster": 1, "course": 2, "article": 3, "audio": 4, "series": 5}
    for i in items:
        if i.chain:
            out[str(i.chain.get("series"))].append(i)
    return {k: sorted(v, key=lambda i: order.get(str(i.chain.get("step")), 9)) for k, v in out.items()}


@router.get("", response_class=HTMLResponse)
def calendar_page(request: Request, community_id: int | None = None, group_id: int | None = None,
                  week: str | None = None, who: Principal = Depends(require(Perm.READ))) -> HTMLResponse:
    rt = runtime(request)
    now = rt.clock.now()
    ws = who.workspace_id
    with rt.tx() as s:
        tz = service.zone(s, ws)
        today = now.astimezone(tz).date()
        monday = _day(week, today)
        monday = monday - timedelta(days=monday.weekday())
        group = communities.get_group(s, ws, group_id) if group_id is not None else None
        if group is not None and community_id is None:
            community_id = group.community_id
        community = communities.get(s, ws, community_id) if community_id is not None else None
        items = service.list_items(s, ws, community_id=community_id if group_id is None else None,
                                   group_id=group_id)
        mix = [c for c in checks.content_mix(s, ws, monday, now=now)
               if community_id is None or c.community_id == community_id]
        settings = service.effective_settings(community, group) if community is not None else None
        ctx: dict[str, Any] = {
            "nav": "calendar", "community": community, "group": group, "monday": monday,
            "prev_week": (monday - timedelta(days=7)).isoformat(),
            "next_week": (monday + timedelta(days=7)).isoformat(),
            "days": _week(s, ws, monday, community_id, group_id), "weekdays": WEEKDAYS,
            "preview": _preview(s, ws, now, community_id, group_id), "items": items, "chains": _chains(items),
            "mix": mix, "targets": _targets(s, ws), "all_communities": communities.list_all(s, ws),
            "groups": communities.groups(s, ws, community_id) if community_id is not None else [],
            "settings": settings, "timings": TIMINGS, "today": today,
            "report": checks.report(s, ws, now - timedelta(days=7), now + timedelta(days=14))[:100],
        }
        return render(request, "calendar/page.html", **ctx)


def _row(request: Request, item_id: int, who: Principal) -> HTMLResponse:
    with runtime(request).tx() as s:
        item = service.get_item(s, who.workspace_id, item_id)
        return render(request, "calendar/_item_row.html", item=item)


@router.get("/items/{item_id:int}/row", response_class=HTMLResponse)
def item_row(request: Request, item_id: int, who: Principal = Depends(require(Perm.READ))) -> HTMLResponse:
    return _row(request, item_id, who)


@router.get("/items/{item_id:int}/edit", response_class=HTMLResponse)
def edit_item(request: Request, item_id: int, who: Principal = Depends(require(Perm.WRITE))) -> HTMLResponse:
    with runtime(request).tx() as s:
        item = service.get_item(s, who.workspace_id, item_id)
        tz = service.zone(s, who.workspace_id)
        return render(request, "calendar/_item_edit.html", item=item, targets=_targets(s, who.workspace_id),
                      timings=TIMINGS, once_local=item.once_at.astimezone(tz).strftime("%Y-%m-%dT%H:%M")
                      if item.once_at else "")


@router.post("/items/{item_id:int}")
def save_item(request: Request, item_id: int, form: FormData = Depends(form_data),
              who: Principal = Depends(require(Perm.WRITE))) -> Response:
    rt = runtime(request)
    now = rt.clock.now()
    with rt.tx() as s:
        patch = parse(SopItemPatch, item_data(form, service.zone(s, who.workspace_id)))
        item = service.update_item(s, who.workspace_id, item_id, patch, now=now)
        planner.plan_window(s, who.workspace_id, now, now + planner.HORIZON, now, item_ids=[item.id])
        auth.audit(s, who, "sop.item.update", "sop_item", item.id, {"fields": sorted(patch.model_fields_set)},
                   now=now)
    if is_htmx(request):
        return _row(request, item_id, who)
    flash(request, N_("Item saved."))
    return done(request, "/calendar")


@router.post("/items")
def create_item(request: Request, form: FormData = Depends(form_data),
                who: Principal = Depends(require(Perm.WRITE))) -> Response:
    rt = runtime(request)
    now = rt.clock.now()
    with rt.tx() as s:
        body = parse(SopItemIn, item_data(form, service.zone(s, who.workspace_id)))
        item = service.create_item(s, who.workspace_id, body, now=now)
        planner.plan_window(s, who.workspace_id, now, now + planner.HORIZON, now, item_ids=[item.id])
        auth.audit(s, who, "sop.item.create", "sop_item", item.id, {"title": item.title}, now=now)
        cid = body.community_id
    flash(request, N_("Item created."))
    return done(request, f"/calendar?community_id={cid}" if cid else "/calendar")


@router.post("/items/{item_id:int}/delete")
def delete_item(request: Request, item_id: int, who: Principal = Depends(require(Perm.WRITE))) -> Response:
    rt = runtime(request)
    with rt.tx() as s:
        service.delete_item(s, who.workspace_id, item_id, now=rt.clock.now())
        auth.audit(s, who, "sop.item.delete", "sop_item", item_id, now=rt.clock.now())
    flash(request, N_("Item removed."))
    return done(request, "/calendar")


@router.post("/settings/{community_id:int}")
def save_settings(request: Request, community_id: int, form: FormData = Depends(form_data),
                  who: Principal = Depends(require(Perm.WRITE))) -> Response:
    quiet_from, quiet_to = text(form, "quiet_from"), text(form, "quiet_to")
    body = parse(ScheduleSettings, {"daily_cap": integer(form, "daily_cap"),
                                    "quiet_hours": [quiet_from, quiet_to] if quiet_from or quiet_to else []})
    rt = runtime(request)
    with rt.tx() as s:
        service.set_community_settings(s, who.workspace_id, community_id, body, now=rt.clock.now())
        auth.audit(s, who, "sop.settings.community", "community", community_id, body.model_dump(),
                   now=rt.clock.now())
    flash(request, N_("Posting rules saved."))
    return done(request, f"/calendar?community_id={community_id}")


@router.post("/broadcast")
def send_broadcast(request: Request, form: FormData = Depends(form_data),
                   who: Principal = Depends(require(Perm.WRITE))) -> Response:
    def ids(name: str) -> list[int]:
        out = []
        for v in form.getlist(name):
            for part in (v.replace("，", ",").split(",") if isinstance(v, str) else []):
                if part.strip().isdigit():
                    out.append(int(part.strip()))
        return out

    item_id = integer(form, "item_id")
    body = parse(BroadcastIn, {"item_id": item_id, "text": None if item_id else text(form, "text"),
                               "community_ids": ids("community_ids"), "group_ids": ids("group_ids"),
                               "tag_ids": ids("tag_ids")})
    bid = text(form, "broadcast_id") or broadcast.new_id()
    rt = runtime(request)
    out = broadcast.send(rt.sessions, who.workspace_id, body, broadcast_id=bid, now=rt.clock.now())
    with rt.tx() as s:
        auth.audit(s, who, "sop.broadcast", "broadcast", bid, {"groups": out.groups, "contacts": out.contacts,
                                                               "created": out.created}, now=rt.clock.now())
    flash(request, N_("Broadcast queued."))
    return done(request, "/calendar")


@router.post("/import")
async def import_table(request: Request, who: Principal = Depends(require(Perm.WRITE))) -> Response:
    form = await request.form()
    upload = form.get("file")
    if not isinstance(upload, UploadFile):
        raise Invalid("choose a .xlsx or .csv file", code="no_file")
    data = await read_upload(upload, 5_000_000)
    partial = form.get("partial") in ("1", "on")
    from starlette.concurrency import run_in_threadpool

    def work() -> tuple[int, list[RowError]]:
        rt = runtime(request)
        rows = import_export.read_table(data, upload.filename or "")
        try:
            with rt.tx() as s:
                created, errors = import_export.import_rows(s, who.workspace_id, rows, now=rt.clock.now(),
                                                            partial=partial)
                auth.audit(s, who, "sop.import", "sop_item", "", {"created": len(created), "errors": len(errors)},
                           now=rt.clock.now())
                return len(created), errors
        except Invalid as exc:
            if exc.code != "import_rejected":
                raise
            return 0, [RowError.model_validate(e) for e in exc.detail or []]

    created, errors = await run_in_threadpool(work)
    if errors:
        return render(request, "calendar/import_result.html", status_code=422 if not created else 200,
                      nav="calendar", created=created, errors=errors, partial=partial)
    flash(request, N_("Import done."))
    return done(request, "/calendar")

