"""Event-log subscriptions of engagement/moderation (imported by engagement/automations.py)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from siyu.engagement.moderation import automation
from siyu.events import hooks
from siyu.events.hooks import StoredEvent


@hooks.on("message.posted", priority=hooks.MODERATION)
def moderate_message(session: Session, ev: StoredEvent) -> None:
    """Moderation runs first, so a message it acts on is never answered by the FAQ."""
    automation.on_message(session, ev)
