"""One-click broadcast (C2 "one click sends to selected groups"): an item or ad-hoc text to communities, groups and
members with tags (as direct messages).

Idempotent per broadcast id: every target gets the outbox key `bc:<broadcast_id>:g<group>` (or `:c<contact>`),
and actions are created in chunks, each chunk one INSERT … ON CONFLICT DO NOTHING committed on its own. A process
killed half-way leaves whole chunks behind; running the same broadcast id again creates only what is missing, so
every target ends with exactly one copy. Broadcasts are explicit operator actions: they do not count against the
daily cap and ignore quiet hours.

History (`history`, `targets`): what went out, when, by whom, to how many groups and members, and how each target
stands — sent, waiting for the owner (WeCom: the owner confirms the mass message in the client), confirmed,
failed. `open_tasks` / `waiting_by_owner` list every owner task still open and who has not confirmed.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
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
from siyu.kit.pagination import Page, keyset
from siyu.models import Action, AuditEntry, Community, Contact, ContactTag, Group, Identity, SopItem, Tag

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


# ---------------------------------------------------------------------------------------------- history

#: Outbox states as the history shows them: still on its way, sent (or, on WeCom, confirmed by the owner),
#: waiting for the owner, failed or expired.
DISPLAY = {"planned": "queued", "sending": "queued", "retry": "queued", "reconciling": "queued", "sent": "sent",
           "task_open": "task_open", "task_done": "done", "failed": "failed", "expired": "expired"}
#: Where an owner task comes from, by the prefix of its idempotency key.
SOURCES = {"bc": "broadcast", "sop": "calendar", "pb": "playbook"}


@dataclass
class Sent:
    """One broadcast: when, by whom, what, and how its targets stand (counts by `DISPLAY` state)."""

    broadcast_id: str
    at: datetime
    actor: str
    item_id: int | None
    text: str
    groups: dict[str, int]
    contacts: dict[str, int]

    @property
    def group_count(self) -> int:
        return sum(self.groups.values())

    @property
    def contact_count(self) -> int:
        return sum(self.contacts.values())


def _tally(session: Session, ws: int, broadcast_id: str) -> tuple[dict[str, int], dict[str, int], str]:
    lo, hi = _key_range(broadcast_id)
    groups: dict[str, int] = {}
    contacts: dict[str, int] = {}
    first: int | None = None
    for kind, state, n, low in session.execute(
            select(Action.kind, Action.state, func.count(), func.min(Action.id)).where(
                Action.workspace_id == ws, Action.idempotency_key >= lo, Action.idempotency_key < hi)
            .group_by(Action.kind, Action.state)):
        into = groups if kind == "post_to_group" else contacts
        shown = DISPLAY.get(state, state)
        into[shown] = into.get(shown, 0) + int(n)
        first = low if first is None else min(first, low)
    text = ""
    if first is not None:
        payload = session.scalar(select(Action.payload).where(Action.id == first)) or {}
        text = str(payload.get("text", ""))
    return groups, contacts, text


def history(session: Session, ws: int, *, cursor: str | None = None, limit: int = 20) -> Page[Sent]:
    """The broadcasts sent from the console or the API, newest first, each once (sending one again to resume it
    adds an audit entry, not a line). The list comes from the audit log (`sop.broadcast` entries: who and when);
    what each target got, from the outbox by the broadcast's key range."""
    sub = (select(AuditEntry.object_id.label("bid"), func.max(AuditEntry.id).label("last"),
                  func.min(AuditEntry.id).label("first"))
           .where(AuditEntry.workspace_id == ws, AuditEntry.action == "sop.broadcast")
           .group_by(AuditEntry.object_id).subquery())
    page = keyset(session, select(sub.c.bid, sub.c.last, sub.c.first), [sub.c.last], cursor=cursor, limit=limit,
                  key=lambda r: [r.last], scalars=False)
    firsts = {e.id: e for e in session.scalars(select(AuditEntry).where(
        AuditEntry.id.in_([r.first for r in page.items])))} if page.items else {}
    out = []
    for r in page.items:
        entry = firsts[r.first]
        groups, contacts, text = _tally(session, ws, r.bid)
        item_id = entry.detail.get("item_id")
        out.append(Sent(broadcast_id=r.bid, at=entry.at, actor=entry.actor,
                        item_id=int(item_id) if item_id is not None else None, text=text, groups=groups,
                        contacts=contacts))
    return Page(out, page.next_cursor)


