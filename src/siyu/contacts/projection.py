"""State of contacts projected from facts: contact ↔ staff relationships (`contact.added`, `contact.removed`)
and tags (`contact.tagged`, `contact.untagged`).

Each pair keeps the time of the newest fact applied; an older fact (a late callback, a sync of history that
overlaps live events) changes nothing, and the same fact twice is a no-op, so the state is the same whatever
order the facts arrive in.
"""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from siyu.events.hooks import StoredEvent, projects
from siyu.kit.db import insert_ignore
from siyu.models import ContactRelationship, ContactTag, Event

RELATIONSHIPS = ContactRelationship.__table__
CONTACT_TAGS = ContactTag.__table__


@projects("contact.added", "contact.removed")
def relationship(session: Session, ev: StoredEvent) -> None:
    if ev.contact_id is None:
        return
    staff = str(ev.payload["staff"])
    added = ev.type == "contact.added"
    values: dict[str, object] = {"status": "active" if added else "removed",
              "removed_by": "" if added else str(ev.payload.get("by") or "contact"),
              "as_of": ev.occurred_at, "as_of_event_id": ev.id}
    if added:
        values["channel_state"] = ev.payload.get("state")
    fresh = session.execute(insert_ignore(session, RELATIONSHIPS, ["contact_id", "staff"]).values(
        workspace_id=ev.workspace_id, contact_id=ev.contact_id, staff=staff, since=ev.occurred_at,
        **{"channel_state": ev.payload.get("state") if added else None, **values})
        .returning(RELATIONSHIPS.c.id)).first()
    if fresh is not None:
        return
    row = session.scalar(select(ContactRelationship).where(ContactRelationship.contact_id == ev.contact_id,
                                                           ContactRelationship.staff == staff).with_for_update())
    if row is None or (row.as_of, row.as_of_event_id) >= (ev.occurred_at, ev.id):
        return
    if added and row.status != "active":
        row.since = ev.occurred_at
    for k, v in values.items():
        setattr(row, k, v)


def of_contact(session: Session, contact_id: int) -> list[ContactRelationship]:
    return list(session.scalars(select(ContactRelationship).where(ContactRelationship.contact_id == contact_id)
                                .order_by(ContactRelationship.staff)))


@projects("contact.tagged", "contact.untagged")
def tags(session: Session, ev: StoredEvent) -> None:
    """A contact's tags from `contact.tagged` / `contact.untagged` facts, whoever reports them (an operator, a
    channel code, a questionnaire, a platform's tag callback, an import). A tag row remembers since when it holds
    (`created_at` = the fact's time): an untag older than that leaves it, and a tag older than an untag already
    in the log is not re-applied, so late or reordered facts end in the same state."""
    if ev.contact_id is None:
        return
    from siyu.contacts import service  # the tag vocabulary lives with the contacts service

    labels = [str(x) for x in ev.payload.get("tags", [])]
    for label in labels:
        group, _, name = label.partition(":")
        if not name:
            continue
        tag = service.ensure_tag(session, ev.workspace_id, group, name)
        if ev.type == "contact.tagged":
            if _untagged_later(session, ev, label):
                continue
            session.execute(insert_ignore(session, CONTACT_TAGS, ["contact_id", "tag_id"]),
                            [{"contact_id": ev.contact_id, "tag_id": tag.id,
                              "source": str(ev.payload.get("source") or "manual")[:64], "created_at": ev.occurred_at}])
        else:
            session.execute(delete(ContactTag).where(ContactTag.contact_id == ev.contact_id,
                                                     ContactTag.tag_id == tag.id,
                                                     ContactTag.created_at <= ev.occurred_at))


def _untagged_later(session: Session, ev: StoredEvent, label: str) -> bool:
    rows = session.execute(select(Event.id, Event.occurred_at, Event.payload).where(
        Event.contact_id == ev.contact_id, Event.type == "contact.untagged", Event.occurred_at >= ev.occurred_at))
    return any((at, eid) > (ev.occurred_at, ev.id) and label in (payload or {}).get("tags", [])
               for eid, at, payload in rows)
