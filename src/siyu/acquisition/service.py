"""Channel codes (B4): create, render as QR, and what a scan does.

A scan identifies (or creates) the contact, tags them, records `contact.joined_via_channel` with the code's
`state` (the attribution key WeCom carries on add-contact events), and routes them to a group of the target
community that has room. The join event then triggers the welcome.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import segno
from sqlalchemy import and_, case, func, select
from sqlalchemy.orm import Session

from siyu.acquisition.schemas import ChannelCodeIn, ChannelCodePatch
from siyu.communities import service as communities
from siyu.connectors.registry import ConnectorRegistry, capabilities_for
from siyu.contacts import identities
from siyu.contacts import service as contacts
from siyu.events import service as events
from siyu.kit.errors import Conflict, Forbidden, NotFound
from siyu.kit.ids import new_state
from siyu.kit.pagination import Page, keyset
from siyu.models import ChannelCode, Contact, Event, Group, Membership


def get(session: Session, ws: int, code_id: int) -> ChannelCode:
    c = session.get(ChannelCode, code_id)
    if c is None or c.workspace_id != ws:
        raise NotFound(f"no channel code {code_id}", code="channel_code_not_found")
    return c


def by_state(session: Session, ws: int, state: str) -> ChannelCode:
    c = session.scalar(select(ChannelCode).where(ChannelCode.workspace_id == ws, ChannelCode.state == state))
    if c is None:
        raise NotFound(f"no channel code with state {state!r}", code="channel_code_not_found")
    return c


def list_all(session: Session, ws: int) -> list[ChannelCode]:
    return list(session.scalars(select(ChannelCode).where(ChannelCode.workspace_id == ws).order_by(ChannelCode.id)))


def page(session: Session, ws: int, *, cursor: str | None = None, limit: int = 50) -> Page[ChannelCode]:
    """Oldest first."""
    return keyset(session, select(ChannelCode).where(ChannelCode.workspace_id == ws), [ChannelCode.id],
                  cursor=cursor, limit=limit, key=lambda c: [c.id], desc=False)


def create(session: Session, ws: int, data: ChannelCodeIn) -> ChannelCode:
    communities.get(session, ws, data.community_id)
    state = data.state or new_state()
    if session.scalar(select(ChannelCode.id).where(ChannelCode.workspace_id == ws, ChannelCode.state == state)):
        raise Conflict(f"state {state!r} is used by another code", code="state_taken")
    tag_ids = list(data.tag_ids)
    for label in data.tags:
        group, _, name = label.partition(":")
        tag_ids.append(contacts.ensure_tag(session, ws, group, name).id)
    code = ChannelCode(workspace_id=ws, name=data.name, kind=data.kind, state=state,
                       community_id=data.community_id, tag_ids=list(dict.fromkeys(tag_ids)),
                       welcome_override=data.welcome_override, active=True)
    _check_tags(session, ws, code.tag_ids)
    session.add(code)
    session.flush()
    return code


def update(session: Session, ws: int, code_id: int, patch: ChannelCodePatch) -> ChannelCode:
    code = get(session, ws, code_id)
    values = patch.model_dump(exclude_unset=True)
    if "tag_ids" in values:
        _check_tags(session, ws, values["tag_ids"])
    for k, v in values.items():
        setattr(code, k, v)
    session.flush()
    return code


def _check_tags(session: Session, ws: int, tag_ids: list[int]) -> None:
    from siyu.models import Tag

    known = set(session.scalars(select(Tag.id).where(Tag.workspace_id == ws, Tag.id.in_(tag_ids))))
    missing = [t for t in tag_ids if t not in known]
    if missing:
        raise NotFound(f"unknown tag ids {missing}", code="unknown_tag")


def scan_url(base_url: str, code: ChannelCode) -> str:
    return f"{base_url.rstrip('/')}/c/{code.state}"


def qr(base_url: str, code: ChannelCode, fmt: str) -> tuple[bytes, str]:
    qrcode = segno.make(scan_url(base_url, code), error="m")
    buf = io.BytesIO()
    if fmt == "svg":
        qrcode.save(buf, kind="svg", scale=8, border=2, xmldecl=True)
        return buf.getvalue(), "image/svg+xml"
    qrcode.save(buf, kind="png", scale=8, border=2)
    return buf.getvalue(), "image/png"


@dataclass(frozen=True)
class ScanResult:
    contact_id: int
    contact_created: bool
    group_id: int
    group_name: str
    membership_id: int
    joined: bool
    tags_added: list[str]


def scan(session: Session, connectors: ConnectorRegistry, ws: int, state: str, *, platform: str,
         external_id: str, nickname: str, now: datetime, scan_id: str | None = None) -> ScanResult:
    code = by_state(session, ws, state)
    if not code.active:
        raise Conflict(f"channel code {code.name!r} is switched off", code="channel_code_inactive")
    contact_id, created = identities.identify(session, ws, platform, external_id, now=now,
                                              display_name=nickname or None)
    contact = session.get(Contact, contact_id)
    assert contact is not None
    if contact.blacklisted:
        raise Forbidden("this member is blacklisted and cannot join through codes", code="blacklisted")
    if nickname and contact.display_name != nickname:
        contact.display_name = nickname
    added = contacts.apply_tags(session, ws, contact_id, code.tag_ids, source=f"channel:{code.id}", now=now)
    events.record(session, ws, "contact.joined_via_channel", now=now, contact_id=contact_id,
                  source_key=f"scan:{scan_id}" if scan_id else None,
                  payload={"channel_code_id": code.id, "state": code.state, "community_id": code.community_id})
    community = communities.get(session, ws, code.community_id)
    current = session.execute(
        select(Membership, Group).join(Group, Group.id == Membership.group_id).where(
            Membership.contact_id == contact_id, Membership.left_at.is_(None),
            Group.community_id == community.id)
    ).first()
    if current is not None:
        m, g = current
        return ScanResult(contact_id, created, g.id, g.name, m.id, False, added)
    caps = capabilities_for(session, platform, ws)
    can_create = caps is not None and caps.create_group
    group = communities.route(session, ws, community, now=now, can_create=can_create)
    membership, joined = communities.join(session, ws, group, contact_id, now=now, scene="qr",
                                          channel_code_id=code.id, state=code.state,
                                          source_key=f"scan-join:{scan_id}" if scan_id else None)
    return ScanResult(contact_id, created, group.id, group.name, membership.id, joined, added)


def stats(session: Session, ws: int) -> dict[int, int]:
    """Joins per channel code: the group stays each code started (a member who was already in a group of the
    community when scanning starts none)."""
    rows = session.execute(select(Membership.channel_code_id, func.count())
                           .join(ChannelCode, ChannelCode.id == Membership.channel_code_id)
                           .where(ChannelCode.workspace_id == ws).group_by(Membership.channel_code_id)).all()
    return {int(cid): int(n) for cid, n in rows if cid is not None}


def _scanned_code() -> Any:
    return Event.payload["channel_code_id"].as_integer()


def scan_counts(session: Session, ws: int) -> dict[int, int]:
    """Scans per channel code, all time: every `contact.joined_via_channel`, a second scan by the same person
    included (it is what the QR was asked to do)."""
    code = _scanned_code()
    rows = session.execute(select(code, func.count()).where(
        Event.workspace_id == ws, Event.type == "contact.joined_via_channel").group_by(code)).all()
    return {int(cid): int(n) for cid, n in rows if cid is not None}


@dataclass(frozen=True)
class CodeDaily:
    """One code's scans, the joins they led to and the leaves of those members, per local day."""

    days: list[date]
    scans: list[int]
    joins: list[int]
    leaves: list[int]

    @property
    def conversion(self) -> float | None:
        """Joins per scan over the window (None without a scan)."""
        scans = sum(self.scans)
        return min(1.0, sum(self.joins) / scans) if scans else None


