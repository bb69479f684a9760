"""Channel codes (B4): list with joins, create, QR (PNG / SVG), switch on and off."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from starlette.datastructures import FormData

from siyu.acquisition import service
from siyu.acquisition.schemas import ChannelCodeIn, ChannelCodePatch
from siyu.auth import service as auth
from siyu.auth.roles import Perm
from siyu.auth.service import Principal
from siyu.auth.web import require, runtime
from siyu.communities import service as communities
from siyu.console import queries
from siyu.console.render import N_, done, flash, render
from siyu.console.views.common import form_data, integer, lines, parse, text
from siyu.contacts import service as contacts
from siyu.kit.errors import NotFound

router = APIRouter()
KINDS = ("channel", "store", "salesperson")


@router.get("/codes", response_class=HTMLResponse)
def list_codes(request: Request, who: Principal = Depends(require(Perm.READ))) -> HTMLResponse:
    with runtime(request).tx() as s:
        codes = service.list_all(s, who.workspace_id)
        joins = service.stats(s, who.workspace_id)
        names = queries.community_names(s, who.workspace_id)
        return render(request, "codes/list.html", nav="codes", codes=codes, joins=joins, community_names=names)


@router.get("/codes/new", response_class=HTMLResponse)
def new_code(request: Request, community_id: int | None = None,
             who: Principal = Depends(require(Perm.WRITE))) -> HTMLResponse:
    with runtime(request).tx() as s:
        comms = communities.list_all(s, who.workspace_id)
        return render(request, "codes/new.html", nav="codes", communities=comms, kinds=KINDS,
                      selected=community_id)


@router.post("/codes")
def create_code(request: Request, form: FormData = Depends(form_data),
                who: Principal = Depends(require(Perm.WRITE))) -> Response:
    data: dict[str, Any] = {
        "name": text(form, "name"), "kind": text(form, "kind") or "channel",
        "community_id": integer(form, "community_id"), "state": text(form, "state") or None,
        "tags": [t.replace("：", ":") for t in lines(text(form, "tags"))],
        "welcome_override": text(form, "welcome_override"),
    }
    body = parse(ChannelCodeIn, data)
    rt = runtime(request)
    with rt.tx() as s:
        c = service.create(s, who.workspace_id, body)
        auth.audit(s, who, "channel_code.create", "channel_code", c.id, {"state": c.state}, now=rt.clock.now())
        code_id = c.id
    flash(request, N_("Channel code created."))
    return done(request, f"/codes/{code_id}")


@router.get("/codes/{code_id:int}", response_class=HTMLResponse)
def code_detail(request: Request, code_id: int, who: Principal = Depends(require(Perm.READ))) -> HTMLResponse:
    rt = runtime(request)
    with rt.tx() as s:
        c = service.get(s, who.workspace_id, code_id)
        community = communities.get(s, who.workspace_id, c.community_id)
        tags = [contacts.tag_label(s, t) for t in c.tag_ids]
        joins = service.stats(s, who.workspace_id).get(c.id, 0)
        return render(request, "codes/detail.html", nav="codes", code=c, community=community, tags=tags,
                      joins=joins, scan_url=service.scan_url(rt.settings.base_url, c))


@router.get("/codes/{code_id:int}/qr.{fmt}")
def code_qr(request: Request, code_id: int, fmt: str, download: bool = False,
            who: Principal = Depends(require(Perm.READ))) -> Response:
    if fmt not in ("png", "svg"):
        raise NotFound("QR format is png or svg", code="invalid_format")
    rt = runtime(request)
    with rt.tx() as s:
        c = service.get(s, who.workspace_id, code_id)
        data, media = service.qr(rt.settings.base_url, c, fmt)
    disposition = "attachment" if download else "inline"
    return Response(data, media_type=media, headers={
        "Content-Disposition": f'{disposition}; filename="channel-code-{code_id}.{fmt}"',
        "Cache-Control": "private, max-age=300"})


@router.post("/codes/{code_id:int}/active")
def switch_code(request: Request, code_id: int, form: FormData = Depends(form_data),
                who: Principal = Depends(require(Perm.WRITE))) -> Response:
    active = text(form, "active") == "1"
    body = ChannelCodePatch(active=active)
    rt = runtime(request)
    with rt.tx() as s:
        service.update(s, who.workspace_id, code_id, body)
        auth.audit(s, who, "channel_code.update", "channel_code", code_id, {"active": active}, now=rt.clock.now())
    flash(request, N_("Channel code switched on.") if active else N_("Channel code switched off."))
    return done(request, f"/codes/{code_id}")
