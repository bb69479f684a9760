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

from siyu.auth.roles import Perm
from siyu.communities import service as communities
from siyu.console.render import N_, done, flash, is_htmx, render
from siyu.console.views.common import form_data, integer, parse, text
from siyu.edge.work import Work, edge_router, work
from siyu.engagement.sop import broadcast, checks, commands, import_export, planner, service
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

router = edge_router()
#: Views that open their own transactions instead of running as one unit of work.
own_tx = APIRouter()
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


@router.get("/calendar", response_class=HTMLResponse)
def calendar_page(request: Request, community_id: int | None = None, group_id: int | None = None,
                  week: str | None = None, w: Work = Depends(work(Perm.READ))) -> HTMLResponse:
    s, ws, now = w.s, w.ws, w.now
    tz = service.zone(s, ws)
    today = now.astimezone(tz).date()
    monday = _day(week, today)
    monday = monday - timedelta(days=monday.weekday())
    group = communities.get_group(s, ws, group_id) if group_id is not None else None
    if group is not None and community_id is None:
        community_id = group.community_id
    community = communities.get(s, ws, community_id) if community_id is not None else None
    items = service.list_items(s, ws, community_id=community_id if group_id is None else None, group_id=group_id)
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


@router.get("/calendar/items/{item_id:int}/row", response_class=HTMLResponse)
def item_row(request: Request, item_id: int, w: Work = Depends(work(Perm.READ))) -> HTMLResponse:
    return render(request, "calendar/_item_row.html", item=service.get_item(w.s, w.ws, item_id))


@router.get("/calendar/items/{item_id:int}/edit", response_class=HTMLResponse)
def edit_item(request: Request, item_id: int, w: Work = Depends(work(Perm.WRITE))) -> HTMLResponse:
    item = service.get_item(w.s, w.ws, item_id)
    tz = service.zone(w.s, w.ws)
    return render(request, "calendar/_item_edit.html", item=item, targets=_targets(w.s, w.ws), timings=TIMINGS,
                  once_local=item.once_at.astimezone(tz).strftime("%Y-%m-%dT%H:%M") if item.once_at else "")


@router.post("/calendar/items/{item_id:int}")
def save_item(request: Request, item_id: int, form: FormData = Depends(form_data),
              w: Work = Depends(work(Perm.WRITE))) -> Response:
    item = commands.change_item(w, item_id, parse(SopItemPatch, item_data(form, service.zone(w.s, w.ws))))
    if is_htmx(request):
        return render(request, "calendar/_item_row.html", item=item)
    flash(request, N_("Item saved."))
    return done(request, "/calendar")


@router.post("/calendar/items")
def create_item(request: Request, form: FormData = Depends(form_data),
                w: Work = Depends(work(Perm.WRITE))) -> Response:
    body = parse(SopItemIn, item_data(form, service.zone(w.s, w.ws)))
    commands.create_item(w, body)
    cid = body.community_id
    flash(request, N_("Item created."))
    return done(request, f"/calendar?community_id={cid}" if cid else "/calendar")


@router.post("/calendar/items/{item_id:int}/delete")
def delete_item(request: Request, item_id: int, w: Work = Depends(work(Perm.WRITE))) -> Response:
    commands.delete_item(w, item_id)
    flash(request, N_("Item removed."))
    return done(request, "/calendar")


@router.post("/calendar/settings/{community_id:int}")
def save_settings(request: Request, community_id: int, form: FormData = Depends(form_data),
                  w: Work = Depends(work(Perm.WRITE))) -> Response:
    quiet_from, quiet_to = text(form, "quiet_from"), text(form, "quiet_to")
    body = parse(ScheduleSettings, {"daily_cap": integer(form, "daily_cap"),
                                    "quiet_hours": [quiet_from, quiet_to] if quiet_from or quiet_to else []})
    commands.set_community_settings(w, community_id, body)
    flash(request, N_("Posting rules saved."))
    return done(request, f"/calendar?community_id={community_id}")


@own_tx.post("/calendar/broadcast")
def send_broadcast(request: Request, form: FormData = Depends(form_data),
                   w: Work = Depends(work(Perm.WRITE))) -> Response:
    # Not one unit of work: the broadcast commits chunk by chunk (`commands.send_broadcast`).
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
    commands.send_broadcast(w, body, broadcast_id=text(form, "broadcast_id") or broadcast.new_id())
    flash(request, N_("Broadcast queued."))
    return done(request, "/calendar")


async def _upload(form: FormData = Depends(form_data)) -> tuple[str, bytes]:
    upload = form.get("file")
    if not isinstance(upload, UploadFile):
        raise Invalid("choose a .xlsx or .csv file", code="no_file")
    return upload.filename or "", await read_upload(upload, 5_000_000)


def uploaded_table(upload: tuple[str, bytes] = Depends(_upload)) -> list[dict[str, str]]:
    """The uploaded table's rows, read and parsed (in a worker thread) before the unit of work opens."""
    name, data = upload
    return import_export.read_table(data, name)


@router.post("/calendar/import")
def import_table(request: Request, form: FormData = Depends(form_data), w: Work = Depends(work(Perm.WRITE)),
                 rows: list[dict[str, str]] = Depends(uploaded_table)) -> Response:
    partial = form.get("partial") in ("1", "on")
    try:
        created, errors = commands.import_table(w, rows, partial=partial)
    except Invalid as exc:  # a rejected table stores nothing: its rows are listed instead
        if exc.code != "import_rejected":
            raise
        created, errors = [], [RowError.model_validate(e) for e in exc.detail or []]
    if errors:
        return render(request, "calendar/import_result.html", status_code=422 if not created else 200,
                      nav="calendar", created=len(created), errors=errors, partial=partial)
    flash(request, N_("Import done."))
    return done(request, "/calendar")


router.include_router(own_tx)
