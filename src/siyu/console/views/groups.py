"""Groups: occupancy and the week's joins and leaves across communities; one group's member trend and joins /
leaves per day (charts), its edit (name, owner, capacity) and close, its members a page at a time, and its sandbox
messages."""

from __future__ import annotations

from datetime import timedelta

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, Response
from starlette.datastructures import FormData

from siyu.auth.roles import Perm
from siyu.communities import commands, service
from siyu.communities.schemas import GroupPatch
from siyu.console import queries
from siyu.console.render import N_, done, flash, gettext, render, zone
from siyu.console.views.common import form_data, integer, parse, text
from siyu.edge.work import Work, edge_router, work
from siyu.sandbox import service as sandbox

router = edge_router()
#: The chart windows a group page offers, in days (the first is the default).
WINDOWS = (30, 7, 90)
MEMBERS_PAGE = 50


@router.get("/groups", response_class=HTMLResponse)
def list_groups(request: Request, w: Work = Depends(work(Perm.READ))) -> HTMLResponse:
    groups = service.groups(w.s, w.ws)
    tz = zone(request)
    today = w.now.astimezone(tz).date()
    start = service.day_bounds(today - timedelta(days=6), 7, tz)
    return render(request, "groups/list.html", nav="groups", groups=groups,
                  occupancy=service.occupancy(w.s, [g.id for g in groups]),
                  week=service.flow_by_group(w.s, w.ws, start[0], start[-1]),
                  community_names=queries.community_names(w.s, w.ws))


@router.get("/groups/{group_id:int}", response_class=HTMLResponse)
def group_detail(request: Request, group_id: int, w: Work = Depends(work(Perm.READ))) -> HTMLResponse:
    s, ws = w.s, w.ws
    g = service.get_group(s, ws, group_id)
    community = service.get(s, ws, g.community_id) if g.community_id else None
    raw = request.query_params.get("days", "")
    days = int(raw) if raw.isdigit() and int(raw) in WINDOWS else WINDOWS[0]
    tz = zone(request)
    today = w.now.astimezone(tz).date()
    flow = service.daily_flow(s, ws, today - timedelta(days=days - 1), days, tz, group_ids=[g.id])
    cursor = request.query_params.get("cursor") or None
    members = service.member_page(s, g.id, cursor=cursor, limit=MEMBERS_PAGE)
    x = [d.strftime("%m-%d") for d in flow.days]
    charts = {
        "trend": {"x": x, "series": [{"name": gettext(request, N_("Members")), "data": flow.members, "area": True}]},
        "flow": {"x": x, "series": [
            {"name": gettext(request, N_("Joins")), "data": flow.joins, "type": "bar", "color": "#1a7f5a"},
            {"name": gettext(request, N_("Leaves")), "data": flow.leaves, "type": "bar", "color": "#d9534f"}]},
    }
    return render(request, "groups/detail.html", nav="groups", group=g, members=members, cursor=cursor,
                  occupied=service.occupancy(s, [g.id]).get(g.id, 0), community=community,
                  messages=sandbox.group_messages(s, ws, g), nicknames=sandbox.nicknames(s, ws),
                  code_names=queries.code_names(s, ws), flow=flow, charts=charts, days=days, windows=WINDOWS)


@router.post("/groups/{group_id:int}/edit")
def edit_group(request: Request, group_id: int, form: FormData = Depends(form_data),
               w: Work = Depends(work(Perm.WRITE))) -> Response:
    commands.update_group(w, group_id, parse(GroupPatch, {
        "name": text(form, "name") or None, "owner": text(form, "owner"), "capacity": integer(form, "capacity")}))
    flash(request, N_("Group saved."))
    return done(request, f"/groups/{group_id}")


@router.post("/groups/{group_id:int}/close")
def close_group(request: Request, group_id: int, w: Work = Depends(work(Perm.WRITE))) -> Response:
    commands.close_group(w, group_id)
    flash(request, N_("Group closed: nobody new is routed into it and siyu no longer posts in it."))
    return done(request, f"/groups/{group_id}")


@router.post("/groups/{group_id:int}/reopen")
def reopen_group(request: Request, group_id: int, w: Work = Depends(work(Perm.WRITE))) -> Response:
    commands.reopen_group(w, group_id)
    flash(request, N_("Group reopened."))
    return done(request, f"/groups/{group_id}")
