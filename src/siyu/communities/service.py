"""Communities, their groups and who is in them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from siyu.communities.schemas import NOT_COUNTED, CommunityIn, CommunityPatch, GroupIn, RoleIn
from siyu.events import service as events
from siyu.kit.errors import Conflict, NotFound
from siyu.kit.ids import new_key
from siyu.kit.pagination import Page, keyset
from siyu.models import Community, CommunityRole, Contact, Group, Membership


def get(session: Session, ws: int, community_id: int) -> Community:
    c = session.get(Community, community_id)
    if c is None or c.workspace_id != ws:
        raise NotFound(f"no community {community_id}", code="community_not_found")
    return c


def list_all(session: Session, ws: int) -> list[Community]:
    return list(session.scalars(select(Community).where(Community.workspace_id == ws).order_by(Community.id)))


def page(session: Session, ws: int, *, cursor: str | None = None, limit: int = 50) -> Page[Community]:
    """Oldest first."""
    return keyset(session, select(Community).where(Community.workspace_id == ws), [Community.id], cursor=cursor,
                  limit=limit, key=lambda c: [c.id], desc=False)


def _name_taken(session: Session, ws: int, name: str, exclude: int | None = None) -> bool:
    q = select(Community.id).where(Community.workspace_id == ws, Community.name == name)
    if exclude is not None:
        q = q.where(Community.id != exclude)
    return session.scalar(q) is not None


def create(session: Session, ws: int, data: CommunityIn) -> Community:
    if _name_taken(session, ws, data.name):
        raise Conflict(f"a community named {data.name!r} exists", code="community_name_taken")
    c = Community(workspace_id=ws, **data.model_dump(mode="json"))
    session.add(c)
    session.flush()
    return c


def update(session: Session, ws: int, community_id: int, patch: CommunityPatch) -> Community:
    c = get(session, ws, community_id)
    values = patch.model_dump(mode="json", exclude_unset=True)
    if "name" in values and _name_taken(session, ws, values["name"], exclude=c.id):
        raise Conflict(f"a community named {values['name']!r} exists", code="community_name_taken")
    for k, v in values.items():
        setattr(c, k, v)
    session.flush()
    return c


def get_group(session: Session, ws: int, group_id: int) -> Group:
    g = session.get(Group, group_id)
    if g is None or g.workspace_id != ws:
        raise NotFound(f"no group {group_id}", code="group_not_found")
    return g


def create_group(session: Session, ws: int, data: GroupIn, *, now: datetime) -> Group:
    if data.community_id is not None:
        get(session, ws, data.community_id)
    g = Group(workspace_id=ws, community_id=data.community_id, platform=data.platform,
              external_id=data.external_id or f"g-{new_key()[:12]}", name=data.name, owner=data.owner,
              capacity=data.capacity, status="active", created_at=now)
    session.add(g)
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError:
        raise Conflict("a group with this platform id exists", code="group_exists") from None
    return g


def groups(session: Session, ws: int, community_id: int | None = None) -> list[Group]:
    q = select(Group).where(Group.workspace_id == ws)
    if community_id is not None:
        q = q.where(Group.community_id == community_id)
    return list(session.scalars(q.order_by(Group.id)))


def group_page(session: Session, ws: int, community_id: int | None = None, *, cursor: str | None = None,
               limit: int = 50) -> Page[Group]:
    """Oldest first, of one community or all."""
    q = select(Group).where(Group.workspace_id == ws)
    if community_id is not None:
        q = q.where(Group.community_id == community_id)
    return keyset(session, q, [Group.id], cursor=cursor, limit=limit, key=lambda g: [g.id], desc=False)


def occupancy(session: Session, group_ids: list[int]) -> dict[int, int]:
    """Everyone on the platform counts against capacity, vest accounts and robots included."""
    if not group_ids:
        return {}
    rows = session.execute(
        select(Membership.group_id, func.count()).where(Membership.group_id.in_(group_ids),
                                                        Membership.left_at.is_(None))
        .group_by(Membership.group_id)
    ).all()
    return {gid: n for gid, n in rows}


def member_counts(session: Session, community: Community) -> dict[int, int]:
    """Members per group for statistics: vest accounts and robots of the community are left out (A4)."""
    excluded = select(CommunityRole.contact_id).where(CommunityRole.community_id == community.id,
                                                      CommunityRole.role.in_(NOT_COUNTED))
    rows = session.execute(
        select(Membership.group_id, func.count()).join(Group, Group.id == Membership.group_id)
        .where(Group.community_id == community.id, Membership.left_at.is_(None),
               Membership.contact_id.not_in(excluded))
        .group_by(Membership.group_id)
    ).all()
    return {gid: n for gid, n in rows}


def route(session: Session, ws: int, community: Community, *, now: datetime, can_create: bool) -> Group:
    """A group of the community with room, oldest first; a new one when all are full and the platform allows.

    The chosen group's row stays locked until the caller's transaction ends (FOR UPDATE on PostgreSQL; SQLite
    has one writer), and its members are counted again under that lock, so concurrent scans through several
    processes never put more members in a group than its capacity. Creating a group locks the community, so
    concurrent scans that all found every group full create one new group, not one each.
    """
    seen = 0
    for g in _groups_with_room(session, ws, community.id):
        seen = max(seen, g.id)
        if _room_under_lock(session, g):
            return g
    if not can_create:
        raise Conflict(f"every group of {community.name!r} is full", code="no_group_with_room")
    session.execute(select(Community.id).where(Community.id == community.id).with_for_update())
    for g in _groups_with_room(session, ws, community.id, after=seen):  # made while we waited for the lock
        if _room_under_lock(session, g):
            return g
    n = session.scalar(select(func.count()).select_from(Group).where(Group.community_id == community.id)) or 0
    return create_group(session, ws, GroupIn(name=f"{community.name} {n + 1}", community_id=community.id,
                                             capacity=community.default_capacity), now=now)


def _groups_with_room(session: Session, ws: int, community_id: int, after: int = 0) -> list[Group]:
    candidates = list(session.scalars(select(Group).where(
        Group.workspace_id == ws, Group.community_id == community_id, Group.status == "active", Group.id > after
    ).order_by(Group.id)))
    occ = occupancy(session, [g.id for g in candidates])
    return [g for g in candidates if occ.get(g.id, 0) < g.capacity]


def _room_under_lock(session: Session, group: Group) -> bool:
    """Lock the group and count again. A group found full is let go at once (rolling back to the savepoint
    releases its row lock on PostgreSQL), so a scan holds at most the group it joins, plus the community while
    it creates one: locks are always taken community → group, never the other way, and cannot deadlock."""
    savepoint = session.begin_nested()
    locked = session.scalar(select(Group).where(Group.id == group.id).with_for_update()
                            .execution_options(populate_existing=True))
    if locked is not None and locked.status == "active" and \
            occupancy(session, [group.id]).get(group.id, 0) < locked.capacity:
        savepoint.commit()
        return True
    savepoint.rollback()
    return False


def active_membership(session: Session, group_id: int, contact_id: int) -> Membership | None:
    return session.scalar(select(Membership).where(Membership.group_id == group_id,
                                                   Membership.contact_id == contact_id,
                                                   Membership.left_at.is_(None))
                          .execution_options(populate_existing=True))


def join(session: Session, ws: int, group: Group, contact_id: int, *, now: datetime, scene: str = "qr",
         channel_code_id: int | None = None, state: str | None = None,
         inviter_contact_id: int | None = None, source_key: str | None = None) -> tuple[Membership, bool]:
    """The member joined the group on the platform: record `group.member_joined`, from which the membership
    follows (communities.projection) and which triggers the welcome. (membership, whether this call opened it)."""
    existing = active_membership(session, group.id, contact_id)
    if existing is not None:
        return existing, False
    if group.status not in ("active", "full"):
        raise Conflict(f"group {group.name!r} is {group.status}", code="group_not_active")
    ev = events.record(session, ws, "group.member_joined", now=now, source_key=source_key or f"join:{new_key()}",
                       contact_id=contact_id, group_id=group.id,
                       payload={"join_scene": scene, "channel_code_id": channel_code_id, "state": state,
                                "inviter_contact_id": inviter_contact_id})
    m = active_membership(session, group.id, contact_id)
    if m is None:
        raise Conflict("the member is not in the group after joining it", code="join_not_applied")
    return m, ev is not None and m.join_event_id == ev.id


def leave(session: Session, ws: int, group: Group, contact_id: int, *, now: datetime,
          scene: str = "left", source_key: str | None = None) -> Membership:
    """The member left (or was removed): record `group.member_left`; the projection closes the stay."""
    m = active_membership(session, group.id, contact_id)
    if m is None:
        raise NotFound("not a member of this group", code="not_a_member")
    events.record(session, ws, "group.member_left", now=now, source_key=source_key or f"leave:{m.id}",
                  contact_id=contact_id, group_id=group.id, payload={"quit_scene": scene})
    session.refresh(m)
    return m


def members(session: Session, group_id: int, *, active_only: bool = True) -> list[tuple[Membership, Contact]]:
    q = select(Membership, Contact).join(Contact, Contact.id == Membership.contact_id).where(
        Membership.group_id == group_id)
    if active_only:
        q = q.where(Membership.left_at.is_(None))
    return [(m, c) for m, c in session.execute(q.order_by(Membership.joined_at.desc())).all()]


def member_page(session: Session, group_id: int, *, cursor: str | None = None,
                limit: int = 50) -> Page[tuple[Membership, Contact]]:
    """The group's members, the latest to join first (by membership id: a stay is opened when the member
    joins, so this is the join order, made total)."""
    q = select(Membership, Contact).join(Contact, Contact.id == Membership.contact_id).where(
        Membership.group_id == group_id, Membership.left_at.is_(None))
    return keyset(session, q, [Membership.id], cursor=cursor, limit=limit, key=lambda row: [row[0].id],
                  scalars=False)


def memberships_of(session: Session, contact_id: int) -> list[tuple[Membership, Group]]:
    rows = session.execute(select(Membership, Group).join(Group, Group.id == Membership.group_id)
                           .where(Membership.contact_id == contact_id).order_by(Membership.joined_at.desc()))
    return [(m, g) for m, g in rows.all()]


def add_role(session: Session, ws: int, community_id: int, data: RoleIn) -> CommunityRole:
    get(session, ws, community_id)
    contact = session.get(Contact, data.contact_id)
    if contact is None or contact.workspace_id != ws:
        raise NotFound(f"no contact {data.contact_id}", code="contact_not_found")
    existing = session.scalar(select(CommunityRole).where(
        CommunityRole.community_id == community_id, CommunityRole.contact_id == data.contact_id,
        CommunityRole.role == data.role))
    if existing is not None:
        return existing
    r = CommunityRole(community_id=community_id, contact_id=data.contact_id, role=data.role)
    session.add(r)
    session.flush()
    return r


def roles(session: Session, community_id: int) -> list[tuple[CommunityRole, Contact]]:
    rows = session.execute(select(CommunityRole, Contact).join(Contact, Contact.id == CommunityRole.contact_id)
                           .where(CommunityRole.community_id == community_id).order_by(CommunityRole.role))
    return [(r, c) for r, c in rows.all()]


def role_page(session: Session, community_id: int, *, cursor: str | None = None,
              limit: int = 50) -> Page[tuple[CommunityRole, Contact]]:
    """In the order they were given (by id; `roles` groups them by role for the console)."""
    q = select(CommunityRole, Contact).join(Contact, Contact.id == CommunityRole.contact_id).where(
        CommunityRole.community_id == community_id)
    return keyset(session, q, [CommunityRole.id], cursor=cursor, limit=limit, key=lambda row: [row[0].id],
                  desc=False, scalars=False)


def remove_role(session: Session, ws: int, community_id: int, role_id: int) -> None:
    get(session, ws, community_id)
    r = session.get(CommunityRole, role_id)
    if r is None or r.community_id != community_id:
        raise NotFound("no such role", code="role_not_found")
    session.delete(r)


def summary(session: Session, ws: int) -> dict[str, Any]:
    return {
        "communities": session.scalar(select(func.count()).select_from(Community)
                                      .where(Community.workspace_id == ws)) or 0,
        "groups": session.scalar(select(func.count()).select_from(Group).where(Group.workspace_id == ws)) or 0,
    }
