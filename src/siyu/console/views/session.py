"""Logging in and out, changing one's own password, and the language switch.

A login starts a server-side session (`auth/sessions.py`) whose token the signed cookie carries; logout ends it,
and a password change ends every other session of the user (a stolen cookie dies with the old password).
"""

from __future__ import annotations

import hmac

from fastapi import Depends, Request
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import FormData

from siyu.auth import commands, sessions
from siyu.auth import service as auth
from siyu.auth.roles import Perm
from siyu.auth.service import Principal
from siyu.auth.web import CSRF_FIELD, client_address, csrf_token, current_principal, runtime, session_token
from siyu.console.render import LANG_COOKIE, N_, flash, render
from siyu.console.views.common import form_data, safe_next, text
from siyu.edge.work import Work, edge_router, work
from siyu.kit import i18n
from siyu.kit.errors import Forbidden, TooManyRequests

router = edge_router()
#: Anyone signed in, whatever their role: every role holds at least one permission.
signed_in = work(*Perm)


@router.get("/login")
def login_form(request: Request, next: str = "/") -> Response:
    return render(request, "login.html", next=safe_next(next), error=None, username="")


@router.post("/login")
def login(request: Request, form: FormData = Depends(form_data)) -> Response:
    expected = request.session.get("csrf")
    sent = text(form, CSRF_FIELD)
    if not expected or not hmac.compare_digest(str(expected), sent):
        raise Forbidden("missing or wrong CSRF token; reload the page and try again", code="csrf_failed")
    username, password = text(form, "username"), str(form.get("password") or "")
    target = safe_next(text(form, "next"))
    rt = runtime(request)
    keys = [f"user:{username.lower()}", f"ip:{client_address(request)}"]
    until = rt.login_throttle.blocked_until(keys, rt.clock.now())
    if until is not None:
        raise TooManyRequests(f"too many failed logins; try again after {until:%H:%M} UTC",
                              code="too_many_attempts")
    # Its own transaction, not a Work: nobody is signed in yet, so there is no principal to hold one.
    with rt.tx() as s:
        user = auth.authenticate(s, username, password)
        if user is not None:
            user_id = user.id
            token = commands.login(s, user, now=rt.clock.now())
    if user is None:
        rt.login_throttle.failed(keys, rt.clock.now())
        return render(request, "login.html", status_code=401, next=target, username=username,
                      error=True)
    rt.login_throttle.succeeded(keys[:1])
    request.session.clear()
    request.session["user_id"] = user_id
    request.session[sessions.COOKIE_KEY] = token
    csrf_token(request)  # a fresh token for the new session
    return RedirectResponse(target, status_code=303)


@router.post("/logout")
def logout(request: Request, w: Work = Depends(signed_in)) -> Response:
    commands.logout(w, session_token(request))
    request.session.clear()  # the cookie is rewritten with the response, after the unit of work committed
    return RedirectResponse("/login", status_code=303)


@router.get("/account/password")
def password_form(request: Request, who: Principal = Depends(current_principal)) -> Response:
    return render(request, "account/password.html", nav="account", error=None)


@router.post("/account/password")
def change_password(request: Request, form: FormData = Depends(form_data), w: Work = Depends(signed_in)) -> Response:
    """Change one's own password: the current one is asked for (a borrowed unlocked screen is not enough) and
    wrong guesses count towards the login throttle; all the user's other sessions end."""
    who = w.who
    if who.kind != "user":
        raise Forbidden("only a console user has a password", code="forbidden")
    current, new, again = (str(form.get(k) or "") for k in ("current", "password", "confirm"))
    rt = w.rt
    keys = [f"user:{who.name.lower()}"]
    until = rt.login_throttle.blocked_until(keys, w.now)
    if until is not None:
        raise TooManyRequests(f"too many failed attempts; try again after {until:%H:%M} UTC",
                              code="too_many_attempts")
    error: str | None = None
    if new != again:
        error = N_("The two new passwords differ.")
    elif len(new) < 8 or len(new) > 200:
        error = N_("A password needs 8 to 200 characters.")
    elif not commands.change_password(w, current, new, keep_session=session_token(request)):
        error = N_("The current password is wrong.")
        rt.login_throttle.failed(keys, w.now)  # a wrong current password is a guess like a failed login
    if error is not None:
        return render(request, "account/password.html", status_code=422, nav="account", error=error)
    flash(request, N_("Password changed. You were logged out everywhere else."))
    return RedirectResponse("/account/password", status_code=303)


@router.get("/lang/{locale}")
def switch_language(request: Request, locale: str, next: str = "/") -> Response:
    resp = RedirectResponse(safe_next(next), status_code=303)
    if locale in i18n.LOCALES:
        resp.set_cookie(LANG_COOKIE, locale, max_age=365 * 24 * 3600, samesite="lax", httponly=True)
    return resp
