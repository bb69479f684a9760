"""Template rendering for the console: one Jinja2 environment per locale, autoescaped, with gettext installed.

Everything members write (nicknames, messages, answers) reaches the page through autoescape only; chart data goes
through `|tojson`. Domain errors on HTML pages become a friendly page, or an inline alert for HTMX requests.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import escape

from siyu.auth.roles import Perm, allowed
from siyu.auth.web import csrf_token, runtime
from siyu.console import labels
from siyu.kit import i18n
from siyu.kit.errors import SiyuError
from siyu.kit.static_assets import versioned_url

TEMPLATES = Path(__file__).resolve().parent / "templates"
STATIC = Path(__file__).resolve().parent / "static"
LANG_COOKIE = "siyu_lang"
FLASH_KEY = "flash"


def N_(message: str) -> str:
    """Mark a string for extraction whose translation happens later, in the template."""
    return message


@cache
def environment(locale: str) -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(default=True, default_for_string=True),
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.install_gettext_translations(i18n.translations(locale), newstyle=True)  # type: ignore[attr-defined]
    env.globals["Perm"] = Perm
    env.globals["labels"] = labels.of(locale)  # codes → what a person reads (console/labels.py)
    # `{{ static("console.css") }}` → /static/console.css?v=<digest>: cached for a year, busted by a change
    env.globals["static"] = lambda name: versioned_url(STATIC, "/static", name)
    env.globals["submission_key"] = lambda: secrets.token_hex(16)  # a form's one-time key (edge/submissions)
    env.policies["json.dumps_kwargs"] = {"sort_keys": True, "ensure_ascii": False}
    return env


def locale_of(request: Request) -> str:
    cached = getattr(request.state, "locale", None)
    if isinstance(cached, str):
        return cached
    locale = i18n.negotiate(request.headers.get("accept-language"), request.cookies.get(LANG_COOKIE))
    request.state.locale = locale
    return locale


def gettext(request: Request, message: str) -> str:
    return str(i18n.translations(locale_of(request)).ugettext(message))


@cache
def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("Asia/Shanghai")


def zone(request: Request) -> ZoneInfo:
    return _zone(runtime(request).settings.timezone)


def is_htmx(request: Request) -> bool:
    return request.headers.get("hx-request") == "true"


def flash(request: Request, message: str, kind: str = "ok") -> None:
    """Queue a message (an English msgid, translated when shown) for the next page."""
    items = list(request.session.get(FLASH_KEY, []))
    items.append([kind, message])
    request.session[FLASH_KEY] = items[-5:]


def _pop_flash(request: Request) -> list[tuple[str, str]]:
    items = request.session.pop(FLASH_KEY, []) if "session" in request.scope else []
    return [(str(k), str(m)) for k, m in items]


def context(request: Request, extra: dict[str, Any]) -> dict[str, Any]:
    tz = zone(request)
    principal = getattr(request.state, "principal", None)
    role = principal.role if principal is not None else ""

    def fmt_dt(value: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
        if value is None:
            return ""
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.astimezone(tz).strftime(fmt)

    def can(perm: str) -> bool:
        return bool(role) and allowed(role, Perm(perm))

    base: dict[str, Any] = {
        "request": request,
        "principal": principal,
        "role": role,
        "can": can,
        "dt": fmt_dt,
        "tz_name": tz.key,
        "locale": locale_of(request),
        "csrf": csrf_token(request) if "session" in request.scope else "",
        "path": request.url.path,
        "here": request.url.path + (f"?{request.url.query}" if request.url.query else ""),
        "flashes": _pop_flash(request),
        "nav": extra.pop("nav", ""),
    }
    base.update(extra)
    return base


def render(request: Request, template: str, status_code: int = 200, **extra: Any) -> HTMLResponse:
    env = environment(locale_of(request))
    html = env.get_template(template).render(context(request, extra))
    return HTMLResponse(html, status_code=status_code)


def done(request: Request, url: str) -> Response:
    """After a successful form post: HTMX navigates with HX-Redirect, a plain form gets a 303.

    Back to the page the form is on (`/communities/3#roles` from `/communities/3`), HX-Redirect would only move to
    the anchor without loading the page, so the change would not show: HTMX reloads the page instead."""
    if is_htmx(request):
        here, there = urlsplit(request.headers.get("hx-current-url", "")), urlsplit(url)
        if (here.path, here.query) == (there.path, there.query):
            return Response(status_code=204, headers={"HX-Refresh": "true"})
        return Response(status_code=204, headers={"HX-Redirect": url})
    return RedirectResponse(url, status_code=303)


def error_page(request: Request, exc: SiyuError) -> HTMLResponse:
    """A domain error as a person reads it: translated by its machine code (console/labels.py), the failing
    fields of a form each named; the English message and the code stay in the API's JSON (and in `data-code`
    on the page, for support and tests), never in the text."""
    principal = getattr(request.state, "principal", None)
    lb = labels.of(locale_of(request))
    message = lb.error(exc.code, exc.message, exc.detail, status=exc.status,
                       role=principal.role if principal is not None else "")
    fields = lb.field_errors(exc.detail, exc.message) if exc.code in ("validation_error", "invalid_sop_item") else []
    extra = {"error": exc, "message": message, "fields": fields, "title": lb.error_title(exc.status)}
    if is_htmx(request):
        resp = render(request, "_error.html", status_code=exc.status, **extra)
        resp.headers["HX-Retarget"] = "#flash"
        resp.headers["HX-Reswap"] = "innerHTML show:window:top"
        return resp
    return render(request, "error.html", status_code=exc.status, **extra)


ALREADY_DONE = N_("This form was sent twice; what it asked for was done once.")


def already_done(request: Request, location: str | None) -> Response:
    """The second submission of one form: nothing was done again; land where the first one led."""
    if is_htmx(request):
        html = f'<div class="alert ok" role="status">{escape(gettext(request, ALREADY_DONE))}</div>'
        return HTMLResponse(html, headers={"HX-Retarget": "#flash", "HX-Reswap": "innerHTML show:window:top"})
    flash(request, ALREADY_DONE)
    referer = urlsplit(request.headers.get("referer", ""))
    back = referer.path + (f"?{referer.query}" if referer.query else "") if referer.path else "/"
    target = location or back
    return RedirectResponse(target if target.startswith("/") and not target.startswith("//") else "/", status_code=303)
