"""The request edge: who is calling, may they, CSRF for cookie sessions, and one renderer for domain errors.

Bearer tokens are for programs; the signed session cookie is for people in the console, and every unsafe request
made with the cookie must carry the session's CSRF token (form field `csrf_token` or header `X-CSRF-Token`).
The cookie names a server-side session (`auth/sessions.py`) that logout, a password change or disabling the user
ends; a cookie whose session was ended is logged out although its signature is still good.

Roles that see only their own contacts (sales) are held to that here, once for every route: a route with a
`contact_id` path parameter answers 404 for a contact not assigned to the caller, whichever module defines it.
"""

from __future__ import annotations

import hmac
import ipaddress
import secrets
from collections.abc import Callable, Coroutine
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from fastapi import Request
from starlette.concurrency import run_in_threadpool

from siyu.auth import service as auth
from siyu.auth import sessions
from siyu.auth.roles import Perm, allowed
from siyu.kit.errors import Forbidden, NotFound, Unauthorized
from siyu.models import Contact, User

if TYPE_CHECKING:
    from siyu.runtime import Runtime

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def runtime(request: Request) -> Runtime:
    return request.app.state.runtime


def csrf_token(request: Request) -> str:
    token = request.session.get("csrf")
    if not token:
        token = secrets.token_urlsafe(24)
        request.session["csrf"] = token
    return str(token)


def session_token(request: Request) -> str:
    """The console session's token from the signed cookie ('' when not logged in)."""
    return str(request.session.get(sessions.COOKIE_KEY) or "")


@lru_cache(maxsize=32)
def _networks(entries: tuple[str, ...]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(e, strict=False) for e in entries)


def _trusted(address: str, networks: tuple[Network, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in n for n in networks)


def client_address(request: Request) -> str:
    """The client's address: the connection's peer, unless that peer is a trusted proxy — then the right-most
    X-Forwarded-For hop that is not itself a trusted proxy. An untrusted peer cannot choose its address."""
    peer = request.client.host if request.client else ""
    networks = _networks(tuple(runtime(request).settings.trusted_proxies))
    if not networks or not _trusted(peer, networks):
        return peer or "-"
    hops = [h.strip() for value in request.headers.getlist("x-forwarded-for") for h in value.split(",") if h.strip()]
    for hop in reversed(hops):
        if not _trusted(hop, networks):
            return hop
    return hops[0] if hops else peer


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
        user_id, token = request.session.get("user_id"), session_token(request)
        if user_id is not None and token:
            principal = await run_in_threadpool(_user_principal, rt, int(user_id), token)
        if principal is None:
            if user_id is not None:  # a session that was ended (or a cookie from before sessions were stored)
                request.session.clear()
            raise Unauthorized("log in or send an API token", code="not_authenticated")
        if request.method not in SAFE_METHODS:
            await _check_csrf(request)
    request.state.principal = principal
    return principal


def _token_principal(rt: Runtime, token: str) -> auth.Principal | None:
    with rt.tx() as s:
        return auth.principal_for_token(s, token)


def _user_principal(rt: Runtime, user_id: int, token: str) -> auth.Principal | None:
    now = rt.clock.now()
    with rt.tx(write=False) as s:
        row = sessions.lookup(s, token, now=now)
        if row is None or row.user_id != user_id:
            return None
        user = s.get(User, user_id)
        if user is None or not user.active:
            return None
        principal = auth.principal_for_user(user)
        session_id, touch = row.id, sessions.due_for_touch(row, now)
    if touch:
        with rt.tx(write=True) as s:
            sessions.touch(s, session_id, now=now)
    return principal


async def _check_contact_scope(request: Request, p: auth.Principal) -> None:
    """A caller that sees only its own contacts gets 404 for any other contact named in the path."""
    owner = p.contact_owner
    raw = request.path_params.get("contact_id")
    if owner is None or raw is None:
        return
    try:
        contact_id = int(raw)
    except (TypeError, ValueError):
        return
    if not await run_in_threadpool(_owns, runtime(request), p.workspace_id, contact_id, owner):
        raise NotFound(f"no contact {contact_id}", code="contact_not_found")


def _owns(rt: Runtime, ws: int, contact_id: int, owner: int) -> bool:
    with rt.tx(write=False) as s:
        c = s.get(Contact, contact_id)
        return c is not None and c.workspace_id == ws and c.owner_user_id == owner


def require(perm: Perm) -> Callable[[Request], Coroutine[Any, Any, auth.Principal]]:
    async def dependency(request: Request) -> auth.Principal:
        p = await current_principal(request)
        if not allowed(p.role, perm):
            raise Forbidden(f"role {p.role!r} may not do this ({perm.value})", code="forbidden")
        await _check_contact_scope(request, p)
        return p

    dependency.__name__ = f"require_{perm.value}"
    return dependency


def require_any(*perms: Perm) -> Callable[[Request], Coroutine[Any, Any, auth.Principal]]:
    async def dependency(request: Request) -> auth.Principal:
        p = await current_principal(request)
        if not any(allowed(p.role, perm) for perm in perms):
            raise Forbidden(f"role {p.role!r} may not see this", code="forbidden")
        await _check_contact_scope(request, p)
        return p

    return dependency
