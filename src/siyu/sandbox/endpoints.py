from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field

from siyu.acquisition.endpoints import ScanOut
from siyu.auth import service as auth
from siyu.auth.roles import Perm
from siyu.auth.service import Principal
from siyu.auth.web import require, runtime
from siyu.communities import service as communities
from siyu.kit.params import Id
from siyu.sandbox import service

router = APIRouter(prefix="/api/v1/sandbox", tags=["sandbox"])


class MemberIn(BaseModel):
    nickname: str = Field(min_length=1, max_length=100)


class MemberOut(BaseModel):
    id: int
    external_id: str
    nickname: str


class ScanIn(BaseModel):
    state: str = Field(min_length=1, max_length=30)


class PostIn(BaseModel):
    group_id: Id
    text: str = Field(min_length=1, max_length=2000)


class GroupRef(BaseModel):
    group_id: Id


class MessageOut(BaseModel):
    id: int
    group_external_id: str | None
    recipient_external_id: str | None
    sender: str
    text: str
    kind: str
    created_at: datetime


class ModeIn(BaseModel):
    mode: str


@router.post("/members", response_model=MemberOut, status_code=201)
def create_member(request: Request, body: MemberIn, who: Principal = Depends(require(Perm.WRITE))) -> MemberOut:
    rt = runtime(request)
    with rt.tx() as s:
        m = service.create_member(s, who.workspace_id, body.nickname, now=rt.clock.now())
        auth.audit(s, who, "sandbox.create_member", "sandbox_member", m.id, now=rt.clock.now())
        return MemberOut(id=m.id, external_id=m.external_id, nickname=m.nickname)


@router.post("/members/{member_id}/scan", response_model=ScanOut)
def scan(request: Request, member_id: Id, body: ScanIn, who: Principal = Depends(require(Perm.WRITE))) -> ScanOut:
    rt = runtime(request)
    with rt.tx() as s:
        m = service.get_member(s, who.workspace_id, member_id)
        r = service.scan(s, rt.connectors, who.workspace_id, m, body.state, now=rt.clock.now())
        auth.audit(s, who, "sandbox.scan", "sandbox_member", m.id, {"state": body.state}, now=rt.clock.now())
        return ScanOut(**r.__dict__)


@router.post("/members/{member_id}/post", response_model=MessageOut, status_code=201)
def post(request: Request, member_id: Id, body: PostIn, who: Principal = Depends(require(Perm.WRITE))) -> MessageOut:
    rt = runtime(request)
    with rt.tx() as s:
        m = service.get_member(s, who.workspace_id, member_id)
        g = communities.get_group(s, who.workspace_id, body.group_id)
        msg = service.post(s, who.workspace_id, m, g, body.text, now=rt.clock.now())
        auth.audit(s, who, "sandbox.post", "sandbox_member", m.id, {"group_id": g.id}, now=rt.clock.now())
        return MessageOut.model_validate(msg, from_attributes=True)


@router.post("/members/{member_id}/join", status_code=204)
def join(request: Request, member_id: Id, body: GroupRef, who: Principal = Depends(require(Perm.WRITE))) -> None:
    rt = runtime(request)
    with rt.tx() as s:
        m = service.get_member(s, who.workspace_id, member_id)
        g = communities.get_group(s, who.workspace_id, body.group_id)
        service.join(s, who.workspace_id, m, g, now=rt.clock.now())
        auth.audit(s, who, "sandbox.join", "sandbox_member", m.id, {"group_id": g.id}, now=rt.clock.now())


@router.post("/members/{member_id}/leave", status_code=204)
def leave(request: Request, member_id: Id, body: GroupRef, who: Principal = Depends(require(Perm.WRITE))) -> None:
    rt = runtime(request)
    with rt.tx() as s:
        m = service.get_member(s, who.workspace_id, member_id)
        g = communities.get_group(s, who.workspace_id, body.group_id)
        service.leave(s, who.workspace_id, m, g, now=rt.clock.now())
        auth.audit(s, who, "sandbox.leave", "sandbox_member", m.id, {"group_id": g.id}, now=rt.clock.now())


@router.get("/members/{member_id}/feed", response_model=list[MessageOut])
def feed(request: Request, member_id: Id, who: Principal = Depends(require(Perm.READ))) -> list[MessageOut]:
    with runtime(request).tx() as s:
        m = service.get_member(s, who.workspace_id, member_id)
        return [MessageOut.model_validate(x, from_attributes=True) for x in service.feed(s, who.workspace_id, m)]


@router.put("/mode", status_code=204)
def set_mode(request: Request, body: ModeIn, who: Principal = Depends(require(Perm.ADMIN))) -> None:
    rt = runtime(request)
    with rt.tx() as s:
        service.set_mode(s, who.workspace_id, body.mode)
        auth.audit(s, who, "sandbox.mode", "workspace", who.workspace_id, {"mode": body.mode}, now=rt.clock.now())
