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
_HANDLERS: dict[str, list[Handler]] = {}


def on(event_type: str) -> Callable[[Handler], Handler]:
    def register(fn: Handler) -> Handler:
        handlers = _HANDLERS.setdefault(event_type, [])
        if fn not in handlers:
            handlers.append(fn)
        return fn

    return register


def has_handlers(event_type: str) -> bool:
    return event_type in _HANDLERS


def dispatch(session: Session, events: list[StoredEvent]) -> None:
    for ev in events:
        for handler in _HANDLERS.get(ev.type, ()):
            handler(session, ev)
