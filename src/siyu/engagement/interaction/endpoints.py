"""REST endpoints of engagement/interaction: create per kind, list, get with live results, close, draw, share links."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Depends, Request
from sqlalchemy.orm import Session

from siyu.auth import service as auth
from siyu.auth.roles import Perm
from siyu.auth.service import Principal
from siyu.auth.web import require, runtime
from siyu.engagement.interaction import service
from siyu.engagement.interaction.schemas import (
    DrawIn,
    EntryOut,
    InteractionIn,
    InteractionOut,
    ShareLinkIn,
    ShareLinkOut,
)
from siyu.kit.params import Id
from siyu.models import Interaction, ShareLink

router = APIRouter(prefix="/api/v1", tags=["interaction"])


def interaction_out(s: Session, ia: Interaction, *, with_entries: bool = False) -> InteractionOut:
    cfg = {k: v for k, v in ia.config.items() if not (k == "seed" and ia.status == "open")}
    out = InteractionOut(id=ia.id, group_id=ia.group_id, kind=ia.kind, title=ia.title, options=ia.options,
                         config=cfg, status=ia.status, result=ia.result, live=service.live(s, ia),
                         created_at=ia.created_at, closes_at=ia.closes_at, closed_at=ia.closed_at)
    if with_entries:
        out.entries = [EntryOut(contact_id=e.contact_id, display_name=name, seq=e.seq, value=e.value,
                                created_at=e.created_at) for e, name in service.entries(s, ia)]
    return out


def share_out(link: ShareLink) -> ShareLinkOut:
    assert link.interaction_id is not None
    return ShareLinkOut(id=link.id, token=link.token, interaction_id=link.interaction_id,
                        sharer_contact_id=link.sharer_contact_id, url=link.url, verified_at=link.verified_at)


@router.get("/interactions", response_model=list[InteractionOut])
def list_interactions(request: Request, group_id: Id | None = None,
                      status: Literal["open", "closed"] | None = None, limit: int = 100,
                      who: Principal = Depends(require(Perm.READ))) -> list[InteractionOut]:
    with runtime(request).tx() as s:
        return [interaction_out(s, ia) for ia in service.list_all(s, who.workspace_id, group_id=group_id,
                                                                  status=status, limit=limit)]


@router.post("/interactions", response_model=InteractionOut, status_code=201)
def create_interaction(request: Request, body: InteractionIn,
                       who: Principal = Depends(require(Perm.WRITE))) -> InteractionOut:
    rt = runtime(request)
    with rt.tx() as s:
        ia = service.create(s, who.workspace_id, body, rt.clock.now())
        auth.audit(s, who, "interaction.create", "interaction", ia.id,
                   {"kind": ia.kind, "group_id": ia.group_id, "title": ia.title}, now=rt.clock.now())
        return interaction_out(s, ia)


@router.get("/interactions/{interaction_id}", response_model=InteractionOut)
def get_interaction(request: Request, interaction_id: Id,
                    who: Principal = Depends(require(Perm.READ))) -> InteractionOut:
    with runtime(request).tx() as s:
        return interaction_out(s, service.get(s, who.workspace_id, interaction_id), with_entries=True)


@router.post("/interactions/{interaction_id}/close", response_model=InteractionOut)
def close_interaction(request: Request, interaction_id: Id,
                      who: Principal = Depends(require(Perm.WRITE))) -> InteractionOut:
    rt = runtime(request)
    with rt.tx() as s:
        ia = service.close(s, who.workspace_id, interaction_id, now=rt.clock.now())
        auth.audit(s, who, "interaction.close", "interaction", ia.id, {"reason": ia.result.get("reason")},
                   now=rt.clock.now())
        return interaction_out(s, ia, with_entries=True)


@router.post("/interactions/{interaction_id}/draw", response_model=InteractionOut)
def draw_interaction(request: Request, interaction_id: Id, body: DrawIn | None = None,
                     who: Principal = Depends(require(Perm.WRITE))) -> InteractionOut:
    rt = runtime(request)
    with rt.tx() as s:
        ia = service.draw(s, who.workspace_id, interaction_id, now=rt.clock.now(),
                          seed=body.seed if body else None)
        auth.audit(s, who, "interaction.draw", "interaction", ia.id,
                   {"seed": ia.result.get("seed"), "winners": ia.result.get("winners")}, now=rt.clock.now())
        return interaction_out(s, ia, with_entries=True)


@router.post("/interactions/{interaction_id}/announce", response_model=InteractionOut)
def announce(request: Request, interaction_id: Id,
             who: Principal = Depends(require(Perm.WRITE))) -> InteractionOut:
    """Post a solitaire's live list and remaining stock now."""
    rt = runtime(request)
    with rt.tx() as s:
        service.announce_live(s, who.workspace_id, interaction_id, now=rt.clock.now())
        auth.audit(s, who, "interaction.announce", "interaction", interaction_id, now=rt.clock.now())
        return interaction_out(s, service.get(s, who.workspace_id, interaction_id))


@router.post("/interactions/{interaction_id}/share-links", response_model=ShareLinkOut, status_code=201)
def create_share_link(request: Request, interaction_id: Id, body: ShareLinkIn,
                      who: Principal = Depends(require(Perm.WRITE))) -> ShareLinkOut:
    rt = runtime(request)
    with rt.tx() as s:
        link = service.create_share_link(s, who.workspace_id, interaction_id, body.contact_id,
                                         now=rt.clock.now(), url=body.url)
        auth.audit(s, who, "interaction.share_link", "interaction", interaction_id,
                   {"contact_id": body.contact_id, "share_link_id": link.id}, now=rt.clock.now())
        return share_out(link)
