"""Users, passwords (argon2), API tokens (stored as SHA-256) and the audit log.

Usernames are unique under concurrency: two admins creating the same user at the same moment get one user and a
409 (`username_taken`), never a 500 from the unique index. Changing a password ends the user's other console
sessions and disabling a user ends all of them (`auth/sessions.py`).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from siyu.auth import sessions
from siyu.auth.roles import ROLE_NAMES, own_contacts_only
from siyu.kit.clock import utcnow
from siyu.kit.db import insert_ignore
from siyu.kit.errors import Conflict, Invalid, NotFound
from siyu.kit.pagination import Page, keyset
from siyu.models import ApiToken, AuditEntry, User

_hasher = PasswordHasher()
TOKEN_PREFIX = "siyu_"
# Verifying against this keeps a login for an unknown user as slow as one for a known user.
_DUMMY_HASH = _hasher.hash("siyu-dummy-password")


@dataclass(frozen=True)
class Principal:
    kind: str  # user | token
    id: int
    name: str
    role: str
    workspace_id: int
    locale: str = "zh_CN"

    @property
    def actor(self) -> str:
        return f"{self.kind}:{self.name}"

    @property
    def contact_owner(self) -> int | None:
        """None when the principal sees every contact; else the user id whose assigned contacts it sees. A token
        with such a role belongs to no user and sees none (0 is no user's id)."""
        if not own_contacts_only(self.role):
            return None
        return self.id if self.kind == "user" else 0


def _check_role(role: str) -> None:
    if role not in ROLE_NAMES:
        raise Invalid(f"role must be one of {', '.join(ROLE_NAMES)}", code="invalid_role")


def create_user(session: Session, ws: int, username: str, password: str, role: str, *,
                locale: str = "zh_CN") -> User:
    _check_role(role)
    username = username.strip()
    if not username or len(username) > 64:
        raise Invalid("a username needs 1 to 64 characters", code="invalid_username")
    if len(password) < 8:
        raise Invalid("a password needs at least 8 characters", code="weak_password")
    taken = Conflict(f"user {username!r} exists", code="username_taken")
    if session.scalar(select(User.id).where(User.username == username)):
        raise taken
    # The look-up above cannot see a concurrent transaction creating the same name; a plain INSERT would then
    # fail on the unique index (a 500). ON CONFLICT DO NOTHING waits for that transaction and inserts nothing.
    row = session.execute(insert_ignore(session, User.__table__, ["username"]).returning(User.__table__.c.id),
                          [{"workspace_id": ws, "username": username, "password_hash": _hasher.hash(password),
                            "role": role, "locale": locale, "active": True}]).first()
    if row is None:
        raise taken
    user = session.get(User, row[0])
    assert user is not None
    return user


def authenticate(session: Session, username: str, password: str) -> User | None:
    user = session.scalar(select(User).where(User.username == username.strip()))
    try:
        _hasher.verify(user.password_hash if user else _DUMMY_HASH, password)
    except (VerificationError, InvalidHashError):
        return None
    if user is None or not user.active:
        return None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    return user


def verify_password(user: User, password: str) -> bool:
    try:
        return bool(_hasher.verify(user.password_hash, password))
    except (VerificationError, InvalidHashError):
        return False


def set_password(session: Session, user: User, password: str, *, now: datetime | None = None,
                 keep_session: str | None = None) -> int:
    """Set a new password and end the user's console sessions, except `keep_session` (the one that changed it):
    whoever knew the old password is logged out everywhere. Returns how many sessions ended."""
    if len(password) < 8:
        raise Invalid("a password needs at least 8 characters", code="weak_password")
    if len(password) > 200:
        raise Invalid("a password has at most 200 characters", code="invalid_password")
    user.password_hash = _hasher.hash(password)
    return sessions.revoke_user(session, user.id, now=now or utcnow(), keep=keep_session)


def users(session: Session, ws: int) -> list[User]:
    return list(session.scalars(select(User).where(User.workspace_id == ws).order_by(User.id)))


def user_page(session: Session, ws: int, *, cursor: str | None = None, limit: int = 50) -> Page[User]:
    """In the order they were created (by id)."""
    q = select(User).where(User.workspace_id == ws)
    return keyset(session, q, [User.id], cursor=cursor, limit=limit, key=lambda u: [u.id], desc=False)


def get_user(session: Session, ws: int, user_id: int) -> User:
    u = session.get(User, user_id)
    if u is None or u.workspace_id != ws:
        raise NotFound("no such user", code="user_not_found")
    return u


def update_user(session: Session, ws: int, user_id: int, *, role: str | None = None,
                active: bool | None = None, now: datetime | None = None) -> User:
    """Change a user's role or state; disabling a user ends all their console sessions at once."""
    u = get_user(session, ws, user_id)
    if role is not None:
        _check_role(role)
        u.role = role
    if active is not None:
        u.active = active
        if not active:
            sessions.revoke_user(session, u.id, now=now or utcnow())
    remaining_admins = session.scalar(select(func.count()).select_from(User).where(
        User.workspace_id == ws, User.role == "admin", User.active.is_(True)))
    if not remaining_admins:
        raise Conflict("the last active admin cannot be demoted or disabled", code="last_admin")
    return u


def _hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(session: Session, ws: int, name: str, role: str) -> tuple[ApiToken, str]:
    _check_role(role)
    if not name.strip() or len(name) > 100:
        raise Invalid("a token name needs 1 to 100 characters", code="invalid_token_name")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(workspace_id=ws, name=name.strip(), token_hash=_hash_token(token), role=role)
    session.add(row)
    session.flush()
    return row, token


def tokens(session: Session, ws: int) -> list[ApiToken]:
    return list(session.scalars(select(ApiToken).where(ApiToken.workspace_id == ws).order_by(ApiToken.id)))


def token_page(session: Session, ws: int, *, cursor: str | None = None, limit: int = 50) -> Page[ApiToken]:
    """In the order they were created (by id)."""
    q = select(ApiToken).where(ApiToken.workspace_id == ws)
    return keyset(session, q, [ApiToken.id], cursor=cursor, limit=limit, key=lambda t: [t.id], desc=False)


def revoke_token(session: Session, ws: int, token_id: int) -> None:
    t = session.get(ApiToken, token_id)
    if t is None or t.workspace_id != ws:
        raise NotFound("no such token", code="token_not_found")
    t.revoked = True


def principal_for_token(session: Session, token: str) -> Principal | None:
    row = session.scalar(select(ApiToken).where(ApiToken.token_hash == _hash_token(token)))
    if row is None or row.revoked:
        return None
    return Principal("token", row.id, row.name, row.role, row.workspace_id)


def principal_for_user(user: User) -> Principal:
    return Principal("user", user.id, user.username, user.role, user.workspace_id, user.locale)


def audit(session: Session, who: Principal, action: str, object_type: str, object_id: Any = "",
          detail: dict[str, Any] | None = None, *, now: datetime) -> None:
    session.add(AuditEntry(workspace_id=who.workspace_id, actor=who.actor, action=action,
                           object_type=object_type, object_id=str(object_id), detail=detail or {}, at=now))


def audit_log(session: Session, ws: int, *, cursor: str | None = None, limit: int = 50) -> Page[AuditEntry]:
    """Newest first."""
    q = select(AuditEntry).where(AuditEntry.workspace_id == ws)
    return keyset(session, q, [AuditEntry.id], cursor=cursor, limit=limit, key=lambda e: [e.id])


def ensure_first_admin(session: Session, ws: int) -> str | None:
    """Create `admin` with a random password when there is no user yet; the password is returned once."""
    if session.scalar(select(func.count()).select_from(User)):
        return None
    password = secrets.token_urlsafe(12)
    create_user(session, ws, "admin", password, "admin")
    return password
