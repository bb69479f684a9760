"""Pages for members rather than operators: what a channel code's QR opens (`/c/<state>`), a share link's page
(`/s/<token>`), and the not-found page a visitor without a console session gets.

A member is not logged in, has no console and reads the page on a phone, often inside WeChat. So these pages have
no console chrome and no login, are styled for a 390 px screen (`templates/member/base.html` carries its own
small stylesheet), never answer JSON, and speak the workspace's language: its `locale` setting, else siyu's
default (`SIYU_DEFAULT_LOCALE`), unless the phone's Accept-Language asks for one of the console's two languages.
A problem (an unknown or switched-off code, a full community) is a friendly page with the HTTP status that says
what happened (404, 410, 409, …) and no machine code.

The sandbox member a phone joined as is remembered in a signed cookie (`siyu_member`), so scanning again, or
another code, continues as the same person.
"""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, Response
from itsdangerous import BadSignature, URLSafeSerializer

from siyu.auth.web import runtime
from siyu.console.render import environment
from siyu.kit import i18n
from siyu.kit.errors import SiyuError
from siyu.models import Workspace

MEMBER_COOKIE = "siyu_member"
MEMBER_COOKIE_AGE = 365 * 24 * 3600
#: What each kind of problem says: (title, explanation), English msgids translated in the template.
PROBLEMS: dict[str, tuple[str, str]] = {
    "code_unknown": ("This code does not lead anywhere",
                     "The QR code may be mistyped or out of date. Ask whoever shared it for a new one."),
    "code_off": ("This code is no longer in use",
                 "The community stopped taking members through this code. Ask whoever shared it for a new one."),
    "full": ("The groups are full right now",
             "Every group of this community is full. Please try again later or ask whoever shared the code."),
    "blacklisted": ("You cannot join this community",
                    "Joining through this code is not possible for your account. Contact the community's staff."),
    "link_unknown": ("This link does not work",
                     "The share link may be incomplete or out of date. Ask your friend to send it again."),
    "elsewhere": ("Join in the chat app",
                  "Open this code with the app the community uses (WeChat or WeCom): scan it there to join."),
    "not_found": ("Page not found", "Nothing lives at this address. Check the link, or scan the code again."),
    "expired": ("This page has expired", "Reload the page and try again."),
    "error": ("Something went wrong", "Please try again in a moment."),
}
#: Domain error codes a member page may meet → the problem it shows.
ERROR_PROBLEMS = {
    "channel_code_not_found": "code_unknown",
    "channel_code_inactive": "code_off",
    "no_group_with_room": "full",
    "group_full": "full",
    "group_not_active": "full",
    "blacklisted": "blacklisted",
    "share_link_not_found": "link_unknown",
    "join_elsewhere": "elsewhere",
}


def _preferred(accept_language: str | None) -> str | None:
    """The console language the browser ranks highest (q-values respected), or None if it names neither."""
    ranked: list[tuple[float, int, str]] = []
    for i, part in enumerate((accept_language or "").split(",")):
        tag, _, params = part.strip().partition(";")
        q = 1.0
        if params.strip().startswith("q="):
            try:
                q = float(params.strip()[2:])
            except ValueError:
                q = 0.0
        tag = tag.strip().lower()
        locale = "zh_CN" if tag.startswith("zh") else "en" if tag.startswith("en") else None
        if locale and q > 0:
            ranked.append((-q, i, locale))
    return min(ranked)[2] if ranked else None


def workspace_locale(request: Request, workspace: Workspace | None) -> str:
    """The workspace's language: its `locale` setting, else siyu's configured default."""
    chosen = str((workspace.settings or {}).get("locale") or "") if workspace is not None else ""
    if chosen not in i18n.LOCALES:
        chosen = runtime(request).settings.default_locale
    return chosen if chosen in i18n.LOCALES else i18n.DEFAULT_LOCALE


def locale_for(request: Request, workspace: Workspace | None) -> str:
    """The page's language: Accept-Language picks between the two, else the workspace's."""
    locale = _preferred(request.headers.get("accept-language")) or workspace_locale(request, workspace)
    request.state.locale = locale  # anything rendered later in this request speaks the same language
    return locale


def page(request: Request, template: str, *, locale: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    """A member page: the template rendered in `locale`, never cached (it shows this visitor's own state)."""
    html = environment(locale).get_template(template).render(
        {"request": request, "locale": locale, "lang": "zh-CN" if locale == "zh_CN" else "en", **context})
    return HTMLResponse(html, status_code=status_code, headers={"Cache-Control": "no-store"})


def problem(request: Request, kind: str, *, status: int, locale: str, **context: Any) -> HTMLResponse:
    title, text = PROBLEMS.get(kind, PROBLEMS["error"])
    return page(request, "member/problem.html", locale=locale, status_code=status, title=title, text=text,
                kind=kind, **context)


def problem_for(request: Request, exc: SiyuError, *, locale: str, **context: Any) -> HTMLResponse:
    """A domain error met on a member page, as the page a member understands (no machine code shown)."""
    kind = ERROR_PROBLEMS.get(exc.code, "not_found" if exc.status == 404 else "error")
    return problem(request, kind, status=exc.status, locale=locale, **context)


def not_found(request: Request) -> HTMLResponse:
    """The unknown-URL page of a visitor who is not in the console (a mistyped or truncated member link)."""
    from siyu.runtime import DEFAULT_WORKSPACE

    with runtime(request).read() as s:
        workspace = s.get(Workspace, DEFAULT_WORKSPACE)
        locale = locale_for(request, workspace)
    return problem(request, "not_found", status=404, locale=locale)


def _signer(request: Request) -> URLSafeSerializer:
    return URLSafeSerializer(runtime(request).settings.secret_key.get_secret_value(), salt="siyu-sandbox-member")


def remembered(request: Request, workspace_id: int) -> int | None:
    """The sandbox member this phone joined as in the workspace, from the signed cookie (None if absent,
    tampered with, or of another workspace)."""
    raw = request.cookies.get(MEMBER_COOKIE)
    if not raw:
        return None
    try:
        data = _signer(request).loads(raw)
    except BadSignature:
        return None
    if not isinstance(data, dict) or data.get("ws") != workspace_id or not isinstance(data.get("m"), int):
        return None
    return int(data["m"])


def remember(request: Request, response: Response, workspace_id: int, member_id: int) -> None:
    response.set_cookie(MEMBER_COOKIE, _signer(request).dumps({"ws": workspace_id, "m": member_id}),
                        max_age=MEMBER_COOKIE_AGE, httponly=True, samesite="lax",
                        secure=runtime(request).settings.base_url.startswith("https"))
