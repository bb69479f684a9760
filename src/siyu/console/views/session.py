"""Logging in and out, and the language switch."""

from __future__ import annotations

import hmac

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import FormData

from siyu.auth import service as auth
from siyu.auth.service import Principal
from siyu.console.render import LANG_COOKIE, render
from siyu.console.views.common import form_data, safe_next, text
from siyu.kit import i18n
from siyu.kit.errors import Forbidden, TooManyRequests
from siyu.kit.web import CSRF_FIELD, csrf_token, current_principal, runtime

router = APIRouter()


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
    keys = [f"user:{username.lower()}", f"ip:{request.client.host if request.client else '-'}"]
    until = rt.login_throttle.blocked_until(keys, rt.clock.now())
    if until is not None:
        raise TooManyRequests(f"too many failed logins; try again after {until:%H:%M} UTC",
                              code="too_many_attempts")
    with rt.tx() as s:
        user = auth.authenticate(s, username, password)
        if user is not None:
            who = auth.principal_for_user(user)
            auth.audit(s, who, "user.login", "user", user.id, now=rt.clock.now())
            user_id = user.id
    if user is None:
        rt.login_throttle.failed(keys, rt.clock.now())
        return render(request, "login.html", status_code=401, next=target, username=username,
                      error=True)
    rt.login_throttle.succeeded(keys[:1])
    request.session.clear()
    request.session["user_id"] = user_id
    csrf_token(request)  # a fresh token for the new session
    return RedirectResponse(target, status_code=303)


@router.post("/logout")
def logout(request: Request, who: Principal = Depends(current_principal)) -> Response:
    request.session.clear()
    return RedirectResponse("/login", status_code=303)


@router.get("/lang/{locale}")
def switch_language(request: Request, locale: str, next: str = "/") -> Response:
    resp = RedirectResponse(safe_next(next), status_code=303)
    if locale in i18n.LOCALES:
        resp.set_cookie(LANG_COOKIE, locale, max_age=365 * 24 * 3600, samesite="lax", httponly=True)
    return resp