def daily(session: Session, ws: int, code: ChannelCode, first: date, days: int, tz: ZoneInfo) -> CodeDaily:
    """Scans per local day from the log (the workspace's scan events of the window, bucketed in SQL), joins and
    leaves from the group stays the code started (`communities.daily_flow`)."""
    bounds = communities.day_bounds(first, days, tz)
    sums = [func.coalesce(func.sum(case((and_(Event.occurred_at >= bounds[i], Event.occurred_at < bounds[i + 1]),
                                         1), else_=0)), 0) for i in range(days)]
    row = session.execute(select(*sums).where(
        Event.workspace_id == ws, Event.type == "contact.joined_via_channel", Event.occurred_at >= bounds[0],
        Event.occurred_at < bounds[-1], _scanned_code() == code.id)).one()
    flow = communities.daily_flow(session, ws, first, days, tz, channel_code_id=code.id)
    return CodeDaily(flow.days, [int(v or 0) for v in row], flow.joins, flow.leaves)


def target_fill(session: Session, ws: int, code: ChannelCode) -> list[tuple[Group, int]]:
    """The target community's groups with how many are in each now (everyone counts against capacity), open
    ones first: where the next scans will land, and how soon a new group is needed."""
    groups = communities.groups(session, ws, code.community_id)
    occ = communities.occupancy(session, [g.id for g in groups])
    live = ("active", "full")
    return sorted(((g, occ.get(g.id, 0)) for g in groups), key=lambda gn: (gn[0].status not in live, gn[0].id))
