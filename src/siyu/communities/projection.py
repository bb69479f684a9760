"""Groups and who is in them, projected from platform facts, whatever their source (the sandbox, the events
API, a connector's callbacks or sync).

A fact applies by the time it happened, not the order it arrived in, and applying it twice changes nothing:
- `group.member_joined` opens a stay unless the member is already in (a second source told us first), unless a
  leave after it was already seen (then it completes that stay, closed), or a known stay already covers it.
- `group.member_left` closes the open stay that began before it; with no such stay it records the leave as a
  closed stay whose join is not yet known (`join_scene = "unseen"`), which a late join then completes.
- `group.created` / `group.renamed` / `group.dismissed` keep the group row (a rename applies only if it is the
  newest seen; a dismissal closes every open stay).
One open stay per member and group is a unique index, so concurrent writers cannot make two.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import case, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from siyu.communities import refs
from siyu.events.hooks import StoredEvent, projects
from siyu.kit.db import insert_ignore
from siyu.kit.ids import new_key
from siyu.models import Group, Membership

UNSEEN = "unseen"
MEMBERSHIPS = Membership.__table__
OPEN = MEMBERSHIPS.c.left_at.is_(None)


def _stays(session: Session, group_id: int, contact_id: int) -> list[Membership]:
    stays = list(session.scalars(select(Membership).where(
        Membership.group_id == group_id, Membership.contact_id == contact_id)))
    return sorted(stays, key=_join_key)


def _join_key(stay: Membership) -> tuple[datetime, int]:
    return stay.joined_at, stay.join_event_id or 0


def _leave_key(stay: Membership) -> tuple[datetime, int]:
    assert stay.left_at is not None
    return stay.left_at, stay.leave_event_id or 0


@projects("group.member_joined")
def member_joined(session: Session, ev: StoredEvent) -> None:
    """Facts are ordered by (time, arrival): at the same second a later-arriving join is a re-join."""
    if ev.group_id is None or ev.contact_id is None:
        return
    t, p = ev.occurred_at, ev.payload
    key = (t, ev.id)
    fields = {"join_scene": str(p.get("join_scene") or "qr")[:16], "channel_code_id": p.get("channel_code_id"),
              "inviter_contact_id": p.get("inviter_contact_id"), "state": p.get("state"), "join_event_id": ev.id}
    for stay in _stays(session, ev.group_id, ev.contact_id):
        if stay.left_at is None:
            return  # already in: the same join from another source, or a join we missed the leave of
        if stay.join_scene == UNSEEN and stay.join_event_id is None and key < _leave_key(stay):
            for k, v in fields.items():  # the join of a leave that arrived first
                setattr(stay, k, v)
            stay.joined_at = t
            return
        if _join_key(stay) <= key <= _leave_key(stay) or _join_key(stay) > key:
            return  # a stay we know already covers it, or a later one: it changes nothing now
    open_stay(session, ev.group_id, ev.contact_id, t, fields)
    refresh_status(session, ev.group_id)


def open_stay(session: Session, group_id: int, contact_id: int, joined_at: datetime,
              fields: dict[str, object]) -> bool:
    """INSERT … ON CONFLICT DO NOTHING on the open-stay index: when a concurrent writer got there first, its
    stay stands and this one is not made. True when this call opened it."""
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    stmt = dialect.insert(MEMBERSHIPS).values(
        group_id=group_id, contact_id=contact_id, joined_at=joined_at, left_at=None, quit_scene=None,
        leave_event_id=None, **fields,
    ).on_conflict_do_nothing(index_elements=["group_id", "contact_id"], index_where=OPEN)
    return bool(session.execute(stmt).rowcount)  # type: ignore[attr-defined]


@projects("group.member_left")
def member_left(session: Session, ev: StoredEvent) -> None:
    if ev.group_id is None or ev.contact_id is None:
        return
    t = ev.occurred_at
    key = (t, ev.id)
    scene = str(ev.payload.get("quit_scene") or "left")[:16]
    for stay in reversed(_stays(session, ev.group_id, ev.contact_id)):
        if stay.leave_event_id == ev.id:
            return
        if stay.left_at is None:
            if _join_key(stay) <= key:
                stay.left_at, stay.quit_scene, stay.leave_event_id = t, scene, ev.id
                session.flush()
                refresh_status(session, ev.group_id)
                return
            continue  # the open stay began after this leave: the leave ended an earlier one
        if _join_key(stay) <= key <= _leave_key(stay):
            return  # this stay already ended at or after it
    session.add(Membership(group_id=ev.group_id, contact_id=ev.contact_id, joined_at=t, left_at=t,
                           join_scene=UNSEEN, quit_scene=scene, leave_event_id=ev.id))
    session.flush()


def refresh_status(session: Session, group_id: int) -> None:
    """Full at capacity, active again below it (dismissed groups stay dismissed); one statement, no read-modify."""
    occupied = (select(func.count()).select_from(Membership)
                .where(Membership.group_id == group_id, Membership.left_at.is_(None)).scalar_subquery())
    session.execute(
        update(Group).where(Group.id == group_id, Group.status.in_(("active", "full")))
        .values(status=case((occupied >= Group.capacity, "full"), else_="active"))
        .execution_options(synchronize_session="fetch"))


@projects("group.created")
def group_created(session: Session, ev: StoredEvent) -> None:
    p = ev.payload
    exists = session.scalar(select(Group).where(Group.workspace_id == ev.workspace_id,
                                                Group.platform == p["platform"],
                                                Group.external_id == p["external_id"]))
    if exists is not None:
        if (exists.settings or {}).get(refs.UNSEEN):  # first seen in a member's fact: now we know what it is
            exists.name, exists.owner = p["name"], p.get("owner", "")
            exists.community_id = exists.community_id or p.get("community_id")
            exists.capacity = p.get("capacity") or exists.capacity
            exists.created_at = min(exists.created_at, ev.occurred_at)
            exists.settings = {"name_as_of": ev.occurred_at.isoformat()}
        return
    values: dict[str, object] = {
        "workspace_id": ev.workspace_id, "community_id": p.get("community_id"), "platform": p["platform"],
        "external_id": p["external_id"] or f"g-{new_key()[:12]}", "name": p["name"], "owner": p.get("owner", ""),
        "status": "active", "settings": {"name_as_of": ev.occurred_at.isoformat()}, "created_at": ev.occurred_at,
    }
    if p.get("capacity"):
        values["capacity"] = p["capacity"]
    session.execute(insert_ignore(session, Group.__table__, ["workspace_id", "platform", "external_id"]), [values])


@projects("group.renamed")
def group_renamed(session: Session, ev: StoredEvent) -> None:
    group = session.get(Group, ev.group_id) if ev.group_id is not None else None
    if group is None:
        return
    as_of = (group.settings or {}).get("name_as_of")
    if as_of is not None and datetime.fromisoformat(as_of) > ev.occurred_at:
        return  # a newer rename was applied already
    group.name = str(ev.payload["name"])[:100]
    group.settings = {**(group.settings or {}), "name_as_of": ev.occurred_at.isoformat()}


@projects("group.dismissed")
def group_dismissed(session: Session, ev: StoredEvent) -> None:
    group = session.get(Group, ev.group_id) if ev.group_id is not None else None
    if group is None:
        return
    group.status = "dismissed"
    session.execute(update(Membership).where(
        Membership.group_id == group.id, Membership.left_at.is_(None), Membership.joined_at <= ev.occurred_at)
        .values(left_at=ev.occurred_at, quit_scene="dismissed", leave_event_id=ev.id)
        .execution_options(synchronize_session="fetch"))
