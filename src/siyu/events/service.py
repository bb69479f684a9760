"""Event ingest: validate, deduplicate on source key, resolve contacts, append, react.

Batches are the unit of speed: contacts are resolved with one query per 500 identities and rows go in with one
multi-row INSERT … ON CONFLICT (source_hash) DO NOTHING RETURNING, which is also how duplicates are told apart
from new rows (even when another process inserts the same key at the same moment). A conflict is checked against
the stored source key, so a 64-bit hash collision is reported, never mistaken for a duplicate.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pydantic import TypeAdapter, ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from siyu.contacts import identities
from siyu.events import hooks
from siyu.events.keys import source_hash, source_hashes
from siyu.events.schemas import ERROR_TEXT, MAX_KEY, EventIn, EventResult, Payload, payload_model
from siyu.kit.db import bulk_insert_ignore, select_in
from siyu.kit.errors import Conflict, Invalid
from siyu.kit.ids import new_key
from siyu.models import Event, Group

MAX_BATCH = 1000
EVENTS = Event.__table__


@dataclass(slots=True)
class _Pending:
    index: int
    row: dict[str, Any]
    identity: tuple[str, str] | None
    display_name: str | None


def _first_error(exc: ValidationError) -> str:
    err = exc.errors()[0]
    loc = ".".join(str(p) for p in err.get("loc", ()))
    msg = ERROR_TEXT.get(err["type"], err.get("msg"))
    return f"{loc}: {msg}" if loc else str(msg)


_ONE_EVENT: TypeAdapter[EventIn] = TypeAdapter(EventIn)
_ALL_EVENTS: TypeAdapter[list[EventIn]] = TypeAdapter(list[EventIn])
_ONE_PAYLOAD: dict[type[Payload], tuple[TypeAdapter[Any], TypeAdapter[list[Any]]]] = {}


def _validate_all(one: TypeAdapter[Any], many: TypeAdapter[list[Any]], items: list[Any]) -> list[Any]:
    """The whole list in one pydantic-core call; only when something in it is invalid, item by item, so each
    item gets its own answer. Returns the validated value or the ValidationError per item."""
    try:
        return many.validate_python(items)
    except ValidationError:
        out: list[Any] = []
        for item in items:
            try:
                out.append(one.validate_python(item))
            except ValidationError as exc:
                out.append(exc)
        return out


def _payloads(evs: list[EventIn | ValidationError]) -> dict[int, dict[str, Any] | ValidationError | None]:
    """Each event's payload validated against its type's model and dumped to JSON form, one batch per model.
    None: unknown type."""
    out: dict[int, dict[str, Any] | ValidationError | None] = {}
    by_model: dict[type[Payload], list[int]] = {}
    for i, ev in enumerate(evs):
        if isinstance(ev, ValidationError):
            continue
        model = payload_model(ev["type"])
        if model is None:
            out[i] = None
        elif model is Payload:
            out[i] = ev.get("payload") or {}
        else:
            by_model.setdefault(model, []).append(i)
    for model, idx in by_model.items():
        adapters = _ONE_PAYLOAD.get(model)
        if adapters is None:
            adapters = _ONE_PAYLOAD.setdefault(model, (TypeAdapter(model), TypeAdapter(list[model])))  # type: ignore[valid-type]
        checked = _validate_all(*adapters, [evs[i].get("payload") or {} for i in idx])  # type: ignore[union-attr]
        for i, p in zip(idx, checked, strict=True):
            out[i] = p if isinstance(p, ValidationError) else p.model_dump(mode="json", exclude_none=True)
    return out


def ingest(
    session: Session,
    workspace_id: int,
    items: list[Any],
    *,
    now: datetime,
    idempotency_key: str | None = None,
) -> list[EventResult]:
    """Store what is valid, report every item. The caller commits; only then may it acknowledge."""
    if len(items) > MAX_BATCH:
        raise Invalid(f"at most {MAX_BATCH} events per request, got {len(items)}", code="batch_too_large")
    results: list[EventResult | None] = [None] * len(items)
    pending: list[_Pending] = []
    seen: set[str] = set()

    evs: list[EventIn | ValidationError] = _validate_all(_ONE_EVENT, _ALL_EVENTS, items)
    payloads = _payloads(evs)
    for i, ev in enumerate(evs):
        if isinstance(ev, ValidationError):
            results[i] = EventResult(index=i, status="rejected", code="invalid_event", reason=_first_error(ev))
            continue
        payload = payloads[i]
        if payload is None:
            results[i] = EventResult(index=i, status="rejected", code="unknown_event_type",
                                     reason=f"unknown event type {ev['type']!r} (use custom.* for your own)")
            continue
        if isinstance(payload, ValidationError):
            results[i] = EventResult(index=i, status="rejected", code="invalid_payload", reason=_first_error(payload))
            continue
        contact_id, contact = ev.get("contact_id"), ev.get("contact")
        if contact_id is not None and contact is not None:
            results[i] = EventResult(index=i, status="rejected", code="invalid_event",
                                     reason="give contact_id or contact, not both")
            continue
        key = ev.get("source_key")
        if key is None:
            key = f"{idempotency_key}:{i}"[:MAX_KEY] if idempotency_key else new_key()
        if key in seen:
            results[i] = EventResult(index=i, status="duplicate", source_key=key)
            continue
        seen.add(key)
        pending.append(_Pending(
            index=i,
            row={
                "workspace_id": workspace_id,
                "type": ev["type"],
                "contact_id": contact_id,
                "group_id": ev.get("group_id"),
                "occurred_at": ev.get("occurred_at") or now,
                "received_at": now,
                "source_key": key,
                "source_hash": 0,  # below, for the whole batch at once
                "payload": payload,
            },
            identity=(contact["platform"], contact["external_id"]) if contact else None,
            display_name=contact.get("display_name") if contact else None,
        ))

    for p, h in zip(pending, source_hashes(workspace_id, [p.row["source_key"] for p in pending]), strict=True):
        p.row["source_hash"] = h
    pending = _resolve_subjects(session, workspace_id, pending, results, now)
    done = append(session, [p.row for p in pending])
    for p in pending:
        key = p.row["source_key"]
        new_id = done.stored.get(key)
        if new_id is not None:
            results[p.index] = EventResult(index=p.index, status="stored", source_key=key, id=new_id)
        elif key in done.collisions:
            results[p.index] = EventResult(index=p.index, status="rejected", source_key=key,
                                           code="source_key_collision", reason=COLLISION)
        else:
            results[p.index] = EventResult(index=p.index, status="duplicate", source_key=key)
    return [r for r in results if r is not None]


def _resolve_subjects(
    session: Session, ws: int, pending: list[_Pending], results: list[EventResult | None], now: datetime
) -> list[_Pending]:
    refs = {p.identity: p.display_name for p in pending if p.identity is not None}
    if refs:  # identities resolve straight to surviving contacts
        found = identities.resolve_or_create(session, ws, refs, now=now)
        for p in pending:
            if p.identity is not None:
                p.row["contact_id"] = found[p.identity]
    explicit = {p.row["contact_id"] for p in pending if p.identity is None and p.row["contact_id"] is not None}
    survivors = identities.survivors(session, ws, explicit) if explicit else {}
    group_ids = {p.row["group_id"] for p in pending if p.row["group_id"] is not None}
    known_groups: set[int] = set()
    if group_ids:
        known_groups = set(session.scalars(
            select(Group.id).where(Group.workspace_id == ws, Group.id.in_(group_ids))
        ))
    kept: list[_Pending] = []
    for p in pending:
        cid = p.row["contact_id"]
        if cid is not None and p.identity is None:
            if cid not in survivors:
                results[p.index] = EventResult(index=p.index, status="rejected", code="unknown_contact",
                                               reason=f"no contact {cid}")
                continue
            p.row["contact_id"] = survivors[cid]
        gid = p.row["group_id"]
        if gid is not None and gid not in known_groups:
            results[p.index] = EventResult(index=p.index, status="rejected", code="unknown_group",
                                           reason=f"no group {gid}")
            continue
        kept.append(p)
    return kept


@dataclass
class Appended:
    #: New event id by source key.
    stored: dict[str, int] = field(default_factory=dict)
    #: Keys whose hash belongs to a different stored key: not stored, not duplicates (see siyu.events.keys).
    collisions: set[str] = field(default_factory=set)


COLLISION = "this source_key hashes like another stored key; send the event with a different source_key"


def append(session: Session, rows: list[dict[str, Any]]) -> Appended:
    """Insert rows that are new by source key; return them by key and run the automations subscribed to them."""
    out = Appended()
    if not rows:
        return out
    by_hash: dict[int, dict[str, Any]] = {}
    fresh: list[dict[str, Any]] = []
    for r in rows:
        first = by_hash.setdefault(r["source_hash"], r)
        if first is r:
            fresh.append(r)
        elif first["source_key"] != r["source_key"]:
            out.collisions.add(r["source_key"])
    reacting: list[hooks.StoredEvent] = []
    for r, event_id in zip(fresh, bulk_insert_ignore(session, EVENTS, fresh, conflict=["source_hash"]),
                           strict=True):
        if event_id is None:
            continue
        out.stored[r["source_key"]] = event_id
        if hooks.has_handlers(r["type"]):
            reacting.append(_stored_event(r, event_id))
    if len(out.stored) < len(fresh):
        _find_collisions(session, [r for r in fresh if r["source_key"] not in out.stored], out.collisions)
    if reacting:
        reacting.sort(key=lambda e: e.id)
        hooks.dispatch(session, reacting)
    return out


def _stored_event(row: dict[str, Any], event_id: int) -> hooks.StoredEvent:
    return hooks.StoredEvent(
        id=event_id, workspace_id=row["workspace_id"], type=row["type"], contact_id=row["contact_id"],
        group_id=row["group_id"], occurred_at=row["occurred_at"], payload=row["payload"],
    )


def _find_collisions(session: Session, conflicted: list[dict[str, Any]], into: set[str]) -> None:
    """A conflict is a duplicate only if the stored row has this workspace and source key."""
    owners = {h: (ws, key) for h, ws, key in select_in(
        session, "SELECT source_hash, workspace_id, source_key FROM events WHERE source_hash IN ({in})", (),
        [r["source_hash"] for r in conflicted])}
    for r in conflicted:
        if owners.get(r["source_hash"]) != (r["workspace_id"], r["source_key"]):
            into.add(r["source_key"])


def stored_keys(session: Session, workspace_id: int, keys: list[str]) -> set[str]:
    """Which of these source keys are in the log (through the hash index; never a scan of the text keys)."""
    if not keys:
        return set()
    hashes = {source_hash(workspace_id, k): k for k in keys}
    return {key for h, ws, key in select_in(
        session, "SELECT source_hash, workspace_id, source_key FROM events WHERE source_hash IN ({in})", (),
        list(hashes)) if ws == workspace_id and hashes.get(h) == key}


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
) -> hooks.StoredEvent | None:
    """Append one event siyu itself observed (already trusted); None when the source key was seen before."""
    model = payload_model(event_type)
    if model is None:
        raise ValueError(f"unregistered event type {event_type}")
    body = payload or {}
    if model is not Payload:
        body = model.model_validate(body).model_dump(mode="json", exclude_none=True)
    key = source_key or new_key()
    row = {
        "workspace_id": workspace_id, "type": event_type, "contact_id": contact_id, "group_id": group_id,
        "occurred_at": occurred_at or now, "received_at": now, "source_key": key,
        "source_hash": source_hash(workspace_id, key), "payload": body,
    }
    done = append(session, [row])
    if key in done.collisions:
        raise Conflict(COLLISION, code="source_key_collision")
    event_id = done.stored.get(key)
    return None if event_id is None else _stored_event(row, event_id)


def timeline(session: Session, workspace_id: int, contact_id: int, *, limit: int = 100,
             before_id: int | None = None) -> list[Event]:
    ids = identities.merged_family(session, workspace_id, contact_id)
    q = select(Event).where(Event.workspace_id == workspace_id, Event.contact_id.in_(ids))
    if before_id is not None:
        q = q.where(Event.id < before_id)
    return list(session.scalars(q.order_by(Event.occurred_at.desc(), Event.id.desc()).limit(limit)))


