"""One-click broadcast (C2 "one click sends to selected groups"): an item or ad-hoc text to communities, groups and
members with tags (as direct messages).

Idempotent per broadcast id: every target gets the outbox key `bc:<broadcast_id>:g<group>` (or `:c<contact>`),
and actions are created in chunks, each chunk one INSERT … ON CONFLICT DO NOTHING committed on its own. A process
killed half-way leaves whole chunks behind; running the same broadcast id again creates only what is missing, so
every target ends with exactly one copy. Broadcasts are explicit operator actions: they do not count against the
daily cap and ignore quiet hours.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from siyu.connectors.registry import ConnectorRegistry, default_registry
from siyu.delivery import service as outbox
from siyu.engagement.sop import content
from siyu.engagement.sop.schemas import BroadcastIn, BroadcastOut
from siyu.kit.db import insert_ignore, transaction
from siyu.kit.errors import Invalid, NotFound
from siyu.models import Action, Community, Contact, ContactTag, Group, Identity, SopItem, Tag

BROADCAST_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9.:-]{0,63}$")
CHUNK = 200
ACTIONS = Action.__table__


def new_id() -> str:
    return f"bc-{secrets.token_hex(8)}"


def check_id(broadcast_id: str) -> str:
    if not BROADCAST_ID.match(broadcast_id):
        raise Invalid("a broadcast id (Idempotency-Key) is 1–64 letters, digits, '.', ':' or '-'",
                      code="invalid_broadcast_id")
    return broadcast_id


def _key_range(broadcast_id: str) -> tuple[str, str]:
    prefix = f"bc:{broadcast_id}:"
    return prefix, prefix[:-1] + ";"  # ';' sorts right after ':'


def _targets(session: Session, ws: int, data: BroadcastIn, reg: ConnectorRegistry
             ) -> tuple[list[Group], list[tuple[int, str]], int]:
    groups: dict[int, Group] = {}
    if data.community_ids:
        found = set(session.scalars(select(Community.id).where(Community.workspace_id == ws,
                                                               Community.id.in_(data.community_ids))))
        missing = sorted(set(data.community_ids) - found)
        if missing:
            raise NotFound(f"no communities {missing}", code="community_not_found")
        for g in session.scalars(select(Group).where(Group.workspace_id == ws,
                                                     Group.community_id.in_(data.community_ids),
                                                     Group.status.in_(("active", "full")))):
            groups[g.id] = g
    if data.group_ids:
        rows = {g.id: g for g in session.scalars(select(Group).where(Group.workspace_id == ws,
                                                                     Group.id.in_(data.group_ids)))}
        missing = sorted(set(data.group_ids) - set(rows))
        if missing:
            raise NotFound(f"no groups {missing[:20]}", code="group_not_found")
        groups.update(rows)
    contacts: list[tuple[int, str]] = []
    unreachable = 0
    if data.tag_ids:
        known = set(session.scalars(select(Tag.id).where(Tag.workspace_id == ws, Tag.id.in_(data.tag_ids))))
        missing = sorted(set(data.tag_ids) - known)
        if missing:
            raise NotFound(f"no tags {missing}", code="unknown_tag")
        cids = sorted(set(session.scalars(
            select(ContactTag.contact_id).join(Contact, Contact.id == ContactTag.contact_id).where(
                ContactTag.tag_id.in_(data.tag_ids), Contact.workspace_id == ws, Contact.blacklisted.is_(False),
                Contact.merged_into_id.is_(None)))))
        platforms = reg.names()
        have: dict[int, str] = {}
        for cid, platform in session.execute(select(Identity.contact_id, Identity.platform).where(
                Identity.contact_id.in_(cids), Identity.platform.in_(platforms)).order_by(Identity.id)):
            have.setdefault(cid, platform)
        contacts = [(cid, have[cid]) for cid in cids if cid in have]
        unreachable = len(cids) - len(contacts)
    return sorted(groups.values(), key=lambda g: g.id), contacts, unreachable


def send(factory: sessionmaker[Session], ws: int, data: BroadcastIn, *, broadcast_id: str, now: datetime,
         chunk: int = CHUNK, on_chunk: Callable[[int, int], None] | None = None) -> BroadcastOut:
    """Create the broadcast's actions chunk by chunk (each chunk its own transaction). Safe to run again."""
    check_id(broadcast_id)
    reg: ConnectorRegistry = factory.kw.get("info", {}).get("connectors") or default_registry()
    with transaction(factory) as s:
        item = None
        if data.item_id is not None:
            item = s.get(SopItem, data.item_id)
            if item is None or item.workspace_id != ws:
                raise NotFound(f"no SOP item {data.item_id}", code="sop_item_not_found")
            s.expunge(item)
        groups, contacts, unreachable = _targets(s, ws, data, reg)
        for g in groups:
            s.expunge(g)

    def payload(gid: int | None) -> dict[str, Any]:
        if item is None:
            return {"text": (data.text or "").strip(), "broadcast_id": broadcast_id}
        p = content.render(item, content.pick_variant(item, gid), gid)
        p["broadcast_id"] = broadcast_id
        return p

    rows: list[dict[str, Any]] = []
    base = {"workspace_id": ws, "state": "planned", "attempts": 0, "next_attempt_at": now, "expires_at": None,
            "last_error": "", "result": {}, "created_at": now, "updated_at": now, "sent_at": None}
    for g in groups:
        rows.append({**base, "idempotency_key": f"bc:{broadcast_id}:g{g.id}", "kind": "post_to_group",
                     "connector": g.platform, "group_id": g.id, "contact_id": None, "payload": payload(g.id)})
    for cid, platform in contacts:
        rows.append({**base, "idempotency_key": f"bc:{broadcast_id}:c{cid}", "kind": "direct_message",
                     "connector": platform, "group_id": None, "contact_id": cid, "payload": payload(None)})
    created = 0
    for n, start in enumerate(range(0, len(rows), chunk), 1):
        part = rows[start:start + chunk]
        with transaction(factory) as s:
            ids = [int(r[0]) for r in s.execute(
                insert_ignore(s, ACTIONS, ["workspace_id", "idempotency_key"]).returning(ACTIONS.c.id), part)]
            s.info.setdefault(outbox.PENDING_KEY, []).extend((i, 0.0) for i in ids)
            created += len(ids)
        if on_chunk is not None:
            on_chunk(n, created)
    with transaction(factory) as s:
        states = status(s, ws, broadcast_id)
    return BroadcastOut(broadcast_id=broadcast_id, groups=len(groups), contacts=len(contacts), created=created,
                        existing=len(rows) - created, unreachable=unreachable, states=states)


def status(session: Session, ws: int, broadcast_id: str) -> dict[str, int]:
    lo, hi = _key_range(check_id(broadcast_id))
    return {state: int(n) for state, n in session.execute(
        select(Action.state, func.count()).where(Action.workspace_id == ws, Action.idempotency_key >= lo,
                                                 Action.idempotency_key < hi).group_by(Action.state))}
