"""What a person does to communities, their roles and groups, from the REST API or the console: one function per
act, each auditing itself inside the request's unit of work (`edge/work.py`)."""

from __future__ import annotations

from siyu.communities import service
from siyu.communities.schemas import CommunityIn, CommunityPatch, GroupIn, GroupPatch, RoleIn
from siyu.edge.work import Work
from siyu.models import Community, CommunityRole, Group


def create(w: Work, body: CommunityIn) -> Community:
    c = service.create(w.s, w.ws, body)
    w.audit("community.create", "community", c.id, {"name": c.name})
    return c


def update(w: Work, community_id: int, body: CommunityPatch) -> Community:
    c = service.update(w.s, w.ws, community_id, body)
    w.audit("community.update", "community", c.id, {"fields": sorted(body.model_fields_set)})
    return c


def add_role(w: Work, community_id: int, body: RoleIn) -> CommunityRole:
    """Give a contact a role in the community (given twice, it is the same role)."""
    r = service.add_role(w.s, w.ws, community_id, body)
    w.audit("community.add_role", "community", community_id, body.model_dump())
    return r


def remove_role(w: Work, community_id: int, role_id: int) -> None:
    service.remove_role(w.s, w.ws, community_id, role_id)
    w.audit("community.remove_role", "community", community_id, {"role_id": role_id})


def create_group(w: Work, body: GroupIn) -> Group:
    g = service.create_group(w.s, w.ws, body, now=w.now)
    w.audit("group.create", "group", g.id, {"name": g.name})
    return g


def update_group(w: Work, group_id: int, body: GroupPatch) -> Group:
    g = service.update_group(w.s, w.ws, group_id, body, now=w.now)
    w.audit("group.update", "group", g.id, body.model_dump(exclude_unset=True))
    return g


def close_group(w: Work, group_id: int) -> Group:
    """Stop routing, posting and answering in the group (members stay; see `service.close_group`)."""
    g = service.close_group(w.s, w.ws, group_id)
    w.audit("group.close", "group", g.id, {"name": g.name})
    return g


def reopen_group(w: Work, group_id: int) -> Group:
    g = service.reopen_group(w.s, w.ws, group_id)
    w.audit("group.reopen", "group", g.id, {"name": g.name})
    return g
