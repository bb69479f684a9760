"""REST endpoints of engagement/alerts: open and recent alerts of every kind, acknowledge."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from fastapi import Depends
from pydantic import BaseModel

from siyu.auth.roles import Perm
from siyu.edge.work import Work, edge_router, work
from siyu.engagement.alerts import commands, failures, service
from siyu.kit.pagination import Cursor, Limit, PageOut
from siyu.kit.params import Id, Id64
from siyu.models import Alert

router = edge_router(prefix="/api/v1", tags=["alerts"])


class AlertOut(BaseModel):
    id: int
    group_id: int | None
    kind: str
    key: str
    message: str
    detail: dict[str, Any]
    created_at: datetime
    acknowledged_at: datetime | None


def alert_out(a: Alert) -> AlertOut:
    return AlertOut(id=a.id, group_id=a.group_id, kind=a.kind, key=a.key, message=a.message, detail=a.detail,
                    created_at=a.created_at, acknowledged_at=a.acknowledged_at)


@router.get("/alerts")
def list_alerts(status: Literal["open", "all"] = "open", kind: str | None = None, group_id: Id | None = None,
                cursor: Cursor = None, limit: Limit = 200, w: Work = Depends(work(Perm.READ))) -> PageOut[AlertOut]:
    """Newest first: the open ones, or (`status=all`) acknowledged ones too."""
    page = service.page(w.s, w.ws, open_only=status == "open", group_id=group_id, kind=kind, cursor=cursor,
                        limit=limit)
    return PageOut.of(page, alert_out)


@router.post("/alerts/{alert_id}/acknowledge")
def acknowledge(alert_id: Id64, w: Work = Depends(work(Perm.WRITE))) -> AlertOut:
    return alert_out(commands.acknowledge(w, alert_id))


class AutomationFailureOut(BaseModel):
    id: int
    event_id: int
    event_type: str
    automation: str
    error: str
    attempts: int
    state: str
    next_attempt_at: datetime
    created_at: datetime
    updated_at: datetime


@router.get("/automation-failures")
def list_failures(cursor: Cursor = None, limit: Limit = 100,
                  w: Work = Depends(work(Perm.READ))) -> PageOut[AutomationFailureOut]:
    """Automations that raised on an event and have not yet gone through on a retry, newest first."""
    page = failures.open_page(w.s, w.ws, cursor=cursor, limit=limit)
    return PageOut.of(page, lambda f: AutomationFailureOut.model_validate(f, from_attributes=True))


@router.post("/automation-failures/{failure_id}/rerun")
def rerun_failure(failure_id: Id64, w: Work = Depends(work(Perm.WRITE))) -> AutomationFailureOut:
    """Run the automation on its event again now (after its cause was fixed); `state` says how it went."""
    return AutomationFailureOut.model_validate(commands.rerun_failure(w, failure_id), from_attributes=True)
