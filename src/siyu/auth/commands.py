"""What a person does to users, API tokens and their own console session, from the REST API or the console: one
function per act, each auditing itself inside the request's unit of work (`edge/work.py`).

A login is the one act without a Work: nobody is signed in yet, so there is no principal to hold one; it runs in
the login view's own transaction and audits as the user who just logged in.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from siyu.auth import service, sessions
from siyu.edge.work import Work
from siyu.models import ApiToken, User


def create_user(w: Work, username: str, password: str, role: str) -> User:
    """409 `username_taken` when the name exists — also when another request creates it at the same moment."""
    u = service.create_user(w.s, w.ws, username, password, role)
    w.audit("user.create", "user", u.id, {"username": u.username, "role": u.role})
    return u


def update_user(w: Work, user_id: int, *, role: str | None = None, active: bool | None = None) -> User:
    """Change a user's role or state (disabling ends their console sessions); the last active admin stays."""
    u = service.update_user(w.s, w.ws, user_id, role=role, active=active, now=w.now)
    w.audit("user.update", "user", u.id, {k: v for k, v in (("role", role), ("active", active)) if v is not None})
    return u


def create_token(w: Work, name: str, role: str) -> tuple[ApiToken, str]:
    """The token itself is returned once; siyu keeps just its hash."""
    row, token = service.create_token(w.s, w.ws, name, role)
    w.audit("token.create", "token", row.id, {"name": row.name, "role": row.role})
    return row, token


def revoke_token(w: Work, token_id: int) -> None:
    service.revoke_token(w.s, w.ws, token_id)
    w.audit("token.revoke", "token", token_id)


def login(s: Session, user: User, *, now: datetime) -> str:
    """Start a console session for a user whose password was just verified (in `s`, the login's own transaction);
    returns the token for the cookie."""
    token = sessions.start(s, user.id, now=now)
    service.audit(s, service.principal_for_user(user), "user.login", "user", user.id, now=now)
    return token


def logout(w: Work, session_token: str) -> None:
    """End the caller's console session (a token caller has none: only the audit entry is written)."""
    sessions.revoke(w.s, session_token, now=w.now)
    w.audit("user.logout", "user", w.who.id)


def change_password(w: Work, current: str, new: str, *, keep_session: str) -> bool:
    """Change the caller's own password, given the current one; False (and nothing changed) when that is wrong.
    Every other console session of the user ends; `keep_session` (the one asking) stays."""
    user = w.s.get(User, w.who.id)
    if user is None or not service.verify_password(user, current):
        return False
    ended = service.set_password(w.s, user, new, now=w.now, keep_session=keep_session)
    w.audit("user.password", "user", w.who.id, {"sessions_ended": ended})
    return True


MEMBER_LOCALES = ("zh_CN", "en")


def set_workspace_locale(w: Work, locale: str) -> None:
    """The language members see on the workspace's pages (channel-code landing pages, share links)."""
    from siyu.kit.errors import Invalid
    from siyu.models import Workspace

    if locale not in MEMBER_LOCALES:
        raise Invalid(f"the member pages' language is one of {', '.join(MEMBER_LOCALES)}", code="invalid_locale")
    ws = w.s.get(Workspace, w.ws)
    assert ws is not None, "the request's workspace exists"
    ws.settings = {**(ws.settings or {}), "locale": locale}
    w.audit("workspace.locale", "workspace", w.ws, {"locale": locale})
