"""Automations subscribe to event types here; the event log calls them in the same transaction.

Running reactions inside the ingest transaction means an event and the actions it causes commit together:
a crash can lose neither one without the other.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session


@dataclass(frozen=True)
class StoredEvent:
    id: int
    workspace_id: int
    type: str
    contact_id: int | None
    group_id: int | None
    occurred_at: datetime
    payload: dict[str, Any] = field(default_factory=dict)


Handler = Callable[[Session, StoredEvent], None]
_HANDLERS: dict[str, list[tuple[int, Handler]]] = {}

#: Conventional priorities for `message.posted`: moderation acts first, so a spam message is never answered.
MODERATION = 10
REPLIES = 50
INTERACTION = 60
DEFAULT = 100


def on(event_type: str, priority: int = DEFAULT) -> Callable[[Handler], Handler]:
    """Subscribe a handler; lower priority runs first, whatever order modules were imported in."""

    def register(fn: Handler) -> Handler:
        handlers = _HANDLERS.setdefault(event_type, [])
        if all(h is not fn for _, h in handlers):
            handlers.append((priority, fn))
            handlers.sort(key=lambda ph: ph[0])
        return fn

    return register


def has_handlers(event_type: str) -> bool:
    return event_type in _HANDLERS


def dispatch(session: Session, events: list[StoredEvent]) -> None:
    for ev in events:
        for _, handler in _HANDLERS.get(ev.type, ()):
            handler(session, ev)
