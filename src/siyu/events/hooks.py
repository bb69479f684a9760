"""What runs when an event is stored: projections (state), then automations (reactions), in the same transaction.

- Projections turn platform facts into state (memberships, group state, relationships, tags). They run for
  every event, live or history, whatever its source, so state follows from the log by one path.
- Automations speak or act (welcome, FAQ, moderation, interaction). They run on live events only: history
  (imports, syncs, late events) updates state and counts and never greets, answers or removes anyone.

An automation that raises never fails the ingest: all of a batch's reactions first run inside one savepoint; if
any raises, the savepoint is rolled back and each (event, automation) runs again in its own savepoint, so the
others still take effect and the failure is recorded (`AutomationFailure`) for retry with backoff.
Running inside the ingest transaction keeps an event and the actions it causes together: a crash loses neither
without the other.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

log = logging.getLogger("siyu.automations")


@dataclass(frozen=True)
class StoredEvent:
    id: int
    workspace_id: int
    type: str
    contact_id: int | None
    group_id: int | None
    occurred_at: datetime
    payload: dict[str, Any] = field(default_factory=dict)
    #: False for history: projections apply it, automations skip it.
    live: bool = True
    #: The engine's clock when it processes the event: what automations plan with (never `occurred_at`).
    now: datetime | None = None

    @property
    def clock(self) -> datetime:
        return self.now or self.occurred_at


Handler = Callable[[Session, StoredEvent], None]
_HANDLERS: dict[str, list[tuple[int, Handler]]] = {}
_PROJECTIONS: dict[str, list[Handler]] = {}
_BY_NAME: dict[str, Handler] = {}

#: Conventional priorities for `message.posted`: moderation acts first, so a spam message is never answered.
MODERATION = 10
REPLIES = 50
INTERACTION = 60
DEFAULT = 100


def name_of(fn: Handler) -> str:
    return f"{fn.__module__}.{fn.__qualname__}"


def on(event_type: str, priority: int = DEFAULT) -> Callable[[Handler], Handler]:
    """Subscribe an automation (live events only); lower priority runs first, whatever the import order."""

    def register(fn: Handler) -> Handler:
        handlers = _HANDLERS.setdefault(event_type, [])
        if all(h is not fn for _, h in handlers):
            handlers.append((priority, fn))
            handlers.sort(key=lambda ph: ph[0])
        _BY_NAME[name_of(fn)] = fn
        return fn

    return register


def projects(*event_types: str) -> Callable[[Handler], Handler]:
    """Subscribe a projection: state from facts, for live and history events alike. Must be idempotent and give
    the same state whatever order the facts arrive in."""

    def register(fn: Handler) -> Handler:
        for event_type in event_types:
            handlers = _PROJECTIONS.setdefault(event_type, [])
            if fn not in handlers:
                handlers.append(fn)
        return fn

    return register


def has_handlers(event_type: str, live: bool = True) -> bool:
    return event_type in _PROJECTIONS or (live and event_type in _HANDLERS)


def automation(name: str) -> Handler | None:
    return _BY_NAME.get(name)


Failure = Callable[[Session, StoredEvent, str, BaseException], None]
#: Records a failed automation; set by siyu.events.failures (kept out of this module's imports).
record_failure: Failure | None = None


def dispatch(session: Session, events: list[StoredEvent]) -> None:
    """Project and react to stored events (in id order)."""
    if not any(ev.live and ev.type in _HANDLERS for ev in events):
        for ev in events:
            _project(session, ev)
        return
    try:
        with session.begin_nested():
            for ev in events:
                _project(session, ev)
                for _, handler in _react_to(ev):
                    handler(session, ev)
        return
    except Exception:
        log.info("an automation raised; re-running the batch's reactions one by one", exc_info=True)
    for ev in events:
        _project(session, ev)
        for _, handler in _react_to(ev):
            run_isolated(session, ev, handler)


def _project(session: Session, ev: StoredEvent) -> None:
    for fn in _PROJECTIONS.get(ev.type, ()):
        fn(session, ev)


def _react_to(ev: StoredEvent) -> list[tuple[int, Handler]]:
    return _HANDLERS.get(ev.type, []) if ev.live else []


def run_isolated(session: Session, ev: StoredEvent, handler: Handler) -> bool:
    """One automation on one event in its own savepoint; a failure is recorded, not raised."""
    try:
        with session.begin_nested():
            handler(session, ev)
        return True
    except Exception as exc:
        log.warning("automation %s failed on event %s: %s", name_of(handler), ev.id, exc, exc_info=True)
        if record_failure is not None:
            record_failure(session, ev, name_of(handler), exc)
        return False


def at(ev: StoredEvent, now: datetime) -> StoredEvent:
    """The event as a retry sees it: live, processed at `now`."""
    return replace(ev, live=True, now=now)


#: Retry delays after the first failure: 1 min, 2, 4 … capped at an hour.
def backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(3600, 60 * 2 ** max(0, attempts - 1)))
