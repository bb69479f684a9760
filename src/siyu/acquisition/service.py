"""Channel codes (B4): create, render as QR, and what a scan does.

A scan identifies (or creates) the contact, tags them, records `contact.joined_via_channel` with the code's
`state` (the attribution key WeCom carries on add-contact events), and routes them to a group of the target
community that has room. The join event then triggers the welcome.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import datetime

import segno
from sqlalchemy import select
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
from siyu.models import ChannelCode, Contact, Group, Membership


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
    from sqlalchemy import func

    rows = session.execute(select(Membership.channel_code_id, func.count()).where(
        Membership.channel_code_id.is_not(None)).group_by(Membership.channel_code_id)).all()
    return {cid: n for cid, n in rows if cid is not None}
