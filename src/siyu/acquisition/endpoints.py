"""REST endpoints of channel codes (B4): list, create, change, QR, and the scan a platform callback reports."""

from __future__ import annotations

from datetime import datetime

from fastapi import Depends
from fastapi.responses import Response
from pydantic import BaseModel

from siyu.acquisition import commands, service
from siyu.acquisition.schemas import ChannelCodeIn, ChannelCodePatch, ScanIn
from siyu.auth.roles import Perm
from siyu.edge.work import Work, edge_router, work
from siyu.kit.errors import Invalid
from siyu.kit.pagination import Cursor, Limit, PageOut
from siyu.kit.params import Id
from siyu.models import ChannelCode

router = edge_router(prefix="/api/v1", tags=["channel codes"])


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


@router.get("/channel-codes")
def list_codes(cursor: Cursor = None, limit: Limit = 50, w: Work = Depends(work(Perm.READ))) -> PageOut[ChannelCodeOut]:
    """Oldest first."""
    base_url = w.rt.settings.base_url
    return PageOut.of(service.page(w.s, w.ws, cursor=cursor, limit=limit), lambda c: code_out(c, base_url))


@router.post("/channel-codes", status_code=201)
def create_code(body: ChannelCodeIn, w: Work = Depends(work(Perm.WRITE))) -> ChannelCodeOut:
    return code_out(commands.create(w, body), w.rt.settings.base_url)


@router.patch("/channel-codes/{code_id}")
def patch_code(code_id: Id, body: ChannelCodePatch, w: Work = Depends(work(Perm.WRITE))) -> ChannelCodeOut:
    return code_out(commands.update(w, code_id, body), w.rt.settings.base_url)


@router.get("/channel-codes/{code_id}/qr.{fmt}", response_class=Response,
            responses={200: {"description": "the QR code", "content": {"image/png": {}, "image/svg+xml": {}}}})
def code_qr(code_id: Id, fmt: str, w: Work = Depends(work(Perm.READ))) -> Response:
    if fmt not in ("png", "svg"):
        raise Invalid("QR format is png or svg", code="invalid_format", status=404)
    c = service.get(w.s, w.ws, code_id)
    data, media = service.qr(w.rt.settings.base_url, c, fmt)
    name = f"channel-code-{c.id}.{fmt}"
    return Response(data, media_type=media, headers={"Content-Disposition": f'attachment; filename="{name}"'})


@router.post("/channel-codes/{state}/scan")
def scan(state: str, body: ScanIn, w: Work = Depends(work(Perm.WRITE))) -> ScanOut:
    """What a platform callback does when someone scans: identify, tag, attribute, route and join."""
    r = service.scan(w.s, w.rt.connectors, w.ws, state, platform=body.platform, external_id=body.external_id,
                     nickname=body.nickname, now=w.now)
    return ScanOut(**r.__dict__)
