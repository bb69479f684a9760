"""Alerts for the group owner (dead group, complaint, missed SOP window). A `key` makes raising one idempotent,
so a check that runs every hour alerts once per group and day, not every hour."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from siyu.events import schemas as event_schemas
from siyu.events import service as events
from siyu.kit.db import insert_ignore
from siyu.kit.errors import NotFound
from siyu.kit.pagination import Page, keyset
from siyu.models import Alert


class AlertRaised(event_schemas.Payload):
    alert_id: int
    kind: str


event_schemas.register("alert.raised", AlertRaised)


def raise_alert(session: Session, ws: int, *, kind: str, key: str, message: str, now: datetime,
                group_id: int | None = None, detail: dict[str, Any] | None = None) -> Alert | None:
    """Create the alert unless one with this key exists; returns the new alert or None."""
    row = session.execute(
        insert_ignore(session, Alert.__table__, ["workspace_id", "key"]).returning(Alert.__table__.c.id),
        [{"workspace_id": ws, "group_id": group_id, "kind": kind, "key": key, "message": message[:2000],
          "detail": detail or {}, "created_at": now, "acknowledged_at": None}],
    ).first()
    if row is None:
        return None
    events.record(session, ws, "alert.raised", now=now, group_id=group_id, source_key=f"alert:{row[0]}",
                  payload={"alert_id": row[0], "kind": kind})
    return session.get(Alert, row[0])


def _alerts(ws: int, *, open_only: bool, group_id: int | None, kind: str | None) -> Select[Alert]:
    q = select(Alert).where(Alert.workspace_id == ws)
    if open_only:
        q = q.where(Alert.acknowledged_at.is_(None))
    if group_id is not None:
        q = q.where(Alert.group_id == group_id)
    if kind is not None:
        q = q.where(Alert.kind == kind)
    return q


def open_alerts(session: Session, ws: int, *, group_id: int | None = None, kind: str | None = None,
                limit: int = 200) -> list[Alert]:
    q = _alerts(ws, open_only=True, group_id=group_id, kind=kind)
    return list(session.scalars(q.order_by(Alert.id.desc()).limit(limit)))


def recent(session: Session, ws: int, limit: int = 200, *, group_id: int | None = None,
           kind: str | None = None) -> list[Alert]:
    q = _alerts(ws, open_only=False, group_id=group_id, kind=kind)
    return list(session.scalars(q.order_by(Alert.id.desc()).limit(limit)))


def page(session: Session, ws: int, *, open_only: bool, group_id: int | None = None, kind: str | None = None,
         cursor: str | None = None, limit: int = 200) -> Page[Alert]:
    """Open alerts (or all of them), newest first."""
    q = _alerts(ws, open_only=open_only, group_id=group_id, kind=kind)
    return keyset(session, q, [Alert.id], cursor=cursor, limit=limit, key=lambda a: [a.id])


def acknowledge(session: Session, ws: int, alert_id: int, *, now: datetime) -> Alert:
    a = session.get(Alert, alert_id)
    if a is None or a.workspace_id != ws:
        raise NotFound("no such alert", code="alert_not_found")
    if a.acknowledged_at is None:
        a.acknowledged_at = now
    return a


def count_open(session: Session, ws: int) -> int:
    return int(session.scalar(select(func.count()).select_from(Alert).where(
        Alert.workspace_id == ws, Alert.acknowledged_at.is_(None))) or 0)
