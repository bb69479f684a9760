from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field

from siyu.auth import service
from siyu.auth.roles import Perm
from siyu.auth.service import Principal
from siyu.auth.web import current_principal, require, runtime
from siyu.kit.params import Id, Offset
from siyu.kit.patch import PatchModel

router = APIRouter(prefix="/api/v1", tags=["auth"])


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


@router.get("/users", response_model=list[UserOut])
def list_users(request: Request, who: Principal = Depends(require(Perm.ADMIN))) -> list[UserOut]:
    with runtime(request).tx() as s:
        return [UserOut.model_validate(u, from_attributes=True) for u in service.users(s, who.workspace_id)]


@router.post("/users", response_model=UserOut, status_code=201)
def create_user(request: Request, body: UserIn, who: Principal = Depends(require(Perm.ADMIN))) -> UserOut:
    """409 `username_taken` when the name exists — also when another request creates it at the same moment."""
    rt = runtime(request)
    with rt.tx() as s:
        u = service.create_user(s, who.workspace_id, body.username, body.password, body.role)
        service.audit(s, who, "user.create", "user", u.id, {"username": u.username, "role": u.role},
                      now=rt.clock.now())
        return UserOut.model_validate(u, from_attributes=True)


@router.patch("/users/{user_id}", response_model=UserOut)
def patch_user(request: Request, user_id: Id, body: UserPatch,
               who: Principal = Depends(require(Perm.ADMIN))) -> UserOut:
    rt = runtime(request)
    with rt.tx() as s:
        u = service.update_user(s, who.workspace_id, user_id, role=body.role, active=body.active,
                                now=rt.clock.now())
        service.audit(s, who, "user.update", "user", u.id, body.model_dump(exclude_none=True), now=rt.clock.now())
        return UserOut.model_validate(u, from_attributes=True)


@router.get("/tokens", response_model=list[TokenOut])
def list_tokens(request: Request, who: Principal = Depends(require(Perm.ADMIN))) -> list[TokenOut]:
    with runtime(request).tx() as s:
        return [TokenOut.model_validate(t, from_attributes=True) for t in service.tokens(s, who.workspace_id)]


@router.post("/tokens", response_model=TokenOut, status_code=201)
def create_token(request: Request, body: TokenIn, who: Principal = Depends(require(Perm.ADMIN))) -> TokenOut:
    """The token is in this answer only; siyu keeps just its hash."""
    rt = runtime(request)
    with rt.tx() as s:
        row, token = service.create_token(s, who.workspace_id, body.name, body.role)
        service.audit(s, who, "token.create", "token", row.id, {"name": row.name, "role": row.role},
                      now=rt.clock.now())
        out = TokenOut.model_validate(row, from_attributes=True)
        out.token = token
        return out


@router.delete("/tokens/{token_id}", status_code=204)
def revoke(request: Request, token_id: Id, who: Principal = Depends(require(Perm.ADMIN))) -> None:
    rt = runtime(request)
    with rt.tx() as s:
        service.revoke_token(s, who.workspace_id, token_id)
        service.audit(s, who, "token.revoke", "token", token_id, now=rt.clock.now())


@router.get("/audit", response_model=list[AuditOut])
def audit_log(request: Request, offset: Offset = 0, limit: int = 50,
              who: Principal = Depends(require(Perm.ADMIN))) -> list[AuditOut]:
    with runtime(request).tx() as s:
        page = service.audit_log(s, who.workspace_id, limit=limit)
        return [AuditOut.model_validate(a, from_attributes=True) for a in page.items]
