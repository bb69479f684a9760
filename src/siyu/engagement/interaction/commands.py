"""What a person does to interactions, from the REST API or the console: one function per act, each auditing
itself inside the request's unit of work (`edge/work.py`)."""

from __future__ import annotations

from siyu.edge.work import Work
from siyu.engagement.interaction import service
from siyu.engagement.interaction.schemas import InteractionIn
from siyu.models import Interaction, ShareLink


def create(w: Work, body: InteractionIn) -> Interaction:
    """Start an interaction in a group; it is announced there through the outbox."""
    ia = service.create(w.s, w.ws, body, w.now)
    w.audit("interaction.create", "interaction", ia.id, {"kind": ia.kind, "group_id": ia.group_id, "title": ia.title})
    return ia


def close(w: Work, interaction_id: int) -> Interaction:
    """Close now (idempotent); the results are posted in the group, a draw is drawn."""
    ia = service.close(w.s, w.ws, interaction_id, now=w.now)
    w.audit("interaction.close", "interaction", ia.id, {"reason": ia.result.get("reason")})
    return ia


def draw(w: Work, interaction_id: int, *, seed: str | None = None) -> Interaction:
    """Draw a lucky draw's winners (idempotent: drawing again gives the same result) and announce them."""
    ia = service.draw(w.s, w.ws, interaction_id, now=w.now, seed=seed)
    w.audit("interaction.draw", "interaction", ia.id, {"seed": ia.result.get("seed"),
                                                       "winners": ia.result.get("winners")})
    return ia


def announce(w: Work, interaction_id: int) -> Interaction:
    """Post a solitaire's live list and remaining stock now."""
    service.announce_live(w.s, w.ws, interaction_id, now=w.now)
    w.audit("interaction.announce", "interaction", interaction_id)
    return service.get(w.s, w.ws, interaction_id)


def share_link(w: Work, interaction_id: int, contact_id: int, *, url: str = "") -> ShareLink:
    """A member's personal link for this interaction (asking again returns the same link)."""
    link = service.create_share_link(w.s, w.ws, interaction_id, contact_id, now=w.now, url=url)
    w.audit("interaction.share_link", "interaction", interaction_id,
            {"contact_id": contact_id, "share_link_id": link.id})
    return link
