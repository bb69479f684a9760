from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from pydantic import BaseModel

from siyu.acquisition import service
from siyu.acquisition.schemas import ChannelCodeIn, ChannelCodePatch, ScanIn
from siyu.auth import service as auth
from siyu.auth.roles import Perm
from siyu.auth.service import Principal
from siyu.auth.web import require, runtime
from siyu.kit.errors import Invalid
from siyu.kit.params import Id
from siyu.models import ChannelCode

router = APIRouter(prefix="/api/v1", tags=["channel codes"])


class ChannelCodeOut(BaseModel):
    id: int
    name: str
    kind: str
    state: str
    community_id: int
    tag_ids: list[int]
    welcome_override: str
    active: bool
    scan_url: str
    created_at: datetime


class ScanOut(BaseModel):
    contact_id: int
    contact_created: bool
    group_id: int
    group_name: str
    membership_id: int
    joined: bool
    tags_added: list[str]


def code_out(c: ChannelCode, base_url: str) -> ChannelCodeOut:
    return ChannelCodeOut(id=c.id, name=c.name, kind=c.kind, state=c.state, community_id=c.community_id,
                          tag_ids=c.tag_ids, welcome_override=c.welcome_override, active=c.active,
                          scan_url=service.scan_url(base_url, c), created_at=c.created_at)


@router.get("/channel-codes", response_model=list[ChannelCodeOut])
def list_codes(request: Request, who: Principal = Depends(require(Perm.READ))) -> list[ChannelCodeOut]:
    rt = runtime(request)
    with rt.tx() as s:
        return [code_out(c, rt.settings.base_url) for c in service.list_all(s, who.workspace_id)]


@router.post("/channel-codes", response_model=ChannelCodeOut, status_code=201)
def create_code(request: Request, body: ChannelCodeIn, who: Principal = Depends(require(Perm.WRITE))) -> ChannelCodeOut:
    rt = runtime(request)
    with rt.tx() as s:
        c = service.create(s, who.workspace_id, body)
        auth.audit(s, who, "channel_code.create", "channel_code", c.id, {"state": c.state}, now=rt.clock.now())
        return code_out(c, rt.settings.base_url)


@router.patch("/channel-codes/{code_id}", response_model=ChannelCodeOut)
def patch_code(request: Request, code_id: Id, body: ChannelCodePatch,
               who: Principal = Depends(require(Perm.WRITE))) -> ChannelCodeOut:
    rt = runtime(request)
    with rt.tx() as s:
        c = service.update(s, who.workspace_id, code_id, body)
        auth.audit(s, who, "channel_code.update", "channel_code", c.id,
                   {"fields": sorted(body.model_fields_set)}, now=rt.clock.now())
        return code_out(c, rt.settings.base_url)


@router.get("/channel-codes/{code_id}/qr.{fmt}", response_class=Response,
            responses={200: {"description": "the QR code", "content": {"image/png": {}, "image/svg+xml": {}}}})
def code_qr(request: Request, code_id: Id, fmt: str, who: Principal = Depends(require(Perm.READ))) -> Response:
    if fmt not in ("png", "svg"):
        raise Invalid("QR format is png or svg", code="invalid_format", status=404)
    rt = runtime(request)
    with rt.tx() as s:
        c = service.get(s, who.workspace_id, code_id)
        data, media = service.qr(rt.settings.base_url, c, fmt)
    name = f"channel-code-{c.id}.{fmt}"
    return Response(data, media_type=media, headers={"Content-Disposition": f'attachment; filename="{name}"'})


@router.post("/channel-codes/{state}/scan", response_model=ScanOut)
def scan(request: Request, state: str, body: ScanIn, who: Principal = Depends(require(Perm.WRITE))) -> ScanOut:
    """What a platform callback does when someone scans: identify, tag, attribute, route and join."""
    rt = runtime(request)
    with rt.tx() as s:
        r = service.scan(s, rt.connectors, who.workspace_id, state, platform=body.platform,
                         external_id=body.external_id, nickname=body.nickname, now=rt.clock.now())
        return ScanOut(**r.__dict__)
