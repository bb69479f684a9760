"""Console pages: the SOP content calendar (C2–C5) — the week of what goes out when, per community or group, with
each occurrence's status; the 14-day preview; items edited in place; broadcast (tags picked by name) and its
history with each group's status and the owner tasks still waiting; export, and import as preview → apply; cap and
quiet hours; the C3 content-mix warning."""

from __future__ import annotations

import base64
import json
import zlib
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from starlette.datastructures import FormData, UploadFile

from siyu.auth.roles import Perm
from siyu.communities import service as communities
from siyu.console.render import N_, done, flash, gettext, is_htmx, locale_of, render
from siyu.console.views.common import form_data, integer, parse, text
from siyu.contacts import service as contacts
from siyu.edge.work import Work, edge_router, work
from siyu.engagement.sop import broadcast, checks, commands, import_export, planner, service
from siyu.engagement.sop.schemas import (
    TIMINGS,
    BroadcastIn,
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
        "tags": contacts.all_tags(s, ws), "recent": broadcast.history(s, ws, limit=5).items,
        "waiting": broadcast.waiting_by_owner(s, ws),
    }
    ctx["titles"] = service.titles(s, ws, {b.item_id for b in ctx["recent"] if b.item_id is not None})
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
    # The form's one-time key names the broadcast: sent twice (a double click), it resumes instead of resending.
    bid = text(form, "broadcast_id") or (f"bc-{w.submission}" if w.submission else broadcast.new_id())
    commands.send_broadcast(w, body, broadcast_id=bid)
    flash(request, N_("Broadcast queued."))
    return done(request, "/calendar")


# ---------------------------------------------------------------------------------------------- export / import


@router.get("/calendar/export")
def export(request: Request, format: str = "xlsx", w: Work = Depends(work(Perm.READ))) -> Response:
    """The SOP table with its header row in the console's language (import reads either language)."""
    data, media, name = import_export.export(w.s, w.ws, format, locale=locale_of(request))
    return Response(data, media_type=media, headers={"Content-Disposition": f'attachment; filename="{name}"'})


@dataclass
class Upload:
    """The uploaded file: its rows, or why it cannot be read as a table."""

    name: str
    rows: list[dict[str, str]] = field(default_factory=list)
    error: import_export.TableError | None = None


async def _upload(form: FormData = Depends(form_data)) -> tuple[str, bytes]:
    upload = form.get("file")
    if not isinstance(upload, UploadFile):
        raise Invalid("choose a .xlsx or .csv file", code="no_file")
    return upload.filename or "", await read_upload(upload, 5_000_000)


def uploaded_table(upload: tuple[str, bytes] = Depends(_upload)) -> Upload:
    """The uploaded table's rows, read and parsed (in a worker thread) before the unit of work opens; a file that
    is no table is kept as its error, for the page to say what is wrong in the operator's language."""
    name, data = upload
    try:
        return Upload(name, import_export.read_table(data, name))
    except import_export.TableError as exc:
        return Upload(name, error=exc)


#: Parameters of a message that are words of ours (a file kind, "the file"), translated with it.
_WORDS = ("kind", "file")


def say(request: Request, template: str, params: dict[str, str]) -> str:
    """An import message (`import_export.Problem` / `TableError`) in the console's language."""
    locale = locale_of(request)
    local = {k: gettext(request, v) if k in _WORDS else v for k, v in params.items()}
    if "columns" in params:
        sep = "、" if locale == "zh_CN" else ", "
        local["columns"] = sep.join(import_export.column_label(c.strip(), locale) for c in params["columns"].split(","))
    try:
        return gettext(request, template) % local if local else gettext(request, template)
    except (KeyError, ValueError, TypeError):  # a translation that lost a placeholder: the English one
        return template % params if params else template


def _preview_page(request: Request, plan: import_export.ImportPlan, rows: list[dict[str, str]], *,
                  partial: bool = False, status_code: int = 200, notice: str = "") -> HTMLResponse:
    locale = locale_of(request)
    shown = [{
        "row": r.row, "action": r.action, "item_id": r.item_id, "title": r.title, "gone": r.gone,
        "changes": [import_export.column_label(c, locale) for c in r.changes],
        "problems": [(import_export.column_label(p.column, locale), say(request, p.template, p.params))
                     for p in r.problems],
    } for r in plan.rows]
    return render(request, "calendar/import_preview.html", status_code=status_code, nav="calendar",
                  rows=[r for r in shown if r["action"] != "unchanged"],
                  unchanged=[r for r in shown if r["action"] == "unchanged"], counts=plan.counts,
                  payload=pack(rows), digest=plan.digest(), partial=partial, notice=notice)


#: A form field is at most 1 MB (Starlette): the rows travel compressed, and a table too big even so is refused.
MAX_PACKED = 1_000_000
MAX_UNPACKED = 40_000_000


