"""Follow-up notes on a contact (跟进记录): staff write what they learned or agreed with the person, and the next
colleague reads who wrote what, when, before they call.

Notes are the staff's words, not platform facts, so they are rows of their own (`contact_notes`) rather than events;
merging two contacts moves the absorbed one's notes to the survivor (`identities.merge`).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from siyu.contacts import service
from siyu.kit.errors import Invalid
from siyu.kit.pagination import Page, keyset
from siyu.models import ContactNote

MAX_NOTE = 2000


def add(session: Session, ws: int, contact_id: int, text: str, *, author: str, author_user_id: int | None,
        now: datetime) -> ContactNote:
    body = text.strip()
    if not body:
        raise Invalid("a note needs some text", code="empty_note")
    if len(body) > MAX_NOTE:
        raise Invalid(f"a note has at most {MAX_NOTE} characters", code="note_too_long")
    c = service.get(session, ws, contact_id)
    note = ContactNote(workspace_id=ws, contact_id=c.id, author_user_id=author_user_id, author=author[:100],
                       text=body, created_at=now)
    session.add(note)
    session.flush()
    return note


def page(session: Session, ws: int, contact_id: int, *, cursor: str | None = None,
         limit: int = 50) -> Page[ContactNote]:
    """The contact's notes, newest first."""
    service.get(session, ws, contact_id)
    q = select(ContactNote).where(ContactNote.workspace_id == ws, ContactNote.contact_id == contact_id)
    return keyset(session, q, [ContactNote.id], cursor=cursor, limit=limit, key=lambda n: [n.id])
