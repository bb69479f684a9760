"""Contact ↔ staff relationships projected from platform facts (`contact.added`, `contact.removed`).

Each pair keeps the time of the newest fact applied; an older fact (a late callback, a sync of history that
overlaps live events) changes nothing, and the same fact twice is a no-op, so the state is the same whatever
order the facts arrive in.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from siyu.events.hooks import StoredEvent, projects
from siyu.kit.db import insert_ignore
from siyu.models import ContactRelationship

RELATIONSHIPS = ContactRelationship.__table__


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