def one(session: Session, ws: int, broadcast_id: str) -> Sent:
    """One broadcast of `history`; NotFound when the audit log has no send of it."""
    check_id(broadcast_id)
    entry = session.scalar(select(AuditEntry).where(
        AuditEntry.workspace_id == ws, AuditEntry.action == "sop.broadcast",
        AuditEntry.object_id == broadcast_id).order_by(AuditEntry.id).limit(1))
    if entry is None:
        raise NotFound(f"no broadcast {broadcast_id!r}", code="broadcast_not_found")
    groups, contacts, text = _tally(session, ws, broadcast_id)
    item_id = entry.detail.get("item_id")
    return Sent(broadcast_id=broadcast_id, at=entry.at, actor=entry.actor,
                item_id=int(item_id) if item_id is not None else None, text=text, groups=groups,
                contacts=contacts)


@dataclass
class Target:
    """One target of a broadcast (a group, or a member's direct message), or one open owner task."""

    action: Action
    group: Group | None
    contact_name: str

    @property
    def status(self) -> str:
        return DISPLAY.get(self.action.state, self.action.state)

    @property
    def source(self) -> str:
        return SOURCES.get(self.action.idempotency_key.split(":", 1)[0], "other")

    @property
    def owner(self) -> str:
        return self.group.owner if self.group is not None else ""


def _with_names(session: Session, rows: list[Any]) -> list[Target]:
    cids = {a.contact_id for a, _g in rows if a.contact_id is not None}
    names = dict(session.execute(select(Contact.id, Contact.display_name).where(Contact.id.in_(cids))).all()) \
        if cids else {}
    return [Target(a, g, names.get(a.contact_id, "") if a.contact_id is not None else "") for a, g in rows]


def targets(session: Session, ws: int, broadcast_id: str, *, cursor: str | None = None,
            limit: int = 100) -> Page[Target]:
    """Every target of a broadcast with its state, groups first, then direct messages (by action id)."""
    lo, hi = _key_range(check_id(broadcast_id))
    q = (select(Action, Group).outerjoin(Group, Group.id == Action.group_id)
         .where(Action.workspace_id == ws, Action.idempotency_key >= lo, Action.idempotency_key < hi))
    page = keyset(session, q, [Action.id], cursor=cursor, limit=limit, key=lambda r: [r[0].id], desc=False,
                  scalars=False)
    return Page(_with_names(session, list(page.items)), page.next_cursor)


def open_tasks(session: Session, ws: int, *, cursor: str | None = None, limit: int = 100) -> Page[Target]:
    """Posts and direct messages waiting for a person to send them on the platform (WeCom: the group owner
    confirms a mass message in the client), oldest first — whatever planned them: a broadcast, the calendar, a
    playbook."""
    q = (select(Action, Group).outerjoin(Group, Group.id == Action.group_id)
         .where(Action.workspace_id == ws, Action.state == "task_open",
                Action.kind.in_(("post_to_group", "direct_message"))))
    page = keyset(session, q, [Action.id], cursor=cursor, limit=limit, key=lambda r: [r[0].id], desc=False,
                  scalars=False)
    return Page(_with_names(session, list(page.items)), page.next_cursor)


def waiting_by_owner(session: Session, ws: int) -> list[tuple[str, int, datetime]]:
    """Who has not confirmed yet: (group owner, open group-post tasks, waiting since), most tasks first. An empty
    owner is a group nobody was named for."""
    rows = session.execute(
        select(Group.owner, func.count(), func.min(Action.created_at)).join(Group, Group.id == Action.group_id)
        .where(Action.workspace_id == ws, Action.state == "task_open", Action.kind == "post_to_group")
        .group_by(Group.owner))
    return sorted(((o or "", int(n), since) for o, n, since in rows), key=lambda r: (-r[1], r[0]))
