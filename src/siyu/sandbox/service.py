"""Acting as a member on the sandbox platform: scan a code, post, leave; and the owner's side: open tasks.

What a member does here enters siyu the way a platform callback would: as events and joins, never by reaching
into siyu's tables directly.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Select, or_, select
from sqlalchemy.orm import Session

from siyu.acquisition import service as acquisition
from siyu.acquisition.service import ScanResult
from siyu.communities import service as communities
from siyu.connectors.registry import ConnectorRegistry
from siyu.contacts import identities
from siyu.events import service as events
from siyu.kit.errors import Conflict, Invalid, NotFound
from siyu.kit.ids import new_key
from siyu.kit.pagination import Page, keyset
from siyu.models import Action, Group, Identity, Membership, SandboxMember, SandboxMessage, Workspace

PLATFORM = "sandbox"
MODES = ("bot", "wecom")


def create_member(session: Session, ws: int, nickname: str, *, now: datetime) -> SandboxMember:
    nickname = nickname.strip()
    if not nickname or len(nickname) > 100:
        raise Invalid("a nickname needs 1 to 100 characters", code="invalid_nickname")
    m = SandboxMember(workspace_id=ws, external_id=f"sbx-{new_key()[:10]}", nickname=nickname, created_at=now)
    session.add(m)
    session.flush()
    return m


def get_member(session: Session, ws: int, member_id: int) -> SandboxMember:
    m = session.get(SandboxMember, member_id)
    if m is None or m.workspace_id != ws:
        raise NotFound(f"no sandbox member {member_id}", code="sandbox_member_not_found")
    return m


def members(session: Session, ws: int) -> list[SandboxMember]:
    return list(session.scalars(select(SandboxMember).where(SandboxMember.workspace_id == ws)
                                .order_by(SandboxMember.id.desc())))


def scan(session: Session, connectors: ConnectorRegistry, ws: int, member: SandboxMember, state: str,
         *, now: datetime) -> ScanResult:
    return acquisition.scan(session, connectors, ws, state, platform=PLATFORM, external_id=member.external_id,
                            nickname=member.nickname, now=now, scan_id=new_key())


def _contact_id(session: Session, ws: int, member: SandboxMember, now: datetime) -> int:
    cid, _ = identities.identify(session, ws, PLATFORM, member.external_id, now=now, display_name=member.nickname)
    return cid


def join(session: Session, ws: int, member: SandboxMember, group: Group, *, now: datetime) -> Membership:
    """Like a platform, the sandbox lets nobody into a group at capacity."""
    cid = _contact_id(session, ws, member, now)
    current = communities.active_membership(session, group.id, cid)
    if current is not None:
        return current
    if communities.occupancy(session, [group.id]).get(group.id, 0) >= group.capacity:
        raise Conflict(f"group {group.name!r} is full", code="group_full")
    m, _ = communities.join(session, ws, group, cid, now=now, scene="invite")
    return m


def post(session: Session, ws: int, member: SandboxMember, group: Group, text: str, *, now: datetime) -> SandboxMessage:
    text = text.strip()
    if not text or len(text) > 2000:
        raise Invalid("a message needs 1 to 2000 characters", code="invalid_message")
    cid = _contact_id(session, ws, member, now)
    if communities.active_membership(session, group.id, cid) is None:
        raise Invalid("join the group before posting in it", code="not_a_member")
    msg = SandboxMessage(workspace_id=ws, group_external_id=group.external_id, sender=member.external_id,
                         text=text, kind="text", created_at=now)
    session.add(msg)
    session.flush()
    events.record(session, ws, "message.posted", now=now, source_key=f"sandbox-msg:{msg.id}",
                  contact_id=cid, group_id=group.id, payload={"text": text, "message_id": msg.id})
    return msg


def leave(session: Session, ws: int, member: SandboxMember, group: Group, *, now: datetime) -> None:
    cid = _contact_id(session, ws, member, now)
    communities.leave(session, ws, group, cid, now=now)


def contact_of(session: Session, ws: int, member: SandboxMember) -> int | None:
    """The contact siyu knows the member as; None before they scanned a code or joined a group."""
    return session.scalar(select(Identity.contact_id).where(Identity.workspace_id == ws,
                                                            Identity.platform == PLATFORM,
                                                            Identity.external_id == member.external_id))


def groups_of(session: Session, ws: int, member: SandboxMember) -> list[Group]:
    cid = contact_of(session, ws, member)
    if cid is None:
        return []
    return list(session.scalars(select(Group).join(Membership, Membership.group_id == Group.id).where(
        Membership.contact_id == cid, Membership.left_at.is_(None)).order_by(Group.id)))


def _feed_query(session: Session, ws: int, member: SandboxMember) -> Select[SandboxMessage]:
    """What the member sees: their groups' messages and messages addressed to them."""
    group_ext = [g.external_id for g in groups_of(session, ws, member)]
    cond = [SandboxMessage.recipient_external_id == member.external_id]
    if group_ext:
        cond.append(SandboxMessage.group_external_id.in_(group_ext))
    return select(SandboxMessage).where(SandboxMessage.workspace_id == ws, or_(*cond))


def feed(session: Session, ws: int, member: SandboxMember, limit: int = 100) -> list[SandboxMessage]:
    """The member's latest messages, oldest first (as a chat shows them)."""
    rows = session.scalars(_feed_query(session, ws, member)
                           .order_by(SandboxMessage.created_at.desc(), SandboxMessage.id.desc()).limit(limit))
    return list(reversed(list(rows)))


def feed_page(session: Session, ws: int, member: SandboxMember, *, cursor: str | None = None,
              limit: int = 50) -> Page[SandboxMessage]:
    """The member's messages, newest first; the cursor pages back in time."""
    return keyset(session, _feed_query(session, ws, member), [SandboxMessage.created_at, SandboxMessage.id],
                  cursor=cursor, limit=limit, key=lambda m: [m.created_at, m.id])


def group_messages(session: Session, ws: int, group: Group, limit: int = 100) -> list[SandboxMessage]:
    rows = session.scalars(select(SandboxMessage).where(SandboxMessage.workspace_id == ws,
                                                        SandboxMessage.group_external_id == group.external_id)
                           .order_by(SandboxMessage.created_at.desc(), SandboxMessage.id.desc()).limit(limit))
    return list(reversed(list(rows)))


def open_tasks(session: Session, ws: int) -> list[Action]:
    return list(session.scalars(select(Action).where(Action.workspace_id == ws, Action.connector == PLATFORM,
                                                     Action.state == "task_open").order_by(Action.id)))


def set_mode(session: Session, ws: int, mode: str) -> None:
    if mode not in MODES:
        raise Invalid(f"sandbox mode must be one of {MODES}", code="invalid_sandbox_mode")
    w = session.get(Workspace, ws)
    assert w is not None
    w.sandbox_mode = mode


def nicknames(session: Session, ws: int) -> dict[str, str]:
    return dict(session.execute(select(SandboxMember.external_id, SandboxMember.nickname)
                                .where(SandboxMember.workspace_id == ws)).all())
