"""The member-facing pages of channel codes: `/c/<state>`, what a code's QR opens on a phone (`landing.py`).

Public: nobody is signed in, so there is no `Work`; each request opens its own transaction (a read for the page,
one write for a join or an answer), like the share-link page, and is listed among the routes that are not a
console unit of work (`tests/api/test_unit_of_work.py`). A form posts back to the page (303, then a GET), so a
reload never joins twice; the forms carry the session's CSRF token, so another site cannot make a phone join.
"""

from __future__ import annotations

import hmac
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import FormData

from siyu.acquisition import landing
from siyu.auth.web import CSRF_FIELD, csrf_token, runtime
from siyu.console import member
from siyu.console.views.common import form_data, text
from siyu.kit.errors import Invalid, SiyuError
from siyu.models import Workspace

router = APIRouter(include_in_schema=False)


def _csrf_ok(request: Request, form: FormData) -> bool:
    expected = str(request.session.get("csrf") or "")
    given = text(form, CSRF_FIELD)
    return bool(expected) and hmac.compare_digest(expected.encode(), given.encode())


def _default_locale(request: Request) -> str:
    """The language of a page shown before the code (and so its workspace) is known."""
    return member.locale_for(request, None)


def _landing_page(request: Request, state: str, *, status_code: int = 200, **extra: Any) -> Response:
    rt = runtime(request)
    with rt.read() as s:
        try:
            code = landing.usable(s, state)
        except SiyuError as exc:
            workspace = None
            if exc.code == "channel_code_inactive":
                workspace = s.get(Workspace, landing.find(s, state).workspace_id)
            return member.problem_for(request, exc, locale=member.locale_for(request, workspace))
        view = landing.view(s, rt.connectors, code)
        locale = member.locale_for(request, view.workspace)
        who = landing.member(s, code.workspace_id, member.remembered(request, code.workspace_id))
        stay = landing.stay(s, code, who) if who is not None else None
        return member.page(request, "member/landing.html", locale=locale, status_code=status_code, view=view,
                           who=who, stay=stay, csrf=csrf_token(request), **extra)


@router.get("/c/{state}")
def code_page(request: Request, state: str) -> Response:
    """The landing page: the community, what it offers and the way to join (or the member's stay and welcome)."""
    return _landing_page(request, state)


@router.post("/c/{state}/join")
def join(request: Request, state: str, form: FormData = Depends(form_data)) -> Response:
    """Join through the code as a sandbox member: the remembered one, or a new one with the name typed in."""
    rt = runtime(request)
    if not _csrf_ok(request, form):
        return member.problem(request, "expired", status=403, locale=_default_locale(request))
    nickname = text(form, "nickname")
    try:
        with rt.tx(write=True) as s:
            code = landing.usable(s, state)
            view = landing.view(s, rt.connectors, code)
            if view.way != "sandbox":  # a real platform's members join through the platform, not this form
                raise Invalid("join through the platform's own link", code="join_elsewhere", status=409)
            who = None if text(form, "new") == "1" else \
                landing.member(s, code.workspace_id, member.remembered(request, code.workspace_id))
            if who is None and len(nickname) > 100:
                raise Invalid("a name has at most 100 characters", code="invalid_nickname")
            who, _ = landing.join(s, rt.connectors, code, who, nickname, now=rt.clock.now())
            workspace_id, member_id = code.workspace_id, who.id
    except Invalid as exc:
        if exc.code in ("nickname_missing", "invalid_nickname"):
            return _landing_page(request, state, status_code=422, error=exc.code, nickname=nickname)
        return _problem(request, state, exc)
    except SiyuError as exc:
        return _problem(request, state, exc)
    resp = RedirectResponse(f"/c/{state}", status_code=303)
    member.remember(request, resp, workspace_id, member_id)
    return resp


@router.post("/c/{state}/answer")
def answer(request: Request, state: str, form: FormData = Depends(form_data)) -> Response:
    """The remembered member answers the community's questionnaire; the answers become their tags."""
    rt = runtime(request)
    if not _csrf_ok(request, form):
        return member.problem(request, "expired", status=403, locale=_default_locale(request))
    try:
        with rt.tx(write=True) as s:
            code = landing.usable(s, state)
            who = landing.member(s, code.workspace_id, member.remembered(request, code.workspace_id))
            if who is None:
                return RedirectResponse(f"/c/{state}", status_code=303)
            questions = landing.view(s, rt.connectors, code).questions
            choices = {q.question: text(form, f"a{i}") for i, q in enumerate(questions)}
            landing.answer(s, code, who, {q: c for q, c in choices.items() if c}, now=rt.clock.now())
    except Invalid as exc:
        if exc.code in ("no_answers", "invalid_option", "unknown_question"):
            return _landing_page(request, state, status_code=422, answer_error=True)
        return _problem(request, state, exc)
    except SiyuError as exc:
        return _problem(request, state, exc)
    return RedirectResponse(f"/c/{state}#answers", status_code=303)


def _problem(request: Request, state: str, exc: SiyuError) -> Response:
    """A domain error met while joining or answering, in the language of the code's workspace."""
    with runtime(request).read() as s:
        try:
            workspace = s.get(Workspace, landing.find(s, state).workspace_id)
        except SiyuError:
            workspace = None
        return member.problem_for(request, exc, locale=member.locale_for(request, workspace), state=state)
