"""Channel codes (B4): list with scans and joins, create, QR (PNG / SVG), switch on and off; a code's scans and
the joins they led to per day (chart), and how full the groups it routes into are now."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, Response
from starlette.datastructures import FormData

from siyu.acquisition import commands, service
from siyu.acquisition.schemas import ChannelCodeIn, ChannelCodePatch
from siyu.auth.roles import Perm
from siyu.communities import service as communities
from siyu.console import queries
from siyu.console.render import N_, done, flash, gettext, render, zone
from siyu.console.views.common import form_data, integer, lines, parse, text
from siyu.contacts import service as contacts
from siyu.edge.work import Work, edge_router, work
from siyu.kit.errors import NotFound

router = edge_router()
KINDS = ("channel", "store", "salesperson")
#: The chart windows a code page offers, in days (the first is the default).
WINDOWS = (30, 7, 90)


@router.get("/codes", response_class=HTMLResponse)
def list_codes(request: Request, w: Work = Depends(work(Perm.READ))) -> HTMLResponse:
    return render(request, "codes/list.html", nav="codes", codes=service.list_all(w.s, w.ws),
                  joins=service.stats(w.s, w.ws), scans=service.scan_counts(w.s, w.ws),
                  community_names=queries.community_names(w.s, w.ws))


@router.get("/codes/new", response_class=HTMLResponse)
def new_code(request: Request, community_id: int | None = None,
             w: Work = Depends(work(Perm.WRITE))) -> HTMLResponse:
    return render(request, "codes/new.html", nav="codes", communities=communities.list_all(w.s, w.ws), kinds=KINDS,
                  selected=community_id)


@router.post("/codes")
def create_code(request: Request, form: FormData = Depends(form_data),
                w: Work = Depends(work(Perm.WRITE))) -> Response:
    data: dict[str, Any] = {
        "name": text(form, "name"), "kind": text(form, "kind") or "channel",
        "community_id": integer(form, "community_id"), "state": text(form, "state") or None,
        "tags": [t.replace("：", ":") for t in lines(text(form, "tags"))],
        "welcome_override": text(form, "welcome_override"),
    }
    c = commands.create(w, parse(ChannelCodeIn, data))
    flash(request, N_("Channel code created."))
    return done(request, f"/codes/{c.id}")


@router.get("/codes/{code_id:int}", response_class=HTMLResponse)
def code_detail(request: Request, code_id: int, w: Work = Depends(work(Perm.READ))) -> HTMLResponse:
    s, ws = w.s, w.ws
    c = service.get(s, ws, code_id)
    raw = request.query_params.get("days", "")
    days = int(raw) if raw.isdigit() and int(raw) in WINDOWS else WINDOWS[0]
    tz = zone(request)
    today = w.now.astimezone(tz).date()
    daily = service.daily(s, ws, c, today - timedelta(days=days - 1), days, tz)
    chart = {"x": [d.strftime("%m-%d") for d in daily.days], "series": [
        {"name": gettext(request, N_("Scans")), "data": daily.scans, "type": "bar", "color": "#0b63a8"},
        {"name": gettext(request, N_("Joins")), "data": daily.joins, "type": "bar", "color": "#1a7f5a"}]}
    return render(request, "codes/detail.html", nav="codes", code=c, community=communities.get(s, ws, c.community_id),
                  tags=[contacts.tag_label(s, t) for t in c.tag_ids], joins=service.stats(s, ws).get(c.id, 0),
                  scans=service.scan_counts(s, ws).get(c.id, 0), daily=daily, chart=chart, days=days,
                  windows=WINDOWS, fill=service.target_fill(s, ws, c),
                  scan_url=service.scan_url(w.rt.settings.base_url, c))


@router.get("/codes/{code_id:int}/qr.{fmt}")
def code_qr(code_id: int, fmt: str, download: bool = False, w: Work = Depends(work(Perm.READ))) -> Response:
    if fmt not in ("png", "svg"):
        raise NotFound("QR format is png or svg", code="invalid_format")
    data, media = service.qr(w.rt.settings.base_url, service.get(w.s, w.ws, code_id), fmt)
    disposition = "attachment" if download else "inline"
    return Response(data, media_type=media, headers={
        "Content-Disposition": f'{disposition}; filename="channel-code-{code_id}.{fmt}"',
        "Cache-Control": "private, max-age=300"})


@router.post("/codes/{code_id:int}/active")
def switch_code(request: Request, code_id: int, form: FormData = Depends(form_data),
                w: Work = Depends(work(Perm.WRITE))) -> Response:
    active = text(form, "active") == "1"
    commands.update(w, code_id, ChannelCodePatch(active=active))
    flash(request, N_("Channel code switched on.") if active else N_("Channel code switched off."))
    return done(request, f"/codes/{code_id}")