def pack(rows: list[dict[str, str]]) -> str:
    """The previewed rows for the apply form: JSON, deflated, URL-safe base64 (the Chinese text of a few hundred
    rows would pass a form field's limit as it is)."""
    raw = json.dumps(rows, ensure_ascii=False, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(zlib.compress(raw, 6)).decode()


def unpack(packed: str) -> Any:
    try:
        inflate = zlib.decompressobj()
        raw = inflate.decompress(base64.urlsafe_b64decode(packed.encode()), MAX_UNPACKED)
        if inflate.unconsumed_tail:
            return None
        return json.loads(raw)
    except (ValueError, zlib.error):
        return None


@router.post("/calendar/import", response_class=HTMLResponse)
def import_preview(request: Request, w: Work = Depends(work(Perm.WRITE)),
                   upload: Upload = Depends(uploaded_table)) -> HTMLResponse:
    """Step 1: what importing the file would do, row by row; nothing is stored until it is applied."""
    if upload.error is not None:
        return render(request, "calendar/import_preview.html", status_code=422, nav="calendar",
                      file_error=say(request, upload.error.template, upload.error.params))
    if len(pack(upload.rows)) > MAX_PACKED:
        return render(request, "calendar/import_preview.html", status_code=413, nav="calendar",
                      file_error=gettext(request, TOO_BIG))
    return _preview_page(request, commands.plan_import(w, upload.rows), upload.rows)


TOO_BIG = N_("This file is too large to import through the preview: split it into smaller files (a few hundred rows "
             "each) and import them one after the other.")
STALE = N_("The calendar changed after this preview was made: check the changes below again, then apply.")
REFUSED = N_("Nothing was imported: fix the rows with errors and upload the file again, or tick “import the good "
             "rows only”.")
DONE = N_("Import done: %(new)s new, %(changed)s changed, %(unchanged)s unchanged.")
LEFT_OUT = N_("%(error)s row(s) with errors were left out.")
NOTHING = N_("Nothing to import: every row matches the calendar.")


def _previewed_rows(form: FormData) -> list[dict[str, str]]:
    """The rows the preview page carries; re-read and re-checked like a new upload."""
    rows = unpack(text(form, "rows"))
    if not isinstance(rows, list) or len(rows) > import_export.MAX_ROWS or not all(
            isinstance(r, dict) and all(isinstance(k, str) and isinstance(v, str) for k, v in r.items())
            for r in rows):
        raise Invalid("the preview could not be read: upload the file again", code="invalid_preview")
    return rows


@router.post("/calendar/import/apply")
def import_apply(request: Request, form: FormData = Depends(form_data),
                 w: Work = Depends(work(Perm.WRITE))) -> Response:
    """Step 2: apply what the preview showed — checked again first, so a calendar changed in between is shown,
    not overwritten."""
    rows = _previewed_rows(form)
    partial = form.get("partial") in ("1", "on")
    plan = commands.plan_import(w, rows)
    if plan.digest() != text(form, "digest"):
        return _preview_page(request, plan, rows, partial=partial, status_code=409, notice=gettext(request, STALE))
    if plan.problems and not partial:
        return _preview_page(request, plan, rows, status_code=422, notice=gettext(request, REFUSED))
    counts = plan.counts
    if not counts["new"] and not counts["changed"]:
        flash(request, NOTHING)
        return done(request, "/calendar#import")
    commands.import_table(w, plan, partial=partial)
    message = gettext(request, DONE) % counts
    if counts["error"]:
        message += " " + gettext(request, LEFT_OUT) % counts
    flash(request, message)
    return done(request, "/calendar")


# ---------------------------------------------------------------------------------------------- broadcast history


@router.get("/calendar/broadcasts", response_class=HTMLResponse)
def broadcasts_page(request: Request, cursor: str | None = None,
                    w: Work = Depends(work(Perm.READ))) -> HTMLResponse:
    """What went out and how each broadcast stands; the owner tasks still waiting, and for whom."""
    page = broadcast.history(w.s, w.ws, cursor=cursor, limit=20)
    tasks = broadcast.open_tasks(w.s, w.ws, limit=200)
    return render(request, "calendar/broadcasts.html", nav="calendar", sent=page.items,
                  next_cursor=page.next_cursor, waiting=broadcast.waiting_by_owner(w.s, w.ws), tasks=tasks.items,
                  more_tasks=tasks.next_cursor is not None, titles=_titles(w, [b.item_id for b in page.items]))


@router.get("/calendar/broadcasts/{broadcast_id}", response_class=HTMLResponse)
def broadcast_page(request: Request, broadcast_id: str, cursor: str | None = None,
                   w: Work = Depends(work(Perm.READ))) -> HTMLResponse:
    """One broadcast: every group (and member) with its status."""
    sent = broadcast.one(w.s, w.ws, broadcast_id)
    page = broadcast.targets(w.s, w.ws, broadcast_id, cursor=cursor, limit=200)
    return render(request, "calendar/broadcast.html", nav="calendar", b=sent, targets=page.items,
                  next_cursor=page.next_cursor, titles=_titles(w, [sent.item_id]))


def _titles(w: Work, ids: list[int | None]) -> dict[int, str]:
    return service.titles(w.s, w.ws, {i for i in ids if i is not None})


router.include_router(own_tx)
