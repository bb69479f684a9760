"""Automations that failed on an event: recorded, retried with backoff, shown under Alerts, re-runnable by hand.

The event itself was stored and acknowledged (siyu.events.hooks isolates the failing automation in a savepoint);
what is left is to run that one automation on that one event again once the cause is fixed. Automations plan
keyed actions, so running one again never sends twice what it already planned.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from siyu.engagement.alerts.service import raise_alert
from siyu.events import hooks
from siyu.events.hooks import StoredEvent
from siyu.kit.db import insert_ignore, transaction
from siyu.kit.errors import NotFound
from siyu.kit.pagination import Page, keyset
from siyu.models import AutomationFailure, Event

log = logging.getLogger("siyu.automations")
FAILURES = AutomationFailure.__table__
MAX_ATTEMPTS = 8
#: While one process retries a failure, others leave it alone this long.
LEASE = timedelta(minutes=5)


def _error(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:2000]


def record(session: Session, ev: StoredEvent, automation: str, exc: BaseException) -> None:
    now = ev.clock
    row = session.execute(
        insert_ignore(session, FAILURES, ["event_id", "automation"]).returning(FAILURES.c.id),
        [{"workspace_id": ev.workspace_id, "event_id": ev.id, "event_type": ev.type, "automation": automation,
          "error": _error(exc), "attempts": 1, "state": "pending", "next_attempt_at": now + hooks.backoff(1),
          "created_at": now, "updated_at": now}],
    ).first()
    if row is None:
        return
    # One alert per automation and hour, however many events it failed on: a broken automation in a busy
    # workspace must not bury every other alert; each failure is listed under it on the Alerts page.
    hour = now.strftime("%Y%m%d%H")
    raise_alert(session, ev.workspace_id, kind="automation_failed", key=f"automation_failed:{automation}:{hour}",
                group_id=ev.group_id, now=now,
                message=f"{automation.rsplit('.', 1)[-1]} failed on {ev.type} #{ev.id}: {_error(exc)}",
                detail={"failure_id": row[0], "event_id": ev.id, "event_type": ev.type, "automation": automation})


hooks.record_failure = record


def _stored(e: Event, now: datetime) -> StoredEvent:
    return StoredEvent(id=e.id, workspace_id=e.workspace_id, type=e.type, contact_id=e.contact_id,
                       group_id=e.group_id, occurred_at=e.occurred_at, payload=dict(e.payload or {}),
                       live=True, now=now)


def attempt(session: Session, failure: AutomationFailure, now: datetime) -> bool:
    """Run the failed automation on its event once more; True when it went through."""
    handler = hooks.automation(failure.automation)
    e = session.get(Event, failure.event_id)
    failure.attempts += 1
    failure.updated_at = now
    if handler is None or e is None:
        failure.state = "abandoned"
        failure.error = "the automation or its event no longer exists"
        return False
    try:
        with session.begin_nested():
            handler(session, _stored(e, now))
    except Exception as exc:
        log.warning("retry of %s on event %s failed again: %s", failure.automation, e.id, exc)
        failure.error = _error(exc)
        if failure.attempts >= MAX_ATTEMPTS:
            failure.state = "abandoned"
        else:
            failure.state = "pending"
            failure.next_attempt_at = now + hooks.backoff(failure.attempts)
        return False
    failure.state = "resolved"
    failure.error = ""
    return True


def retry_due(factory: object, now: datetime, limit: int = 100) -> dict[str, int]:
    """The periodic job: each due failure is taken (its next attempt pushed out by the lease) and retried in its
    own transaction, so two schedulers never retry one failure at once."""
    from sqlalchemy.orm import sessionmaker

    assert isinstance(factory, sessionmaker)
    with transaction(factory) as s:
        due = list(s.scalars(select(AutomationFailure.id).where(
            AutomationFailure.state == "pending", AutomationFailure.next_attempt_at <= now)
            .order_by(AutomationFailure.next_attempt_at).limit(limit)))
    out = {"resolved": 0, "failed": 0}
    for failure_id in due:
        with transaction(factory) as s:
            taken = s.execute(update(AutomationFailure).where(
                AutomationFailure.id == failure_id, AutomationFailure.state == "pending",
                AutomationFailure.next_attempt_at <= now).values(next_attempt_at=now + LEASE)
                .execution_options(synchronize_session=False))
            if taken.rowcount != 1:  # type: ignore[attr-defined]
                continue
            failure = s.get(AutomationFailure, failure_id)
            assert failure is not None
            out["resolved" if attempt(s, failure, now) else "failed"] += 1
    return out


def rerun(session: Session, ws: int, failure_id: int, now: datetime) -> AutomationFailure:
    """An operator runs a failed automation again (after fixing its cause), whatever its retry state."""
    failure = session.get(AutomationFailure, failure_id)
    if failure is None or failure.workspace_id != ws:
        raise NotFound("no such automation failure", code="automation_failure_not_found")
    if failure.state != "resolved":
        attempt(session, failure, now)
    return failure


def open_failures(session: Session, ws: int, limit: int = 100) -> list[AutomationFailure]:
    return list(session.scalars(select(AutomationFailure).where(
        AutomationFailure.workspace_id == ws, AutomationFailure.state != "resolved")
        .order_by(AutomationFailure.id.desc()).limit(limit)))


def open_page(session: Session, ws: int, *, cursor: str | None = None, limit: int = 100) -> Page[AutomationFailure]:
    """Failures not yet resolved, newest first."""
    q = select(AutomationFailure).where(AutomationFailure.workspace_id == ws, AutomationFailure.state != "resolved")
    return keyset(session, q, [AutomationFailure.id], cursor=cursor, limit=limit, key=lambda f: [f.id])
