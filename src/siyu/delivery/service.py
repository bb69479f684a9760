"""The outbox: plan actions durably, deliver each at most once, reconcile what a crash left in flight.

Delivery is two short transactions around a platform call that holds none: claim (planned/retry → sending,
attempts+1, and a snapshot of what the connector needs), perform on the platform (idempotent on the action's key,
no database session: a slow platform never holds up ingest or the console), record the outcome. A crash after the
claim leaves the action in `sending`; the sweeper waits out the lease and asks the connector whether the platform
already has it before sending again.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from siyu.connectors.base import ActionSnapshot, Outcome
from siyu.connectors.registry import ConnectorRegistry, config_for
from siyu.events import service as events
from siyu.kit.db import insert_ignore, transaction
from siyu.kit.errors import Conflict, NotFound
from siyu.kit.pagination import Page, keyset
from siyu.models import Action, Contact, Group, Identity

log = logging.getLogger("siyu.delivery")
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
    delay = 0.0 if due_at is None else (due_at - now).total_seconds()
    _queue_after_commit(session, int(row[0]), delay)
    return int(row[0])


def _queue_after_commit(session: Session, action_id: int, delay_s: float) -> None:
    """Jobs are queued only once the action is committed (the runtime's after_commit hook sends them)."""
    session.info.setdefault(PENDING_KEY, []).append((action_id, max(0.0, delay_s)))


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


def finish(session: Session, action: Action, outcome: Outcome, now: datetime, *, max_attempts: int,
           retry_at: datetime | None = None) -> None:
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
        action.next_attempt_at = retry_at or now + timedelta(seconds=min(3600, 10 * 2 ** (action.attempts - 1)))
        _queue_after_commit(session, action.id, (action.next_attempt_at - now).total_seconds())
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


def snapshot(session: Session, action: Action) -> ActionSnapshot:
    """What the connector needs to act, read in the claim transaction so `perform` needs no session."""
    group_ext = recipient = None
    if action.group_id is not None:
        group_ext = session.scalar(select(Group.external_id).where(Group.id == action.group_id))
    if action.contact_id is not None:
        merged = session.scalar(select(Contact.merged_into_id).where(Contact.id == action.contact_id))
        recipient = session.scalar(select(Identity.external_id).where(
            Identity.contact_id == (merged or action.contact_id), Identity.platform == action.connector)
            .order_by(Identity.id).limit(1))
    return ActionSnapshot(
        id=action.id, workspace_id=action.workspace_id, idempotency_key=action.idempotency_key, kind=action.kind,
        connector=action.connector, attempts=action.attempts, payload=dict(action.payload or {}),
        result=dict(action.result or {}), group_id=action.group_id, contact_id=action.contact_id,
        group_external_id=group_ext, recipient_external_id=recipient, expires_at=action.expires_at,
        config=config_for(session, action.connector, action.workspace_id),
    )


def _call(fn: Any, *args: Any) -> Outcome:
    """A platform error is the action's problem, not the worker's."""
    try:
        out: Outcome = fn(*args)
        return out
    except Exception as exc:
        return Outcome("retry", error=f"{type(exc).__name__}: {exc}")


def deliver(factory: Any, connectors: ConnectorRegistry, action_id: int, now: datetime,
            *, max_attempts: int = 5) -> str | None:
    """Deliver one action. `factory` makes sessions; the platform call happens between two transactions."""
    with transaction(factory) as s:
        action = claim(s, action_id, now)
        if action is None:
            return None
        snap = snapshot(s, action)
    outcome = _call(connectors.get(snap.connector).perform, snap, now)
    with transaction(factory) as s:
        fresh = s.get(Action, action_id, populate_existing=True)
        if fresh is None or fresh.state != "sending" or fresh.attempts != snap.attempts:
            # The sweeper took the action over (this worker outlived its lease); its verdict stands.
            log.warning("action %s was taken over while being sent; dropping this outcome (%s)",
                        action_id, outcome.state)
            return None
        finish(s, fresh, outcome, now, max_attempts=max_attempts)
        return fresh.state


def due_ids(session: Session, before: datetime, limit: int = 1000) -> list[int]:
    return list(session.scalars(
        select(Action.id).where(Action.state.in_(OPEN_STATES), Action.next_attempt_at <= before)
        .order_by(Action.next_attempt_at).limit(limit)
    ))


def reconcile_stale(factory: Any, connectors: ConnectorRegistry, now: datetime, *, lease_s: int,
                    max_attempts: int) -> int:
    """Actions left in `sending` past the lease: the platform decides whether they went out.

    Each action is first taken over (sending → reconciling) in its own short transaction, so two sweepers never
    reconcile the same action and a worker that wakes up late drops its outcome; the platform is asked outside
    any lock.
    """
    cutoff = now - timedelta(seconds=lease_s)
    with transaction(factory) as s:
        stale = list(s.scalars(select(Action.id).where(
            Action.state.in_(("sending", "reconciling")), Action.updated_at <= cutoff).limit(500)))
    fixed = 0
    for action_id in stale:
        with transaction(factory) as s:
            taken = s.execute(
                update(Action).where(Action.id == action_id, Action.state.in_(("sending", "reconciling")),
                                     Action.updated_at <= cutoff)
                .values(state="reconciling", updated_at=now).execution_options(synchronize_session=False))
            if taken.rowcount != 1:  # type: ignore[attr-defined]
                continue
        with transaction(factory) as s:
            action = s.get(Action, action_id)
            assert action is not None
            snap = snapshot(s, action)
        found = connectors.get(snap.connector).reconcile(snap)
        with transaction(factory) as s:
            action = s.get(Action, action_id, populate_existing=True)
            if action is None or action.state != "reconciling":
                continue
            outcome = found or Outcome("retry", error="interrupted while sending; not on the platform, resending")
            # The interrupted attempt does not count against the action's retry budget.
            finish(s, action, outcome, now, max_attempts=max_attempts + 1, retry_at=now)
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


def complete_task(factory: Any, connectors: ConnectorRegistry, workspace_id: int, action_id: int,
                  now: datetime) -> Action:
    """Staff marked an owner task done (on WeCom: they pressed send in the client).

    The task is taken (task_open → sending) first, so two clicks complete it once; the platform is called
    outside any transaction.
    """
    with transaction(factory) as s:
        action = s.get(Action, action_id)
        if action is None or action.workspace_id != workspace_id:
            raise NotFound("no such action", code="action_not_found")
        if action.state != "task_open":
            raise Conflict(f"action is {action.state}, not an open task", code="not_an_open_task")
        taken = s.execute(update(Action).where(Action.id == action_id, Action.state == "task_open")
                          .values(state="sending", updated_at=now).execution_options(synchronize_session=False))
        if taken.rowcount != 1:  # type: ignore[attr-defined]
            raise Conflict("this task was just completed by someone else", code="not_an_open_task")
        snap = snapshot(s, action)
    outcome = _call(connectors.get(snap.connector).complete_task, snap, now)
    if outcome.state == "retry":  # the platform refused for now: the task stays open for another try
        outcome = Outcome("task_open", outcome.result, outcome.error)
    with transaction(factory) as s:
        fresh = s.get(Action, action_id, populate_existing=True)
        assert fresh is not None
        finish(s, fresh, outcome, now, max_attempts=1)
        s.flush()
        s.expunge(fresh)
    return fresh


def page(session: Session, workspace_id: int, *, state: str | None = None, cursor: str | None = None,
         limit: int = 100) -> Page[Action]:
    """The outbox, newest first, optionally of one state."""
    q = select(Action).where(Action.workspace_id == workspace_id)
    if state:
        q = q.where(Action.state == state)
    return keyset(session, q, [Action.id], cursor=cursor, limit=limit, key=lambda a: [a.id])


def counts_by_state(session: Session, workspace_id: int) -> dict[str, int]:
    return dict(session.execute(
        select(Action.state, func.count()).where(Action.workspace_id == workspace_id).group_by(Action.state)
    ).all())
