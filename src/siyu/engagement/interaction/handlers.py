"""Event-log subscriptions of engagement/interaction (imported by engagement/automations.py)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from siyu.engagement.interaction import service
from siyu.events import hooks
from siyu.events.hooks import StoredEvent


@hooks.on("message.posted", priority=hooks.INTERACTION)
def member_message(session: Session, ev: StoredEvent) -> None:
    """Solitaire joins, draw entries, quiz / poll answers and dice rolls, in the ingest transaction."""
    service.on_message(session, ev)
