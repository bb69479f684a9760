"""Event ingest: validate, deduplicate on source key, resolve contacts, append, react.

Batches are the unit of speed: the batch is validated in one call, known identities come from the process's
cache (the rest in one query per 500), and rows go in column by column with INSERT … ON CONFLICT (source_hash)
DO NOTHING, which is also how duplicates are told apart from new rows (even when another process inserts the
same key at the same moment). A conflict is checked against the stored source key, so a 64-bit hash collision
is reported, never mistaken for a duplicate. docs/bench.md has what each of these choices measured.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

from pydantic import ValidationError
from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from siyu.communities import refs as communities_refs
from siyu.contacts import identities
from siyu.events import hooks, rollup, validation
from siyu.events.keys import source_hash, source_hashes
from siyu.events.schemas import MAX_KEY, EventResult, Payload, payload_model
from siyu.kit.db import bulk_insert_ignore, select_in
from siyu.kit.errors import Conflict, Invalid
from siyu.kit.ids import new_key
from siyu.kit.pagination import Page, keyset
from siyu.models import Event, Group

MAX_BATCH = 1000
EVENTS = Event.__table__
#: A live event older than this when it arrives is treated as history: it counts, but nobody is greeted,
#: answered or removed for something that happened that long ago (setting `live_staleness_seconds`).
DEFAULT_STALENESS = timedelta(minutes=15)
Mode = Literal["live", "history"]


@dataclass(slots=True)
class _Accepted:
    """The events of a batch that passed validation, column by column, as the insert takes them."""

    index: list[int] = field(default_factory=list)
    type: list[str] = field(default_factory=list)
    contact_id: list[int | None] = field(default_factory=list)
    group_id: list[int | None] = field(default_factory=list)
    occurred_at: list[datetime] = field(default_factory=list)
    source_key: list[str] = field(default_factory=list)
    payload: list[dict[str, Any]] = field(default_factory=list)
    identity: list[tuple[str, str] | None] = field(default_factory=list)
    display_name: list[str | None] = field(default_factory=list)
    live: list[bool] = field(default_factory=list)
    group_ref: list[tuple[str, str] | None] = field(default_factory=list)

    def keep(self, mask: list[bool]) -> None:
        for name in self.__slots__:
            column = getattr(self, name)
            column[:] = [v for v, k in zip(column, mask, strict=True) if k]


def ingest(
    session: Session,
    workspace_id: int,
    items: list[Any],
    *,
    now: datetime,
    idempotency_key: str | None = None,
    mode: Mode = "live",
    staleness: timedelta = DEFAULT_STALENESS,
) -> list[EventResult]:
    """Store what is valid, report every item. The caller commits; only then may it acknowledge.

    `mode` is the batch's default (an event's own `mode` wins): history (imports, platform syncs) updates state
    and counts only. A live event that occurred more than `staleness` before `now` is stored as history.
    """
    if len(items) > MAX_BATCH:
        raise Invalid(f"at most {MAX_BATCH} events per request, got {len(items)}", code="batch_too_large")
    results: list[EventResult | None] = [None] * len(items)
    acc = _Accepted()
    seen: set[str] = set()

    evs = validation.validate_events(items)
    payloads = validation.payloads(evs)
    for i, ev in enumerate(evs):
        if isinstance(ev, ValidationError):
            results[i] = EventResult(i, "rejected", code="invalid_event", reason=validation.first_error(ev))
            continue
        payload = payloads[i]
        if payload is None:
            results[i] = EventResult(i, "rejected", code="unknown_event_type",
                                     reason=f"unknown event type {ev['type']!r} (use custom.* for your own)")
            continue
        if isinstance(payload, ValidationError):
            results[i] = EventResult(i, "rejected", code="invalid_payload", reason=validation.first_error(payload))
            continue
        contact_id, contact = ev.get("contact_id"), ev.get("contact")
        if contact_id is not None and contact is not None:
            results[i] = EventResult(i, "rejected", code="invalid_event", reason="give contact_id or contact, not both")
            continue
        group = ev.get("group")
        if group is not None and ev.get("group_id") is not None:
            results[i] = EventResult(i, "rejected", code="invalid_event", reason="give group_id or group, not both")
            continue
        key = ev.get("source_key")
        if key is None:
            key = f"{idempotency_key}:{i}"[:MAX_KEY] if idempotency_key else new_key()
        if key in seen:
            results[i] = EventResult(i, "duplicate", source_key=key)
            continue
        seen.add(key)
        acc.index.append(i)
        acc.type.append(ev["type"])
        acc.contact_id.append(contact_id)
        acc.group_id.append(ev.get("group_id"))
        occurred = ev.get("occurred_at") or now
        acc.occurred_at.append(occurred)
        acc.live.append((ev.get("mode") or mode) == "live" and now - occurred <= staleness)
        acc.source_key.append(key)
        acc.payload.append(payload)
        acc.identity.append((contact["platform"], contact["external_id"]) if contact else None)
        acc.display_name.append(contact.get("display_name") if contact else None)
        acc.group_ref.append((group["platform"], group["external_id"]) if group else None)

    _resolve_subjects(session, workspace_id, acc, results, now)
    n = len(acc.index)
    done = append(session, {
        "workspace_id": [workspace_id] * n, "type": acc.type, "contact_id": acc.contact_id,
        "group_id": acc.group_id, "occurred_at": acc.occurred_at, "received_at": [now] * n,
        "source_key": acc.source_key, "source_hash": source_hashes(workspace_id, acc.source_key),
        "payload": acc.payload, "live": acc.live,
    })
    for i, key in zip(acc.index, acc.source_key, strict=True):
        new_id = done.stored.get(key)
        if new_id is not None:
            results[i] = EventResult(i, "stored", source_key=key, id=new_id)
        elif key in done.collisions:
            results[i] = EventResult(i, "rejected", source_key=key, code="source_key_collision", reason=COLLISION)
        else:
            results[i] = EventResult(i, "duplicate", source_key=key)
    return [r for r in results if r is not None]


def _resolve_subjects(session: Session, ws: int, acc: _Accepted, results: list[EventResult | None],
                      now: datetime) -> None:
    """Contact ids from identities (created on first sight) or checked explicit ids; drops unknown references."""
    refs = {ref: name for ref, name in zip(acc.identity, acc.display_name, strict=True) if ref is not None}
    found = identities.resolve_or_create(session, ws, refs, now=now) if refs else {}
    explicit = {cid for cid, ref in zip(acc.contact_id, acc.identity, strict=True) if ref is None and cid is not None}
    survivors = identities.survivors(session, ws, explicit) if explicit else {}
    by_ref = communities_refs.resolve(session, ws, {r for r in acc.group_ref if r is not None}, now=now)
    for j, ref in enumerate(acc.group_ref):
        if ref is not None:
            acc.group_id[j] = by_ref[ref]
    group_ids = {g for g in acc.group_id if g is not None}
    known_groups: set[int] = set()
    if group_ids:
        known_groups = set(session.scalars(
            select(Group.id).where(Group.workspace_id == ws, Group.id.in_(group_ids))
        ))
    mask: list[bool] = []
    for j, (i, ref, cid, gid) in enumerate(zip(acc.index, acc.identity, acc.contact_id, acc.group_id, strict=True)):
        if ref is not None:
            acc.contact_id[j] = found[ref]
        elif cid is not None:
            if cid not in survivors:
                results[i] = EventResult(i, "rejected", code="unknown_contact", reason=f"no contact {cid}")
                mask.append(False)
                continue
            acc.contact_id[j] = survivors[cid]
        if gid is not None and gid not in known_groups:
            results[i] = EventResult(i, "rejected", code="unknown_group", reason=f"no group {gid}")
            mask.append(False)
            continue
        mask.append(True)
    if not all(mask):
        acc.keep(mask)


@dataclass
class Appended:
    #: New event id by source key.
    stored: dict[str, int] = field(default_factory=dict)
    #: Keys whose hash belongs to a different stored key: not stored, not duplicates (see siyu.events.keys).
    collisions: set[str] = field(default_factory=set)


COLLISION = "this source_key hashes like another stored key; send the event with a different source_key"


def append(session: Session, columns: dict[str, list[Any]]) -> Appended:
    """Insert rows (given column by column) that are new by source key; return them by key and run the
    automations subscribed to them."""
    out = Appended()
    keys, hashes = columns["source_key"], columns["source_hash"]
    if not keys:
        return out
    first_of: dict[int, int] = {}
    fresh: list[int] = []
    for j, h in enumerate(hashes):
        first = first_of.setdefault(h, j)
        if first == j:
            fresh.append(j)
        elif keys[first] != keys[j]:
            out.collisions.add(keys[j])
    if len(fresh) < len(keys):
        columns = {name: [col[j] for j in fresh] for name, col in columns.items()}
        keys, hashes = columns["source_key"], columns["source_hash"]
    reacting: list[hooks.StoredEvent] = []
    conflicted: list[int] = []
    occurred: dict[int, list[datetime]] = {}
    for j, event_id in enumerate(bulk_insert_ignore(session, EVENTS, columns, conflict=["source_hash"])):
        if event_id is None:
            conflicted.append(j)
            continue
        out.stored[keys[j]] = event_id
        occurred.setdefault(columns["workspace_id"][j], []).append(columns["occurred_at"][j])
        if hooks.has_handlers(columns["type"][j], columns["live"][j]):
            reacting.append(_stored_event(columns, j, event_id))
    if conflicted:
        _find_collisions(session, columns, conflicted, out.collisions)
    for ws, times in occurred.items():
        rollup.add(session, ws, times)
    if reacting:
        reacting.sort(key=lambda e: e.id)
        hooks.dispatch(session, reacting)
    return out


def _stored_event(columns: dict[str, list[Any]], j: int, event_id: int) -> hooks.StoredEvent:
    return hooks.StoredEvent(
        id=event_id, workspace_id=columns["workspace_id"][j], type=columns["type"][j],
        contact_id=columns["contact_id"][j], group_id=columns["group_id"][j],
        occurred_at=columns["occurred_at"][j], payload=columns["payload"][j], live=columns["live"][j],
        now=columns["received_at"][j],
    )


def _owners(session: Session, hashes: list[int]) -> dict[int, tuple[int, str]]:
    """The (workspace, source key) stored under each of these hashes."""
    return {h: (ws, key) for h, ws, key in select_in(
        session, "SELECT source_hash, workspace_id, source_key FROM events WHERE source_hash IN ({in})", (), hashes)}


def _find_collisions(session: Session, columns: dict[str, list[Any]], conflicted: list[int], into: set[str]) -> None:
    """A conflict is a duplicate only if the stored row has this workspace and source key."""
    hashes, keys, wss = columns["source_hash"], columns["source_key"], columns["workspace_id"]
    owners = _owners(session, [hashes[j] for j in conflicted])
    for j in conflicted:
        if owners.get(hashes[j]) != (wss[j], keys[j]):
            into.add(keys[j])


def stored_keys(session: Session, workspace_id: int, keys: list[str]) -> set[str]:
    """Which of these source keys are in the log (through the hash index; never a scan of the text keys)."""
    if not keys:
        return set()
    owners = _owners(session, [source_hash(workspace_id, k) for k in keys])
    return {key for key in keys if owners.get(source_hash(workspace_id, key)) == (workspace_id, key)}


def record(
    session: Session,
    workspace_id: int,
    event_type: str,
    *,
    now: datetime,
    source_key: str | None = None,
    contact_id: int | None = None,
    group_id: int | None = None,
    payload: dict[str, Any] | None = None,
    occurred_at: datetime | None = None,
    live: bool = True,
) -> hooks.StoredEvent | None:
    """Append one event siyu itself observed (already trusted); None when the source key was seen before."""
    model = payload_model(event_type)
    if model is None:
        raise ValueError(f"unregistered event type {event_type}")
    body = payload or {}
    if model is not Payload:
        body = model.model_validate(body).model_dump(mode="json", exclude_none=True)
    key = source_key or new_key()
    columns: dict[str, list[Any]] = {
        "workspace_id": [workspace_id], "type": [event_type], "contact_id": [contact_id], "group_id": [group_id],
        "occurred_at": [occurred_at or now], "received_at": [now], "source_key": [key],
        "source_hash": [source_hash(workspace_id, key)], "payload": [body], "live": [live],
    }
    done = append(session, columns)
    if key in done.collisions:
        raise Conflict(COLLISION, code="source_key_collision")
    event_id = done.stored.get(key)
    return None if event_id is None else _stored_event(columns, 0, event_id)


def _timeline(session: Session, workspace_id: int, contact_id: int) -> Select[Event]:
    ids = identities.merged_family(session, workspace_id, contact_id)
    return select(Event).where(Event.workspace_id == workspace_id, Event.contact_id.in_(ids))


def timeline(session: Session, workspace_id: int, contact_id: int, *, limit: int = 100) -> list[Event]:
    """A contact's events (with those of the contacts merged into it), latest first."""
    q = _timeline(session, workspace_id, contact_id)
    return list(session.scalars(q.order_by(Event.occurred_at.desc(), Event.id.desc()).limit(limit)))


def timeline_page(session: Session, workspace_id: int, contact_id: int, *, cursor: str | None = None,
                  limit: int = 100) -> Page[Event]:
    """`timeline` a page at a time: latest first by when it happened, then by id."""
    return keyset(session, _timeline(session, workspace_id, contact_id), [Event.occurred_at, Event.id],
                  cursor=cursor, limit=limit, key=lambda e: [e.occurred_at, e.id])


