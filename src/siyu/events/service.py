"""Event ingest: validate, deduplicate on source key, resolve contacts, append, react.

Batches are the unit of speed: contacts are resolved with one query per 500 identities and rows go in with one
multi-row INSERT … ON CONFLICT DO NOTHING RETURNING, which is also how duplicates are told apart from new rows
(even when another process inserts the same key at the same moment).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from siyu.contacts import identities
from siyu.events import hooks
from siyu.events.schemas import MAX_KEY, EventIn, EventResult, Payload, payload_model
from siyu.kit.db import bulk_insert_ignore_returning
from siyu.kit.errors import Invalid
from siyu.kit.ids import new_key
from siyu.models import Event, Group

MAX_BATCH = 1000
EVENTS = Event.__table__


@dataclass
class _Pending:
    index: int
    row: dict[str, Any]
    identity: tuple[str, str] | None
    display_name: str | None


def _first_error(exc: ValidationError) -> str:
    err = exc.errors()[0]
    loc = ".".join(str(p) for p in err.get("loc", ()))
    return f"{loc}: {err.get('msg')}" if loc else str(err.get("msg"))


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

    for i, item in enumerate(items):
        try:
            ev = EventIn.model_validate(item)
        except ValidationError as exc:
            results[i] = EventResult(index=i, status="rejected", code="invalid_event", reason=_first_error(exc))
            continue
        model = payload_model(ev.type)
        if model is None:
            results[i] = EventResult(index=i, status="rejected", code="unknown_event_type",
                                     reason=f"unknown event type {ev.type!r} (use custom.* for your own)")
            continue
        if model is Payload:
            payload = ev.payload
        else:
            try:
                payload = model.model_validate(ev.payload).model_dump(mode="json", exclude_none=True)
            except ValidationError as exc:
                results[i] = EventResult(index=i, status="rejected", code="invalid_payload",
                                         reason=_first_error(exc))
                continue
        if ev.contact_id is not None and ev.contact is not None:
            results[i] = EventResult(index=i, status="rejected", code="invalid_event",
                                     reason="give contact_id or contact, not both")
            continue
        key = ev.source_key
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
                "type": ev.type,
                "contact_id": ev.contact_id,
                "group_id": ev.group_id,
                "occurred_at": ev.occurred_at or now,
                "received_at": now,
                "source_key": key,
                "payload": payload,
            },
            identity=(ev.contact.platform, ev.contact.external_id) if ev.contact else None,
            display_name=ev.contact.display_name if ev.contact else None,
        ))

    pending = _resolve_subjects(session, workspace_id, pending, results, now)
    stored = append(session, [p.row for p in pending])
    for p in pending:
        key = p.row["source_key"]
        if key in stored:
            results[p.index] = EventResult(index=p.index, status="stored", source_key=key, id=stored[key].id)
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


def append(session: Session, rows: list[dict[str, Any]]) -> dict[str, hooks.StoredEvent]:
    """Insert rows that are new by source key; return them by key and run the automations subscribed to them."""
    if not rows:
        return {}
    stored: dict[str, hooks.StoredEvent] = {}
    by_key = {r["source_key"]: r for r in rows}
    for event_id, key in bulk_insert_ignore_returning(session, EVENTS, rows, conflict=["workspace_id", "source_key"],
                                                      returning=["id", "source_key"]):
        r = by_key[key]
        stored[key] = hooks.StoredEvent(
            id=event_id, workspace_id=r["workspace_id"], type=r["type"], contact_id=r["contact_id"],
            group_id=r["group_id"], occurred_at=r["occurred_at"], payload=r["payload"],
        )
    reacting = [ev for ev in stored.values() if hooks.has_handlers(ev.type)]
    if reacting:
        reacting.sort(key=lambda e: e.id)
        hooks.dispatch(session, reacting)
    return stored


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
    stored = append(session, [{
        "workspace_id": workspace_id, "type": event_type, "contact_id": contact_id, "group_id": group_id,
        "occurred_at": occurred_at or now, "received_at": now, "source_key": key, "payload": body,
    }])
    return stored.get(key)


def timeline(session: Session, workspace_id: int, contact_id: int, *, limit: int = 100,
             before_id: int | None = None) -> list[Event]:
    ids = identities.merged_family(session, workspace_id, contact_id)
    q = select(Event).where(Event.workspace_id == workspace_id, Event.contact_id.in_(ids))
    if before_id is not None:
        q = q.where(Event.id < before_id)
    return list(session.scalars(q.order_by(Event.occurred_at.desc(), Event.id.desc()).limit(limit)))


