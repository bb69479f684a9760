"""Event-log subscriptions of engagement/faq (imported by engagement/automations.py)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from siyu.engagement.faq import automation
from siyu.events import hooks
from siyu.events.hooks import StoredEvent


@hooks.on("message.posted", priority=hooks.REPLIES)
def answer_question(session: Session, ev: StoredEvent) -> None:
    """After moderation (hooks.MODERATION), so a message moderation acted on is never answered."""
    automation.on_message(session, ev)
