"""Groups: occupancy across communities, and one group's members and sandbox messages."""

from __future__ import annotations

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse

from siyu.auth.roles import Perm
from siyu.communities import service
from siyu.console import queries
from siyu.console.render import render
from siyu.edge.work import Work, edge_router, work
from siyu.sandbox import service as sandbox

router = edge_router()


@router.get("/groups", response_class=HTMLResponse)
def list_groups(request: Request, w: Work = Depends(work(Perm.READ))) -> HTMLResponse:
    groups = service.groups(w.s, w.ws)
    return render(request, "groups/list.html", nav="groups", groups=groups,
                  occupancy=service.occupancy(w.s, [g.id for g in groups]),
                  community_names=queries.community_names(w.s, w.ws))


@router.get("/groups/{group_id:int}", response_class=HTMLResponse)
def group_detail(request: Request, group_id: int, w: Work = Depends(work(Perm.READ))) -> HTMLResponse:
    s, ws = w.s, w.ws
    g = service.get_group(s, ws, group_id)
    community = service.get(s, ws, g.community_id) if g.community_id else None
    return render(request, "groups/detail.html", nav="groups", group=g, members=service.members(s, g.id),
                  community=community, messages=sandbox.group_messages(s, ws, g),
                  nicknames=sandbox.nicknames(s, ws), code_names=queries.code_names(s, ws))
