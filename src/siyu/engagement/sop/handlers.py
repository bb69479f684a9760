"""Event-log subscriptions of engagement/sop (imported by engagement/automations.py).

C4: a member who replies 「解锁」 (or "unlock") under a gated post gets their personal share link by DM. Runs after
moderation and FAQ replies (a spam message is never answered).
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from siyu.engagement.sop import content, gating
from siyu.events.hooks import INTERACTION, StoredEvent, on

UNLOCK_PRIORITY = INTERACTION + 10


@on("message.posted", priority=UNLOCK_PRIORITY)
def unlock_keyword(session: Session, ev: StoredEvent) -> None:
    text = str(ev.payload.get("text", "")).strip().lower()
    if text not in content.UNLOCK_KEYWORDS or ev.group_id is None or ev.contact_id is None:
        return
    gating.on_keyword(session, ev.workspace_id, ev.group_id, ev.contact_id, now=ev.clock)
