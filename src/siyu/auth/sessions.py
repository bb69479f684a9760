"""Console sessions that can be ended server-side.

The console cookie is signed but stateless: on its own it stays valid until it expires, whatever happens to the
account. So a login also creates a `ConsoleSession` row and puts a random token in the cookie; every request
checks the row. Logout revokes the current session; a password change revokes the user's other sessions (the
device that changed it stays in); disabling a user revokes all of theirs. Only the SHA-256 of the token is stored.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from siyu.models import ConsoleSession

#: The cookie key holding the session token.
COOKIE_KEY = "sid"
#: A session ends this long after login, whatever the activity (the cookie's max_age is the same).
MAX_AGE = timedelta(days=14)
#: last_seen_at is written at most this often per session, so reading pages does not mean writing rows.
TOUCH_EVERY = timedelta(minutes=5)


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start(session: Session, user_id: int, *, now: datetime) -> str:
    """A new session for the user; the returned token goes into the signed cookie and is not stored. The user's
    sessions older than MAX_AGE (ended either way) are deleted, so the table does not grow with every login."""
    session.execute(delete(ConsoleSession).where(ConsoleSession.user_id == user_id,
                                                 ConsoleSession.created_at <= now - MAX_AGE))
    token = secrets.token_urlsafe(32)
    session.add(ConsoleSession(token_hash=_hash(token), user_id=user_id, created_at=now, last_seen_at=now))
    session.flush()
    return token


def lookup(session: Session, token: str, *, now: datetime) -> ConsoleSession | None:
    """The live session for a token: not revoked, not older than MAX_AGE; else None."""
    if not token:
        return None
    row = session.scalar(select(ConsoleSession).where(ConsoleSession.token_hash == _hash(token)))
    if row is None or row.revoked_at is not None or row.created_at <= now - MAX_AGE:
        return None
    return row


def due_for_touch(row: ConsoleSession, now: datetime) -> bool:
    return row.last_seen_at <= now - TOUCH_EVERY


def touch(session: Session, session_id: int, *, now: datetime) -> None:
    session.execute(update(ConsoleSession).where(ConsoleSession.id == session_id).values(last_seen_at=now))


def revoke(session: Session, token: str, *, now: datetime) -> None:
    """End one session (logout)."""
    session.execute(update(ConsoleSession).where(ConsoleSession.token_hash == _hash(token),
                                                 ConsoleSession.revoked_at.is_(None)).values(revoked_at=now))


def revoke_user(session: Session, user_id: int, *, now: datetime, keep: str | None = None) -> int:
    """End every live session of a user, except the one whose token is `keep`; returns how many ended."""
    q = update(ConsoleSession).where(ConsoleSession.user_id == user_id, ConsoleSession.revoked_at.is_(None))
    if keep:
        q = q.where(ConsoleSession.token_hash != _hash(keep))
    result = session.execute(q.values(revoked_at=now))
    return int(getattr(result, "rowcount", 0) or 0)

