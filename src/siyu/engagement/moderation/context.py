"""What the `message.posted` automations need to know about a message, loaded once per event and shared.

Moderation (hooks.MODERATION) builds it; the FAQ (hooks.REPLIES) reuses it from `session.info`, together with the
one Aho-Corasick scan of the text and the marker that says moderation acted on this message.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from siyu.engagement import matching
from siyu.engagement.moderation.schemas import EXEMPT_ROLES, STAFF_ROLES
from siyu.events.hooks import StoredEvent
from siyu.models import Community, CommunityRole, Contact, Group, Identity, Membership, ModerationExemption

SIYU_SENDER = "siyu"
BOT_ROLES = frozenset({"robot", "vest"})
_CTX_KEY = "siyu_message_context"
_MODERATED_KEY = "siyu_moderated"


@dataclass
class MessageContext:
    event: StoredEvent
    group: Group
    community: Community | None
    contact: Contact
    text: str
    roles: set[str] = field(default_factory=set)
    whitelisted: bool = False
    from_siyu: bool = False
    membership: Membership | None = None
    matches: matching.MatchSet | None = None
    _scan: matching.Scan | None = None

    @property
    def nickname(self) -> str:
        return self.contact.display_name or f"#{self.contact.id}"

    @property
    def is_bot(self) -> bool:
        """siyu itself, or an account of ours (robot, vest): never moderated, never answered."""
        return self.from_siyu or bool(self.roles & BOT_ROLES)

    @property
    def is_staff(self) -> bool:
        return bool(self.roles & STAFF_ROLES)

    @property
    def exempt(self) -> bool:
        return self.from_siyu or self.whitelisted or bool(self.roles & EXEMPT_ROLES)

    def match_set(self, session: Session) -> matching.MatchSet:
        if self.matches is None:
            self.matches = matching.load(session, self.event.workspace_id)
        return self.matches

    def scan(self, session: Session) -> matching.Scan:
        if self._scan is None:
            self._scan = self.match_set(session).scan(self.text)
        return self._scan

    def switch(self, key: str, default: bool = True) -> bool:
        """A per-group switch (group settings first, then the community's)."""
        return bool(setting(self.group, self.community, key, default))

    def switch_value(self, key: str, default: Any) -> Any:
        return setting(self.group, self.community, key, default)


def setting(group: Group, community: Community | None, key: str, default: Any) -> Any:
    if key in (group.settings or {}):
        return group.settings[key]
    if community is not None and key in (community.settings or {}):
        return community.settings[key]
    return default


def load(session: Session, ev: StoredEvent) -> MessageContext | None:
    """The context of a `message.posted` event (cached on the session for the other handlers), or None when
    the event has no group, no contact or no text."""
    cached: MessageContext | None = session.info.get(_CTX_KEY)
    if cached is not None and cached.event.id == ev.id:
        return cached
    text = str(ev.payload.get("text") or "")
    if ev.group_id is None or ev.contact_id is None or not text:
        return None
    group = session.get(Group, ev.group_id)
    contact = session.get(Contact, ev.contact_id)
    if group is None or contact is None:
        return None
    community = session.get(Community, group.community_id) if group.community_id is not None else None
    ctx = MessageContext(ev, group, community, contact, text)
    if community is not None:
        ctx.roles = set(session.scalars(select(CommunityRole.role).where(
            CommunityRole.community_id == community.id, CommunityRole.contact_id == contact.id)))
    ctx.whitelisted = session.scalar(select(ModerationExemption.id).where(
        ModerationExemption.workspace_id == ev.workspace_id, ModerationExemption.contact_id == contact.id)) is not None
    ctx.from_siyu = str(ev.payload.get("sender") or "") == SIYU_SENDER or session.scalar(
        select(Identity.id).where(Identity.contact_id == contact.id, Identity.external_id == SIYU_SENDER)
    ) is not None
    ctx.membership = session.scalar(select(Membership).where(
        Membership.group_id == group.id, Membership.contact_id == contact.id, Membership.left_at.is_(None)))
    session.info[_CTX_KEY] = ctx
    return ctx


def mark_moderated(session: Session, event_id: int) -> None:
    session.info.setdefault(_MODERATED_KEY, set()).add(event_id)


def was_moderated(session: Session, event_id: int) -> bool:
    return event_id in session.info.get(_MODERATED_KEY, ())
