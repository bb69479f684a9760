"""Communities, their groups and who is in them; a group's edit and close, and the join / leave statistics per day
that group, channel-code and dashboard pages chart."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, and_, case, exists, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from siyu.communities.schemas import NOT_COUNTED, CommunityIn, CommunityPatch, GroupIn, GroupPatch, RoleIn
from siyu.events import service as events
from siyu.kit.errors import Conflict, Invalid, NotFound
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


# -------------------------------------------------------------------------------------------------- statistics


@dataclass(frozen=True)
class DailyFlow:
    """Joins, leaves and the member count per local day (`days[i]` is the day; `members[i]` at its end)."""

    days: list[date]
    joins: list[int]
    leaves: list[int]
    members: list[int]


def day_bounds(first: date, days: int, tz: ZoneInfo) -> list[datetime]:
    """The `days + 1` local midnights from `first`, as aware datetimes (a day is [bounds[i], bounds[i+1]))."""
    return [datetime.combine(first + timedelta(days=i), time(0, 0), tzinfo=tz) for i in range(days + 1)]


def _counted(group_community: Any) -> ColumnElement[bool]:
    """A stay that counts for statistics: not a vest account or robot of the group's community (A4), and a real
    stay (one projected from a leave whose join was never seen opens and closes at the same moment)."""
    from siyu.communities.projection import UNSEEN  # late: the projection registers hooks when imported

    excluded = exists().where(CommunityRole.community_id == group_community,
                              CommunityRole.contact_id == Membership.contact_id,
                              CommunityRole.role.in_(NOT_COUNTED))
    return and_(~excluded, Membership.join_scene != UNSEEN)


def daily_flow(session: Session, ws: int, first: date, days: int, tz: ZoneInfo, *,
               group_ids: list[int] | None = None, community_id: int | None = None,
               channel_code_id: int | None = None, owner: int | None = None) -> DailyFlow:
    """Joins and leaves per local day, and the members at the end of each day, over the workspace's groups (or the
    given ones, a community's, the stays a channel code started, the contacts assigned to `owner`).

    The count at the end of day d is the stays opened before d's end and not closed by then, so the trend is
    right for any past day without a daily snapshot table: one count of the stays open when the window starts,
    and the joins and leaves inside the window summed per day over only the stays that moved in it (summing over
    every stay measured twice as slow at 100,000 stays)."""
    bounds = day_bounds(first, days, tz)
    start, end = bounds[0], bounds[-1]

    def scoped(q: Any) -> Any:
        q = q.select_from(Membership).join(Group, Group.id == Membership.group_id).where(
            Group.workspace_id == ws, _counted(Group.community_id))
        if group_ids is not None:
            q = q.where(Group.id.in_(group_ids))
        if community_id is not None:
            q = q.where(Group.community_id == community_id)
        if channel_code_id is not None:
            q = q.where(Membership.channel_code_id == channel_code_id)
        if owner is not None:
            q = q.where(Membership.contact_id.in_(select(Contact.id).where(Contact.owner_user_id == owner)))
        return q

    base = int(session.scalar(scoped(select(func.count())).where(
        Membership.joined_at < start, or_(Membership.left_at.is_(None), Membership.left_at >= start))) or 0)
    def in_day(col: Any, i: int) -> Any:
        return func.coalesce(func.sum(case((and_(col >= bounds[i], col < bounds[i + 1]), 1), else_=0)), 0)

    row = session.execute(scoped(select(*(in_day(Membership.joined_at, i) for i in range(days)),
                                        *(in_day(Membership.left_at, i) for i in range(days)))).where(
        or_(and_(Membership.joined_at >= start, Membership.joined_at < end),
            and_(Membership.left_at >= start, Membership.left_at < end)))).one()
    joins = [int(v or 0) for v in row[:days]]
    leaves = [int(v or 0) for v in row[days:]]
    members, n = [], base
    for j, lv in zip(joins, leaves, strict=True):
        n += j - lv
        members.append(n)
    return DailyFlow([first + timedelta(days=i) for i in range(days)], joins, leaves, members)


def flow_between(session: Session, ws: int, start: datetime, end: datetime, *,
                 owner: int | None = None) -> tuple[int, int]:
    """(members who joined, members who left) a group of the workspace in [start, end) — distinct people, so one
    member hopping between two groups of a community is one join and one leave, not more."""
    def distinct(col: Any) -> int:
        q = (select(func.count(func.distinct(Membership.contact_id))).select_from(Membership)
             .join(Group, Group.id == Membership.group_id)
             .where(Group.workspace_id == ws, col >= start, col < end, _counted(Group.community_id)))
        if owner is not None:
            q = q.where(Membership.contact_id.in_(select(Contact.id).where(Contact.owner_user_id == owner)))
        return int(session.scalar(q) or 0)

    return distinct(Membership.joined_at), distinct(Membership.left_at)


# -------------------------------------------------------------------------------------------------- edit / close

#: Statuses an operator's close leaves a group in, and those it reopens from.
CLOSED = "archived"
LIVE = ("active", "full")


def update_group(session: Session, ws: int, group_id: int, patch: GroupPatch, *, now: datetime) -> Group:
    """Rename, change the owner (the staff account that owns it on the platform) or the capacity.

    A rename here is newer than any rename fact already applied, so a late `group.renamed` from before it does
    not undo it (`projection.group_renamed` keeps the newest). A new capacity takes effect at once: the group is
    full or has room again by its members now."""
    from siyu.communities import projection  # the status rule lives with the membership projection

    g = get_group(session, ws, group_id)
    values = patch.model_dump(exclude_unset=True)
    if "name" in values:
        if not values["name"].strip():
            raise Invalid("a group needs a name", code="invalid_name")
        g.name = values["name"].strip()
        g.settings = {**(g.settings or {}), "name_as_of": now.isoformat()}
    if "owner" in values:
        g.owner = values["owner"].strip()
    if "capacity" in values:
        g.capacity = values["capacity"]
    session.flush()
    if "capacity" in values:
        projection.refresh_status(session, g.id)
        session.refresh(g)
    return g


def close_group(session: Session, ws: int, group_id: int) -> Group:
    """Stop using the group: nobody new is routed into it, no SOP post, broadcast or FAQ reply goes to it (they all
    skip groups that are not active or full). Members stay; on the platform the group goes on until its owner
    dissolves it there. Closing a closed group changes nothing."""
    g = get_group(session, ws, group_id)
    if g.status in LIVE:
        g.status = CLOSED
    elif g.status != CLOSED:
        raise Conflict(f"group {g.name!r} is {g.status} and cannot be closed", code="group_not_active")
    session.flush()
    return g


def reopen_group(session: Session, ws: int, group_id: int) -> Group:
    from siyu.communities import projection

    g = get_group(session, ws, group_id)
    if g.status != CLOSED:
        raise Conflict(f"group {g.name!r} is not closed", code="group_not_closed")
    g.status = "active"
    session.flush()
    projection.refresh_status(session, g.id)
    session.refresh(g)
    return g


def flow_by_group(session: Session, ws: int, start: datetime, end: datetime) -> dict[int, tuple[int, int]]:
    """(joins, leaves) of each group of the workspace in [start, end), for the groups list; groups with neither
    are left out."""
    joins = func.coalesce(func.sum(case((and_(Membership.joined_at >= start, Membership.joined_at < end), 1),
                                        else_=0)), 0)
    leaves = func.coalesce(func.sum(case((and_(Membership.left_at >= start, Membership.left_at < end), 1),
                                         else_=0)), 0)
    rows = session.execute(
        select(Membership.group_id, joins, leaves).join(Group, Group.id == Membership.group_id)
        .where(Group.workspace_id == ws, or_(Membership.joined_at >= start, Membership.left_at >= start),
               _counted(Group.community_id))
        .group_by(Membership.group_id)).all()
    return {int(g): (int(j or 0), int(lv or 0)) for g, j, lv in rows if (j or lv)}
