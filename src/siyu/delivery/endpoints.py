from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel
from sqlalchemy import select

from siyu.auth import service as auth
from siyu.auth.roles import Perm
from siyu.auth.service import Principal
from siyu.auth.web import require, runtime
from siyu.delivery import service
from siyu.kit.params import Id64
from siyu.models import Action

router = APIRouter(prefix="/api/v1", tags=["outbox"])


class ActionOut(BaseModel):
    id: int
    idempotency_key: str
    kind: str
    connector: str
    group_id: int | None
    contact_id: int | None
    state: str
    attempts: int
    next_attempt_at: datetime
    expires_at: datetime | None
    last_error: str
    payload: dict[str, Any]
    result: dict[str, Any]
    created_at: datetime
    sent_at: datetime | None


@router.get("/actions", response_model=list[ActionOut])
def list_actions(request: Request, state: str | None = None, limit: int = Query(default=100, ge=1, le=500),
                 who: Principal = Depends(require(Perm.READ))) -> list[ActionOut]:
    with runtime(request).tx() as s:
        q = select(Action).where(Action.workspace_id == who.workspace_id)
        if state:
            q = q.where(Action.state == state)
        rows = s.scalars(q.order_by(Action.id.desc()).limit(limit))
        return [ActionOut.model_validate(a, from_attributes=True) for a in rows]


@router.post("/actions/{action_id}/complete", response_model=ActionOut)
def complete(request: Request, action_id: Id64, who: Principal = Depends(require(Perm.WRITE))) -> ActionOut:
    """Mark an owner task done (on WeCom: the owner confirmed the mass message in the client)."""
    rt = runtime(request)
    a = service.complete_task(rt.sessions, rt.connectors, who.workspace_id, action_id, rt.clock.now())
    with rt.tx() as s:
        auth.audit(s, who, "action.complete", "action", a.id, now=rt.clock.now())
    return ActionOut.model_validate(a, from_attributes=True)
