"""The request edge: who is calling, may they, CSRF for cookie sessions, and one renderer for domain errors.

Bearer tokens are for programs; the signed session cookie is for people in the console, and every unsafe request
made with the cookie must carry the session's CSRF token (form field `csrf_token` or header `X-CSRF-Token`).
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any

from fastapi import Request
from starlette.concurrency import run_in_threadpool

from siyu.auth import service as auth
from siyu.auth.roles import Perm, allowed
from siyu.kit.errors import Forbidden, Unauthorized
from siyu.models import User

if TYPE_CHECKING:
    from siyu.runtime import Runtime

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"


def runtime(request: Request) -> Runtime:
    return request.app.state.runtime


def csrf_token(request: Request) -> str:
    token = request.session.get("csrf")
    if not token:
        token = secrets.token_urlsafe(24)
        request.session["csrf"] = token
    return str(token)


async def _check_csrf(request: Request) -> None:
    expected = request.session.get("csrf")
    sent = request.headers.get(CSRF_HEADER)
    if sent is None and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        form = await request.form()
        value = form.get(CSRF_FIELD)
        sent = value if isinstance(value, str) else None
    if not expected or not sent or not hmac.compare_digest(str(expected), sent):
        raise Forbidden("missing or wrong CSRF token; reload the page and try again", code="csrf_failed")


async def current_principal(request: Request) -> auth.Principal:
    cached = getattr(request.state, "principal", None)
    if cached is not None:
        return cached
    rt = runtime(request)
    header = request.headers.get("authorization", "")
    principal: auth.Principal | None = None
    if header.lower().startswith("bearer "):
        principal = await run_in_threadpool(_token_principal, rt, header[7:].strip())
        if principal is None:
            raise Unauthorized("invalid or revoked API token", code="invalid_token")
    else:
        user_id = request.session.get("user_id")
        if user_id is not None:
            principal = await run_in_threadpool(_user_principal, rt, int(user_id))
        if principal is None:
            raise Unauthorized("log in or send an API token", code="not_authenticated")
        if request.method not in SAFE_METHODS:
            await _check_csrf(request)
    request.state.principal = principal
    return principal


def _token_principal(rt: Runtime, token: str) -> auth.Principal | None:
    with rt.tx() as s:
        return auth.principal_for_token(s, token)


def _user_principal(rt: Runtime, user_id: int) -> auth.Principal | None:
    with rt.tx() as s:
        user = s.get(User, user_id)
        return auth.principal_for_user(user) if user is not None and user.active else None


def require(perm: Perm) -> Callable[[Request], Coroutine[Any, Any, auth.Principal]]:
    async def dependency(request: Request) -> auth.Principal:
        p = await current_principal(request)
        if not allowed(p.role, perm):
            raise Forbidden(f"role {p.role!r} may not do this ({perm.value})", code="forbidden")
        return p

    dependency.__name__ = f"require_{perm.value}"
    return dependency


def require_any(*perms: Perm) -> Callable[[Request], Coroutine[Any, Any, auth.Principal]]:
    async def dependency(request: Request) -> auth.Principal:
        p = await current_principal(request)
        if not any(allowed(p.role, perm) for perm in perms):
            raise Forbidden(f"role {p.role!r} may not see this", code="forbidden")
        return p

    return dependency
