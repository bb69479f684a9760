"""A console form does its work once, however often it is sent.

Double-clicking 立即群发 used to send the broadcast twice, 添加群 made two groups. Every form the console renders
carries a fresh one-time key (`submission`, from the `csrf_field` macro; the page's script makes a new one after
each HTMX request and disables the submit button while a request is out). The request's unit of work claims the key
with INSERT … ON CONFLICT DO NOTHING in its own transaction: the second of two racing posts waits for the first to
commit (a unique index on PostgreSQL, the writers' lock on SQLite), finds the key taken and does nothing — it is
answered with the page the first one led to (`AlreadyDone`). Keys are kept a day.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

from fastapi import Request
from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from siyu.kit.db import insert_ignore
from siyu.kit.errors import SiyuError
from siyu.models import FormSubmission

FIELD = "submission"
KEEP = timedelta(days=1)
_KEY = re.compile(r"[0-9a-f]{16,60}")  # hex, as the page and its script make them (a broadcast id embeds it)
_FORMS = ("application/x-www-form-urlencoded", "multipart/form-data")


class AlreadyDone(SiyuError):
    """The same form again: its work was done by the first submission."""

    status = 409
    code = "already_submitted"

    def __init__(self, location: str | None) -> None:
        super().__init__("this form was already sent; what it asked for was done once", detail={"location": location})
        self.location = location


async def key_of(request: Request) -> str | None:
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return None
    if not request.headers.get("content-type", "").startswith(_FORMS):
        return None
    value = (await request.form()).get(FIELD)
    return value if isinstance(value, str) and _KEY.fullmatch(value) else None


def claim(session: Session, ws: int, key: str, actor: str, *, now: datetime) -> None:
    """Take the key for this request, or raise AlreadyDone when an earlier request took it."""
    session.execute(delete(FormSubmission).where(FormSubmission.at < now - KEEP))
    row = session.execute(insert_ignore(session, FormSubmission.__table__, ["workspace_id", "key"])
                          .returning(FormSubmission.__table__.c.id),
                          [{"workspace_id": ws, "key": key, "actor": actor, "at": now}]).first()
    if row is None:
        raise AlreadyDone(session.scalar(select(FormSubmission.location).where(
            FormSubmission.workspace_id == ws, FormSubmission.key == key)))


def remember(session: Session, ws: int, key: str, response: Any) -> None:
    """Where the first submission sent the browser (a redirect), for the second to land there too."""
    headers = getattr(response, "headers", None)
    location = (headers.get("location") or headers.get("hx-redirect")) if headers is not None else None
    if location and location.startswith("/"):
        session.execute(update(FormSubmission).where(FormSubmission.workspace_id == ws, FormSubmission.key == key)
                        .values(location=location[:500]))
