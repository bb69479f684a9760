"""REST endpoints of engagement/alerts: open and recent alerts of every kind, acknowledge."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel

from siyu.auth import service as auth
from siyu.auth.roles import Perm
from siyu.auth.service import Principal
from siyu.auth.web import require, runtime
from siyu.engagement.alerts import failures, service
from siyu.kit.params import Id, Id64
from siyu.models import Alert

router = APIRouter(prefix="/api/v1", tags=["alerts"])


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


@router.get("/alerts", response_model=list[AlertOut])
def list_alerts(request: Request, status: Literal["open", "all"] = "open", kind: str | None = None,
                group_id: Id | None = None, limit: int = 200,
                who: Principal = Depends(require(Perm.READ))) -> list[AlertOut]:
    limit = max(1, min(limit, 500))
    with runtime(request).tx() as s:
        rows = (service.open_alerts(s, who.workspace_id, group_id=group_id, kind=kind, limit=limit)
                if status == "open" else service.recent(s, who.workspace_id, limit, group_id=group_id, kind=kind))
        return [alert_out(a) for a in rows]


@router.post("/alerts/{alert_id}/acknowledge", response_model=AlertOut)
def acknowledge(request: Request, alert_id: Id64, who: Principal = Depends(require(Perm.WRITE))) -> AlertOut:
    rt = runtime(request)
    with rt.tx() as s:
        a = service.acknowledge(s, who.workspace_id, alert_id, now=rt.clock.now())
        auth.audit(s, who, "alert.acknowledge", "alert", a.id, {"kind": a.kind}, now=rt.clock.now())
        return alert_out(a)


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


@router.get("/automation-failures", response_model=list[AutomationFailureOut])
def list_failures(request: Request, who: Principal = Depends(require(Perm.READ))) -> list[AutomationFailureOut]:
    """Automations that raised on an event and have not yet gone through on a retry."""
    with runtime(request).tx() as s:
        return [AutomationFailureOut.model_validate(f, from_attributes=True)
                for f in failures.open_failures(s, who.workspace_id)]


@router.post("/automation-failures/{failure_id}/rerun", response_model=AutomationFailureOut)
def rerun_failure(request: Request, failure_id: Id64,
                  who: Principal = Depends(require(Perm.WRITE))) -> AutomationFailureOut:
    """Run the automation on its event again now (after its cause was fixed); `state` says how it went."""
    rt = runtime(request)
    with rt.tx() as s:
        f = failures.rerun(s, who.workspace_id, failure_id, rt.clock.now())
        auth.audit(s, who, "automation.rerun", "automation_failure", f.id, {"state": f.state}, now=rt.clock.now())
        return AutomationFailureOut.model_validate(f, from_attributes=True)
