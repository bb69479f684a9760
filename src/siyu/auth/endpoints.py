"""REST endpoints of auth: the caller, users, API tokens, the audit log (admin)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import Depends
from pydantic import BaseModel, Field

from siyu.auth import commands, service
from siyu.auth.roles import Perm
from siyu.auth.service import Principal
from siyu.auth.web import current_principal
from siyu.edge.work import Work, edge_router, work
from siyu.kit.pagination import Cursor, Limit, PageOut
from siyu.kit.params import Id
from siyu.kit.patch import PatchModel

router = edge_router(prefix="/api/v1", tags=["auth"])


class UserIn(BaseModel):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=8, max_length=200)
    role: str


class UserOut(BaseModel):
    id: int
    username: str
    role: str
    active: bool


class UserPatch(PatchModel):
    role: str | None = None
    active: bool | None = None


class TokenIn(BaseModel):
    name: str = Field(min_length=1, max_length=100)
    role: str


class TokenOut(BaseModel):
    id: int
    name: str
    role: str
    revoked: bool
    created_at: datetime
    token: str | None = None


class AuditOut(BaseModel):
    id: int
    actor: str
    action: str
    object_type: str
    object_id: str
    detail: dict[str, Any]
    at: datetime


@router.get("/me")
async def me(who: Principal = Depends(current_principal)) -> dict[str, Any]:
    return {"kind": who.kind, "name": who.name, "role": who.role}


@router.get("/users")
def list_users(cursor: Cursor = None, limit: Limit = 50, w: Work = Depends(work(Perm.ADMIN))) -> PageOut[UserOut]:
    """In the order they were created."""
    page = service.user_page(w.s, w.ws, cursor=cursor, limit=limit)
    return PageOut.of(page, lambda u: UserOut.model_validate(u, from_attributes=True))


@router.post("/users", status_code=201)
def create_user(body: UserIn, w: Work = Depends(work(Perm.ADMIN))) -> UserOut:
    """409 `username_taken` when the name exists — also when another request creates it at the same moment."""
    u = commands.create_user(w, body.username, body.password, body.role)
    return UserOut.model_validate(u, from_attributes=True)


@router.patch("/users/{user_id}")
def patch_user(user_id: Id, body: UserPatch, w: Work = Depends(work(Perm.ADMIN))) -> UserOut:
    u = commands.update_user(w, user_id, role=body.role, active=body.active)
    return UserOut.model_validate(u, from_attributes=True)


@router.get("/tokens")
def list_tokens(cursor: Cursor = None, limit: Limit = 50, w: Work = Depends(work(Perm.ADMIN))) -> PageOut[TokenOut]:
    """In the order they were created; the tokens themselves are never shown again."""
    page = service.token_page(w.s, w.ws, cursor=cursor, limit=limit)
    return PageOut.of(page, lambda t: TokenOut.model_validate(t, from_attributes=True))


@router.post("/tokens", status_code=201)
def create_token(body: TokenIn, w: Work = Depends(work(Perm.ADMIN))) -> TokenOut:
    """The token is in this answer only; siyu keeps just its hash."""
    row, token = commands.create_token(w, body.name, body.role)
    out = TokenOut.model_validate(row, from_attributes=True)
    out.token = token
    return out


@router.delete("/tokens/{token_id}", status_code=204)
def revoke(token_id: Id, w: Work = Depends(work(Perm.ADMIN))) -> None:
    commands.revoke_token(w, token_id)


@router.get("/audit")
def audit_log(cursor: Cursor = None, limit: Limit = 50, w: Work = Depends(work(Perm.ADMIN))) -> PageOut[AuditOut]:
    """Newest first."""
    page = service.audit_log(w.s, w.ws, cursor=cursor, limit=limit)
    return PageOut.of(page, lambda a: AuditOut.model_validate(a, from_attributes=True))
