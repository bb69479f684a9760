"""REST endpoints of engagement/interaction: create per kind, list, get with live results, close, draw, share links."""

from __future__ import annotations

from typing import Literal

from fastapi import Depends
from sqlalchemy.orm import Session

from siyu.auth.roles import Perm
from siyu.edge.work import Work, edge_router, work
from siyu.engagement.interaction import commands, service
from siyu.engagement.interaction.schemas import (
    DrawIn,
    EntryOut,
    InteractionIn,
    InteractionOut,
    ShareLinkIn,
    ShareLinkOut,
)
from siyu.kit.pagination import Cursor, Limit, PageOut
from siyu.kit.params import Id
from siyu.models import Interaction, ShareLink

router = edge_router(prefix="/api/v1", tags=["interaction"])


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


@router.get("/interactions")
def list_interactions(group_id: Id | None = None, status: Literal["open", "closed"] | None = None,
                      cursor: Cursor = None, limit: Limit = 100,
                      w: Work = Depends(work(Perm.READ))) -> PageOut[InteractionOut]:
    """Newest first."""
    page = service.page(w.s, w.ws, group_id=group_id, status=status, cursor=cursor, limit=limit)
    return PageOut.of(page, lambda ia: interaction_out(w.s, ia))


@router.post("/interactions", status_code=201)
def create_interaction(body: InteractionIn, w: Work = Depends(work(Perm.WRITE))) -> InteractionOut:
    return interaction_out(w.s, commands.create(w, body))


@router.get("/interactions/{interaction_id}")
def get_interaction(interaction_id: Id, w: Work = Depends(work(Perm.READ))) -> InteractionOut:
    return interaction_out(w.s, service.get(w.s, w.ws, interaction_id), with_entries=True)


@router.post("/interactions/{interaction_id}/close")
def close_interaction(interaction_id: Id, w: Work = Depends(work(Perm.WRITE))) -> InteractionOut:
    return interaction_out(w.s, commands.close(w, interaction_id), with_entries=True)


@router.post("/interactions/{interaction_id}/draw")
def draw_interaction(interaction_id: Id, body: DrawIn | None = None,
                     w: Work = Depends(work(Perm.WRITE))) -> InteractionOut:
    return interaction_out(w.s, commands.draw(w, interaction_id, seed=body.seed if body else None),
                           with_entries=True)


@router.post("/interactions/{interaction_id}/announce")
def announce(interaction_id: Id, w: Work = Depends(work(Perm.WRITE))) -> InteractionOut:
    """Post a solitaire's live list and remaining stock now."""
    return interaction_out(w.s, commands.announce(w, interaction_id))


@router.post("/interactions/{interaction_id}/share-links", status_code=201)
def create_share_link(interaction_id: Id, body: ShareLinkIn, w: Work = Depends(work(Perm.WRITE))) -> ShareLinkOut:
    return share_out(commands.share_link(w, interaction_id, body.contact_id, url=body.url))
