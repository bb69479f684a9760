"""REST endpoints of the outbox: the actions, and completing an owner task."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel

from siyu.auth.roles import Perm
from siyu.delivery import commands, service
from siyu.edge.work import Work, edge_router, work
from siyu.kit.pagination import Cursor, Limit, PageOut
from siyu.kit.params import Id64

router = APIRouter(tags=["outbox"])
api = edge_router(prefix="/api/v1")
#: Routes that call a platform: not units of work, so no transaction is held around the call (they open short ones).
platform = APIRouter(prefix="/api/v1")


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


@api.get("/actions")
def list_actions(state: str | None = None, cursor: Cursor = None, limit: Limit = 100,
                 w: Work = Depends(work(Perm.READ))) -> PageOut[ActionOut]:
    """Newest first, optionally of one `state`."""
    page = service.page(w.s, w.ws, state=state, cursor=cursor, limit=limit)
    return PageOut.of(page, lambda a: ActionOut.model_validate(a, from_attributes=True))


@platform.post("/actions/{action_id}/complete")
def complete(action_id: Id64, w: Work = Depends(work(Perm.WRITE))) -> ActionOut:
    """Mark an owner task done (on WeCom: the owner confirmed the mass message in the client)."""
    # Outside a unit of work on purpose: the connector is called with no transaction open (`delivery/commands`).
    return ActionOut.model_validate(commands.complete_task(w, action_id), from_attributes=True)


router.include_router(api)
router.include_router(platform)
