"""REST endpoints of communities (profile, rules, roles, questionnaire answers) and their groups (members)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import Depends
from pydantic import BaseModel

from siyu.auth.roles import Perm
from siyu.auth.service import Principal
from siyu.auth.web import require
from siyu.communities import commands, rules_text, service
from siyu.communities.schemas import CommunityIn, CommunityPatch, GroupIn, GroupPatch, RoleIn, Rules
from siyu.edge.work import Work, edge_router, work
from siyu.engagement import welcome
from siyu.kit.pagination import Cursor, Limit, PageOut
from siyu.kit.params import Id, Id64
from siyu.models import Community, CommunityRole, Contact, Group, Membership

router = edge_router(prefix="/api/v1", tags=["communities"])


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


class GroupMemberOut(BaseModel):
    contact_id: int
    display_name: str
    joined_at: datetime
    join_scene: str
    channel_code_id: int | None
    state: str | None
    inviter_contact_id: int | None


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


def role_out(r: CommunityRole, c: Contact | None) -> RoleOut:
    return RoleOut(id=r.id, contact_id=r.contact_id, display_name=c.display_name if c else "", role=r.role)


def member_out(m: Membership, c: Contact) -> GroupMemberOut:
    return GroupMemberOut(contact_id=c.id, display_name=c.display_name, joined_at=m.joined_at,
                          join_scene=m.join_scene, channel_code_id=m.channel_code_id, state=m.state,
                          inviter_contact_id=m.inviter_contact_id)


def group_out(g: Group, members: int) -> GroupOut:
    return GroupOut(id=g.id, community_id=g.community_id, platform=g.platform, external_id=g.external_id,
                    name=g.name, owner=g.owner, capacity=g.capacity, status=g.status, members=members,
                    created_at=g.created_at)


@router.get("/communities")
def list_communities(cursor: Cursor = None, limit: Limit = 50,
                     w: Work = Depends(work(Perm.READ))) -> PageOut[CommunityOut]:
    """Oldest first."""
    return PageOut.of(service.page(w.s, w.ws, cursor=cursor, limit=limit), community_out)


@router.post("/communities", status_code=201)
def create_community(body: CommunityIn, w: Work = Depends(work(Perm.WRITE))) -> CommunityOut:
    return community_out(commands.create(w, body))


@router.get("/communities/{community_id}")
def get_community(community_id: Id, w: Work = Depends(work(Perm.READ))) -> CommunityOut:
    return community_out(service.get(w.s, w.ws, community_id))


@router.patch("/communities/{community_id}")
def patch_community(community_id: Id, body: CommunityPatch, w: Work = Depends(work(Perm.WRITE))) -> CommunityOut:
    return community_out(commands.update(w, community_id, body))


@router.post("/rules/preview")
def rules_preview(body: Rules, title: str = "", who: Principal = Depends(require(Perm.READ))) -> RulesPreview:
    """Render rules as the group would show them (no database: no unit of work)."""
    return preview(body.model_dump(), title)


@router.get("/communities/{community_id}/roles")
def list_roles(community_id: Id, cursor: Cursor = None, limit: Limit = 50,
               w: Work = Depends(work(Perm.READ))) -> PageOut[RoleOut]:
    """In the order the roles were given (by id; it was by role name, which does not order them totally)."""
    service.get(w.s, w.ws, community_id)
    page = service.role_page(w.s, community_id, cursor=cursor, limit=limit)
    return PageOut.of(page, lambda rc: role_out(*rc))


@router.post("/communities/{community_id}/roles", status_code=201)
def add_role(community_id: Id, body: RoleIn, w: Work = Depends(work(Perm.WRITE))) -> RoleOut:
    r = commands.add_role(w, community_id, body)
    return role_out(r, w.s.get(Contact, r.contact_id))


@router.delete("/communities/{community_id}/roles/{role_id}", status_code=204)
def delete_role(community_id: Id, role_id: Id, w: Work = Depends(work(Perm.WRITE))) -> None:
    commands.remove_role(w, community_id, role_id)


@router.post("/communities/{community_id}/questionnaire/answers")
def answer_questionnaire(community_id: Id, body: AnswersIn,
                         w: Work = Depends(work(Perm.WRITE))) -> dict[str, list[str]]:
    added = welcome.answer(w.s, w.ws, community_id, body.contact_id, body.answers, now=w.now)
    return {"tags_added": added}


@router.get("/groups")
def list_groups(community_id: Id | None = None, cursor: Cursor = None, limit: Limit = 50,
                w: Work = Depends(work(Perm.READ))) -> PageOut[GroupOut]:
    """Oldest first, of one community or all."""
    page = service.group_page(w.s, w.ws, community_id, cursor=cursor, limit=limit)
    occ = service.occupancy(w.s, [g.id for g in page.items])
    return PageOut.of(page, lambda g: group_out(g, occ.get(g.id, 0)))


@router.post("/groups", status_code=201)
def create_group(body: GroupIn, w: Work = Depends(work(Perm.WRITE))) -> GroupOut:
    return group_out(commands.create_group(w, body), 0)


@router.patch("/groups/{group_id}")
def patch_group(group_id: Id, body: GroupPatch, w: Work = Depends(work(Perm.WRITE))) -> GroupOut:
    """Rename a group, change its owner or capacity (a new capacity sets full / active at once)."""
    g = commands.update_group(w, group_id, body)
    return group_out(g, service.occupancy(w.s, [g.id]).get(g.id, 0))


@router.post("/groups/{group_id}/close")
def close_group(group_id: Id, w: Work = Depends(work(Perm.WRITE))) -> GroupOut:
    """Stop routing new members, posts and replies to the group (status `archived`; its members stay)."""
    g = commands.close_group(w, group_id)
    return group_out(g, service.occupancy(w.s, [g.id]).get(g.id, 0))


@router.post("/groups/{group_id}/reopen")
def reopen_group(group_id: Id, w: Work = Depends(work(Perm.WRITE))) -> GroupOut:
    g = commands.reopen_group(w, group_id)
    return group_out(g, service.occupancy(w.s, [g.id]).get(g.id, 0))


@router.get("/groups/{group_id}/members")
def group_members(group_id: Id, cursor: Cursor = None, limit: Limit = 50,
                  w: Work = Depends(work(Perm.READ))) -> PageOut[GroupMemberOut]:
    """Who is in the group now, the latest to join first (by membership id, which follows the join order)."""
    service.get_group(w.s, w.ws, group_id)
    return PageOut.of(service.member_page(w.s, group_id, cursor=cursor, limit=limit), lambda mc: member_out(*mc))
