from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel

from siyu.auth import service as auth
from siyu.auth.roles import Perm
from siyu.auth.service import Principal
from siyu.auth.web import require, runtime
from siyu.communities import rules_text, service
from siyu.communities.schemas import CommunityIn, CommunityPatch, GroupIn, RoleIn, Rules
from siyu.engagement import welcome
from siyu.kit.params import Id, Id64
from siyu.models import Community, Group

router = APIRouter(prefix="/api/v1", tags=["communities"])


class RulesPreview(BaseModel):
    text: str
    lines: int
    max_lines: int
    fits_one_screen: bool


class CommunityOut(BaseModel):
    id: int
    name: str
    type: str
    profile: dict[str, Any]
    rules: dict[str, Any]
    welcome_text: str
    activities: str
    questionnaire: list[dict[str, Any]]
    default_capacity: int
    rules_preview: RulesPreview


class GroupOut(BaseModel):
    id: int
    community_id: int | None
    platform: str
    external_id: str
    name: str
    owner: str
    capacity: int
    status: str
    members: int
    created_at: datetime


class RoleOut(BaseModel):
    id: int
    contact_id: int
    display_name: str
    role: str


class AnswersIn(BaseModel):
    contact_id: Id64
    answers: dict[str, str]


def preview(rules: dict[str, Any], title: str) -> RulesPreview:
    text = rules_text.render(Rules.model_validate(rules or {}), title)
    f = rules_text.fit(text)
    return RulesPreview(text=text, lines=f.lines, max_lines=f.max_lines, fits_one_screen=f.fits)


def community_out(c: Community) -> CommunityOut:
    return CommunityOut(id=c.id, name=c.name, type=c.type, profile=c.profile, rules=c.rules,
                        welcome_text=c.welcome_text, activities=c.activities, questionnaire=c.questionnaire,
                        default_capacity=c.default_capacity, rules_preview=preview(c.rules, c.name))


def group_out(g: Group, members: int) -> GroupOut:
    return GroupOut(id=g.id, community_id=g.community_id, platform=g.platform, external_id=g.external_id,
                    name=g.name, owner=g.owner, capacity=g.capacity, status=g.status, members=members,
                    created_at=g.created_at)


@router.get("/communities", response_model=list[CommunityOut])
def list_communities(request: Request, who: Principal = Depends(require(Perm.READ))) -> list[CommunityOut]:
    with runtime(request).tx() as s:
        return [community_out(c) for c in service.list_all(s, who.workspace_id)]


@router.post("/communities", response_model=CommunityOut, status_code=201)
def create_community(request: Request, body: CommunityIn,
                     who: Principal = Depends(require(Perm.WRITE))) -> CommunityOut:
    rt = runtime(request)
    with rt.tx() as s:
        c = service.create(s, who.workspace_id, body)
        auth.audit(s, who, "community.create", "community", c.id, {"name": c.name}, now=rt.clock.now())
        return community_out(c)


@router.get("/communities/{community_id}", response_model=CommunityOut)
def get_community(request: Request, community_id: Id, who: Principal = Depends(require(Perm.READ))) -> CommunityOut:
    with runtime(request).tx() as s:
        return community_out(service.get(s, who.workspace_id, community_id))


@router.patch("/communities/{community_id}", response_model=CommunityOut)
def patch_community(request: Request, community_id: Id, body: CommunityPatch,
                    who: Principal = Depends(require(Perm.WRITE))) -> CommunityOut:
    rt = runtime(request)
    with rt.tx() as s:
        c = service.update(s, who.workspace_id, community_id, body)
        auth.audit(s, who, "community.update", "community", c.id,
                   {"fields": sorted(body.model_fields_set)}, now=rt.clock.now())
        return community_out(c)


@router.post("/rules/preview", response_model=RulesPreview)
def rules_preview(body: Rules, title: str = "", who: Principal = Depends(require(Perm.READ))) -> RulesPreview:
    return preview(body.model_dump(), title)


@router.get("/communities/{community_id}/roles", response_model=list[RoleOut])
def list_roles(request: Request, community_id: Id, who: Principal = Depends(require(Perm.READ))) -> list[RoleOut]:
    with runtime(request).tx() as s:
        service.get(s, who.workspace_id, community_id)
        return [RoleOut(id=r.id, contact_id=c.id, display_name=c.display_name, role=r.role)
                for r, c in service.roles(s, community_id)]


@router.post("/communities/{community_id}/roles", response_model=RoleOut, status_code=201)
def add_role(request: Request, community_id: Id, body: RoleIn,
             who: Principal = Depends(require(Perm.WRITE))) -> RoleOut:
    rt = runtime(request)
    with rt.tx() as s:
        r = service.add_role(s, who.workspace_id, community_id, body)
        auth.audit(s, who, "community.add_role", "community", community_id, body.model_dump(), now=rt.clock.now())
        c = s.get(service.Contact, r.contact_id)
        return RoleOut(id=r.id, contact_id=r.contact_id, display_name=c.display_name if c else "", role=r.role)


@router.delete("/communities/{community_id}/roles/{role_id}", status_code=204)
def delete_role(request: Request, community_id: Id, role_id: Id,
                who: Principal = Depends(require(Perm.WRITE))) -> None:
    rt = runtime(request)
    with rt.tx() as s:
        service.remove_role(s, who.workspace_id, community_id, role_id)
        auth.audit(s, who, "community.remove_role", "community", community_id, {"role_id": role_id},
                   now=rt.clock.now())


@router.post("/communities/{community_id}/questionnaire/answers")
def answer_questionnaire(request: Request, community_id: Id, body: AnswersIn,
                         who: Principal = Depends(require(Perm.WRITE))) -> dict[str, list[str]]:
    rt = runtime(request)
    with rt.tx() as s:
        added = welcome.answer(s, who.workspace_id, community_id, body.contact_id, body.answers, now=rt.clock.now())
        return {"tags_added": added}


@router.get("/groups", response_model=list[GroupOut])
def list_groups(request: Request, community_id: Id | None = None,
                who: Principal = Depends(require(Perm.READ))) -> list[GroupOut]:
    with runtime(request).tx() as s:
        gs = service.groups(s, who.workspace_id, community_id)
        occ = service.occupancy(s, [g.id for g in gs])
        return [group_out(g, occ.get(g.id, 0)) for g in gs]


@router.post("/groups", response_model=GroupOut, status_code=201)
def create_group(request: Request, body: GroupIn, who: Principal = Depends(require(Perm.WRITE))) -> GroupOut:
    rt = runtime(request)
    with rt.tx() as s:
        g = service.create_group(s, who.workspace_id, body, now=rt.clock.now())
        auth.audit(s, who, "group.create", "group", g.id, {"name": g.name}, now=rt.clock.now())
        return group_out(g, 0)


@router.get("/groups/{group_id}/members")
def group_members(request: Request, group_id: Id,
                  who: Principal = Depends(require(Perm.READ))) -> list[dict[str, Any]]:
    with runtime(request).tx() as s:
        service.get_group(s, who.workspace_id, group_id)
        return [{"contact_id": c.id, "display_name": c.display_name, "joined_at": m.joined_at.isoformat(),
                 "join_scene": m.join_scene, "channel_code_id": m.channel_code_id, "state": m.state,
                 "inviter_contact_id": m.inviter_contact_id}
                for m, c in service.members(s, group_id)]
