"""The outbox: plan actions durably, deliver each at most once, reconcile what a crash left in flight.

Delivery is three short transactions: claim (planned/retry → sending, attempts+1), perform on the platform
(idempotent on the action's key), record the outcome. A crash after the claim leaves the action in `sending`;
the sweeper waits out the lease and asks the connector whether the platform already has it before sending again.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from siyu.connectors.base import Outcome
from siyu.connectors.registry import ConnectorRegistry
from siyu.events import service as events
from siyu.kit.db import insert_ignore
from siyu.kit.errors import Conflict, NotFound
from siyu.models import Action

ACTIONS = Action.__table__
PENDING_KEY = "siyu_dispatch"
OPEN_STATES = ("planned", "retry")
FINAL_STATES = ("sent", "failed", "task_done", "expired")
OUTCOME_EVENT = {
    "sent": "action.sent", "failed": "action.failed", "task_open": "action.task_open",
    "task_done": "action.task_done", "expired": "action.expired",
}


def plan(
    session: Session,
    workspace_id: int,
    *,
    key: str,
    kind: str,
    connector: str,
    now: datetime,
    group_id: int | None = None,
    contact_id: int | None = None,
    payload: dict[str, Any] | None = None,
    due_at: datetime | None = None,
    expires_at: datetime | None = None,
) -> int | None:
    """Add an action unless one with the same key exists. Delivery is queued only after the commit."""
    row = session.execute(
        insert_ignore(session, ACTIONS, ["workspace_id", "idempotency_key"]).returning(ACTIONS.c.id),
        [{
            "workspace_id": workspace_id, "idempotency_key": key, "kind": kind, "connector": connector,
            "group_id": group_id, "contact_id": contact_id, "payload": payload or {}, "state": "planned",
            "attempts": 0, "next_attempt_at": due_at or now, "expires_at": expires_at, "last_error": "",
            "result": {}, "created_at": now, "updated_at": now, "sent_at": None,
        }],
    ).first()
    if row is None:
        return None
    if due_at is None or due_at <= now:
        session.info.setdefault(PENDING_KEY, []).append(row[0])
    return int(row[0])


def claim(session: Session, action_id: int, now: datetime) -> Action | None:
    """Atomically take an action for delivery; None if someone else has it or it is not due."""
    res = session.execute(
        update(Action)
        .where(Action.id == action_id, Action.state.in_(OPEN_STATES), Action.next_attempt_at <= now)
        .values(state="sending", attempts=Action.attempts + 1, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    if res.rowcount != 1:  # type: ignore[attr-defined]
        return None
    return session.get(Action, action_id, populate_existing=True)


def finish(session: Session, action: Action, outcome: Outcome, now: datetime, *, max_attempts: int) -> None:
    """Record what the platform said, schedule a retry with backoff, and log the outcome as an event."""
    state = outcome.state
    if state == "retry" and action.attempts >= max_attempts:
        state = "failed"
    if action.expires_at is not None and state == "retry" and now >= action.expires_at:
        state = "expired"
    action.state = state
    action.updated_at = now
    action.result = {**action.result, **outcome.result}
    action.last_error = outcome.error[:2000]
    if state == "retry":
        action.next_attempt_at = now + timedelta(seconds=min(3600, 10 * 2 ** (action.attempts - 1)))
    if state in ("sent", "task_done"):
        action.sent_at = now
    ev = OUTCOME_EVENT.get(state)
    if ev:
        events.record(
            session, action.workspace_id, ev, now=now, source_key=f"action:{action.id}:{state}",
            contact_id=action.contact_id, group_id=action.group_id,
            payload={"action_id": action.id, "kind": action.kind, "idempotency_key": action.idempotency_key,
                     **({"error": outcome.error} if outcome.error else {})},
        )


def deliver(factory: Any, connectors: ConnectorRegistry, action_id: int, now: datetime,
            *, max_attempts: int = 5) -> str | None:
    """Deliver one action. `factory` makes sessions; each step commits on its own."""
    from siyu.kit.db import transaction

    with transaction(factory) as s:
        action = claim(s, action_id, now)
        if action is None:
            return None
        s.expunge(action)
    connector = connectors.get(action.connector)
    try:
        with transaction(factory) as s:
            outcome = connector.perform(s, action, now)
    except Exception as exc:  # a platform error is the action's problem, not the worker's
        outcome = Outcome("retry", error=f"{type(exc).__name__}: {exc}")
    with transaction(factory) as s:
        fresh = s.get(Action, action_id)
        assert fresh is not None
        finish(s, fresh, outcome, now, max_attempts=max_attempts)
        return fresh.state


def due_ids(session: Session, now: datetime, limit: int = 1000) -> list[int]:
    return list(session.scalars(
        select(Action.id).where(Action.state.in_(OPEN_STATES), Action.next_attempt_at <= now)
        .order_by(Action.next_attempt_at).limit(limit)
    ))


def reconcile_stale(factory: Any, connectors: ConnectorRegistry, now: datetime, *, lease_s: int,
                    max_attempts: int) -> int:
    """Actions stuck in `sending` past the lease: the platform decides whether they went out."""
    from siyu.kit.db import transaction

    fixed = 0
    with transaction(factory) as s:
        stale = list(s.scalars(select(Action).where(
            Action.state == "sending", Action.updated_at <= now - timedelta(seconds=lease_s))))
        for action in stale:
            outcome = connectors.get(action.connector).reconcile(s, action)
            if outcome is None:
                outcome = Outcome("retry", error="interrupted while sending; not on the platform, resending")
                action.next_attempt_at = now
            finish(s, action, outcome, now, max_attempts=max_attempts + 1)
            if action.state == "retry":
                action.next_attempt_at = now
            fixed += 1
    return fixed


def expire_overdue(session: Session, now: datetime) -> int:
    res = session.execute(
        update(Action).where(Action.state.in_((*OPEN_STATES, "task_open")), Action.expires_at.is_not(None),
                             Action.expires_at < now)
        .values(state="expired", updated_at=now, last_error="expired before it could be delivered")
        .execution_options(synchronize_session=False)
    )
    return int(res.rowcount or 0)  # type: ignore[attr-defined]


def complete_task(session: Session, connectors: ConnectorRegistry, workspace_id: int, action_id: int,
                  now: datetime) -> Action:
    """Staff marked an owner task done (on WeCom: they pressed send in the client)."""
    action = session.get(Action, action_id)
    if action is None or action.workspace_id != workspace_id:
        raise NotFound("no such action")
    if action.state != "task_open":
        raise Conflict(f"action is {action.state}, not an open task", code="not_an_open_task")
    outcome = connectors.get(action.connector).complete_task(session, action, now)
    finish(session, action, outcome, now, max_attempts=1)
    return action


def counts_by_state(session: Session, workspace_id: int) -> dict[str, int]:
    return dict(session.execute(
        select(Action.state, func.count()).where(Action.workspace_id == workspace_id).group_by(Action.state)
    ).all())
