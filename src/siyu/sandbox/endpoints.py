"""REST endpoints of the sandbox platform: act as a member (scan, join, post, leave, read the feed), set the mode."""

from __future__ import annotations

from datetime import datetime

from fastapi import Depends
from pydantic import BaseModel, Field

from siyu.acquisition.endpoints import ScanOut
from siyu.auth.roles import Perm
from siyu.edge.work import Work, edge_router, work
from siyu.kit.pagination import Cursor, Limit, PageOut
from siyu.kit.params import Id
from siyu.sandbox import commands, service

router = edge_router(prefix="/api/v1/sandbox", tags=["sandbox"])


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


@router.post("/members", status_code=201)
def create_member(body: MemberIn, w: Work = Depends(work(Perm.WRITE))) -> MemberOut:
    m = commands.create_member(w, body.nickname)
    return MemberOut(id=m.id, external_id=m.external_id, nickname=m.nickname)


@router.post("/members/{member_id}/scan")
def scan(member_id: Id, body: ScanIn, w: Work = Depends(work(Perm.WRITE))) -> ScanOut:
    return ScanOut(**commands.scan(w, member_id, body.state).__dict__)


@router.post("/members/{member_id}/post", status_code=201)
def post(member_id: Id, body: PostIn, w: Work = Depends(work(Perm.WRITE))) -> MessageOut:
    msg = commands.post(w, member_id, body.group_id, body.text)
    return MessageOut.model_validate(msg, from_attributes=True)


@router.post("/members/{member_id}/join", status_code=204)
def join(member_id: Id, body: GroupRef, w: Work = Depends(work(Perm.WRITE))) -> None:
    commands.join(w, member_id, body.group_id)


@router.post("/members/{member_id}/leave", status_code=204)
def leave(member_id: Id, body: GroupRef, w: Work = Depends(work(Perm.WRITE))) -> None:
    commands.leave(w, member_id, body.group_id)


@router.get("/members/{member_id}/feed")
def feed(member_id: Id, cursor: Cursor = None, limit: Limit = 100,
         w: Work = Depends(work(Perm.READ))) -> PageOut[MessageOut]:
    """The messages of the member's groups and those addressed to them, newest first; the cursor pages back."""
    m = service.get_member(w.s, w.ws, member_id)
    page = service.feed_page(w.s, w.ws, m, cursor=cursor, limit=limit)
    return PageOut.of(page, lambda x: MessageOut.model_validate(x, from_attributes=True))


@router.put("/mode", status_code=204)
def set_mode(body: ModeIn, w: Work = Depends(work(Perm.ADMIN))) -> None:
    commands.set_mode(w, body.mode)
