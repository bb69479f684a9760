"""Groups: occupancy across communities, and one group's members and sandbox messages."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from siyu.auth.roles import Perm
from siyu.auth.service import Principal
from siyu.auth.web import require, runtime
from siyu.communities import service
from siyu.console import queries
from siyu.console.render import render
from siyu.sandbox import service as sandbox

router = APIRouter()


@router.get("/groups", response_class=HTMLResponse)
def list_groups(request: Request, who: Principal = Depends(require(Perm.READ))) -> HTMLResponse:
    with runtime(request).tx() as s:
        groups = service.groups(s, who.workspace_id)
        occ = service.occupancy(s, [g.id for g in groups])
        names = queries.community_names(s, who.workspace_id)
        return render(request, "groups/list.html", nav="groups", groups=groups, occupancy=occ,
                      community_names=names)


@router.get("/groups/{group_id:int}", response_class=HTMLResponse)
def group_detail(request: Request, group_id: int, who: Principal = Depends(require(Perm.READ))) -> HTMLResponse:
    with runtime(request).tx() as s:
        g = service.get_group(s, who.workspace_id, group_id)
        members = service.members(s, g.id)
        community = service.get(s, who.workspace_id, g.community_id) if g.community_id else None
        messages = sandbox.group_messages(s, who.workspace_id, g)
        nicknames = sandbox.nicknames(s, who.workspace_id)
        codes = queries.code_names(s, who.workspace_id)
        return render(request, "groups/detail.html", nav="groups", group=g, members=members,
                      community=community, messages=messages, nicknames=nicknames, code_names=codes)
