"""The sandbox: act as a member (scan a code, read the feed, post, leave, answer the questionnaire) and as the
owner (open tasks), and watch the outbox deliver. Delivery is asynchronous under `siyu serve`, so the feed and the
outbox poll."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from siyu.acquisition import service as acquisition
from siyu.auth import service as auth
from siyu.auth.roles import Perm
from siyu.auth.service import Principal
from siyu.auth.web import require, runtime
from siyu.communities import service as communities
from siyu.communities.schemas import Question
from siyu.console import queries
from siyu.console.render import N_, done, flash, render
from siyu.console.views.common import form_data, integer, text
from siyu.delivery import service as outbox
from siyu.engagement import welcome
from siyu.kit.errors import Invalid
from siyu.models import Group, SandboxMember, Workspace
from siyu.sandbox import service as sandbox

router = APIRouter()


def _feed(s: Session, ws: int, member: SandboxMember) -> dict[str, Any]:
    messages = sandbox.feed(s, ws, member)
    groups = queries.groups_by_external(s, ws, {m.group_external_id for m in messages if m.group_external_id})
    return {"member": member, "messages": messages, "feed_groups": groups,
            "nicknames": sandbox.nicknames(s, ws), "last_id": messages[-1].id if messages else 0}


def _panel(s: Session, ws: int, member: SandboxMember) -> dict[str, Any]:
    groups = sandbox.groups_of(s, ws, member)
    questionnaires = []
    seen: set[int] = set()
    for g in groups:
        if g.community_id is None or g.community_id in seen:
            continue
        seen.add(g.community_id)
        c = communities.get(s, ws, g.community_id)
        if c.questionnaire:
            questionnaires.append((c, [Question.model_validate(q) for q in c.questionnaire]))
    codes = [c for c in acquisition.list_all(s, ws) if c.active]
    return {**_feed(s, ws, member), "groups": groups, "codes": codes, "questionnaires": questionnaires,
            "contact_id": queries.contact_of_identity(s, ws, sandbox.PLATFORM, member.external_id),
            "community_names": queries.community_names(s, ws)}


def _outbox(s: Session, ws: int) -> dict[str, Any]:
    actions = queries.recent_actions(s, ws, limit=20)
    tasks = sandbox.open_tasks(s, ws)
    ids = {a.group_id for a in actions + tasks if a.group_id}
    contact_ids = {a.contact_id for a in actions + tasks if a.contact_id}
    return {"actions": actions, "tasks": tasks, "group_names": queries.group_names(s, ids),
            "contact_names": queries.contact_names(s, contact_ids)}


def _member_and_group(s: Session, ws: int, member_id: int, form: FormData) -> tuple[SandboxMember, Group]:
    group_id = integer(form, "group_id")
    if group_id is None:
        raise Invalid("pick a group", code="group_missing")
    return sandbox.get_member(s, ws, member_id), communities.get_group(s, ws, group_id)


def _panel_response(request: Request, who: Principal, member_id: int) -> HTMLResponse:
    with runtime(request).tx() as s:
        m = sandbox.get_member(s, who.workspace_id, member_id)
        return render(request, "sandbox/_panel.html", **_panel(s, who.workspace_id, m))


@router.get("/sandbox", response_class=HTMLResponse)
def sandbox_page(request: Request, who: Principal = Depends(require(Perm.READ))) -> HTMLResponse:
    raw = request.query_params.get("member", "")
    with runtime(request).tx() as s:
        members = sandbox.members(s, who.workspace_id)
        selected = None
        if raw.isdigit():
            selected = sandbox.get_member(s, who.workspace_id, int(raw))
        ws = s.get(Workspace, who.workspace_id)
        panel = _panel(s, who.workspace_id, selected) if selected is not None else {}
        return render(request, "sandbox/page.html", nav="sandbox", members=members, selected=selected,
                      mode=ws.sandbox_mode if ws else "bot", modes=sandbox.MODES,
                      **panel, **_outbox(s, who.workspace_id))


@router.post("/sandbox/mode")
def set_mode(request: Request, form: FormData = Depends(form_data),
             who: Principal = Depends(require(Perm.ADMIN))) -> Response:
    mode = text(form, "mode")
    rt = runtime(request)
    with rt.tx() as s:
        sandbox.set_mode(s, who.workspace_id, mode)
        auth.audit(s, who, "sandbox.mode", "workspace", who.workspace_id, {"mode": mode}, now=rt.clock.now())
    flash(request, N_("Sandbox mode changed."))
    return done(request, "/sandbox")


@router.post("/sandbox/members")
def create_member(request: Request, form: FormData = Depends(form_data),
                  who: Principal = Depends(require(Perm.WRITE))) -> Response:
    rt = runtime(request)
    with rt.tx() as s:
        m = sandbox.create_member(s, who.workspace_id, text(form, "nickname"), now=rt.clock.now())
        auth.audit(s, who, "sandbox.member_create", "sandbox_member", m.id, now=rt.clock.now())
        member_id = m.id
    return done(request, f"/sandbox?member={member_id}")


@router.get("/sandbox/members/{member_id:int}/panel", response_class=HTMLResponse)
def member_panel(request: Request, member_id: int, who: Principal = Depends(require(Perm.READ))) -> HTMLResponse:
    return _panel_response(request, who, member_id)


@router.get("/sandbox/members/{member_id:int}/feed", response_class=HTMLResponse)
def member_feed(request: Request, member_id: int, after: int | None = None,
                who: Principal = Depends(require(Perm.READ))) -> Response:
    """The feed, polled; 204 (nothing to swap) while no message arrived after `after`."""
    with runtime(request).tx() as s:
        m = sandbox.get_member(s, who.workspace_id, member_id)
        feed = _feed(s, who.workspace_id, m)
        if after is not None and feed["last_id"] == after:
            return Response(status_code=204)
        return render(request, "sandbox/_feed.html", **feed)


@router.post("/sandbox/members/{member_id:int}/scan", response_class=HTMLResponse)
def scan(request: Request, member_id: int, form: FormData = Depends(form_data),
         who: Principal = Depends(require(Perm.WRITE))) -> HTMLResponse:
    state = text(form, "state")
    if not state:
        raise Invalid("pick a channel code to scan", code="state_missing")
    rt = runtime(request)
    with rt.tx() as s:
        m = sandbox.get_member(s, who.workspace_id, member_id)
        r = sandbox.scan(s, rt.connectors, who.workspace_id, m, state, now=rt.clock.now())
        auth.audit(s, who, "sandbox.scan", "sandbox_member", m.id, {"state": state, "group_id": r.group_id},
                   now=rt.clock.now())
    return _panel_response(request, who, member_id)


@router.post("/sandbox/members/{member_id:int}/post", response_class=HTMLResponse)
def post(request: Request, member_id: int, form: FormData = Depends(form_data),
         who: Principal = Depends(require(Perm.WRITE))) -> HTMLResponse:
    rt = runtime(request)
    with rt.tx() as s:
        m, g = _member_and_group(s, who.workspace_id, member_id, form)
        msg = sandbox.post(s, who.workspace_id, m, g, text(form, "text"), now=rt.clock.now())
        auth.audit(s, who, "sandbox.post", "sandbox_member", m.id, {"group_id": g.id, "message_id": msg.id},
                   now=rt.clock.now())
    return _panel_response(request, who, member_id)


@router.post("/sandbox/members/{member_id:int}/leave", response_class=HTMLResponse)
def leave(request: Request, member_id: int, form: FormData = Depends(form_data),
          who: Principal = Depends(require(Perm.WRITE))) -> HTMLResponse:
    rt = runtime(request)
    with rt.tx() as s:
        m, g = _member_and_group(s, who.workspace_id, member_id, form)
        sandbox.leave(s, who.workspace_id, m, g, now=rt.clock.now())
        auth.audit(s, who, "sandbox.leave", "sandbox_member", m.id, {"group_id": g.id}, now=rt.clock.now())
    return _panel_response(request, who, member_id)


@router.post("/sandbox/members/{member_id:int}/answer", response_class=HTMLResponse)
def answer(request: Request, member_id: int, form: FormData = Depends(form_data),
           who: Principal = Depends(require(Perm.WRITE))) -> HTMLResponse:
    community_id = integer(form, "community_id")
    if community_id is None:
        raise Invalid("no community given", code="community_missing")
    rt = runtime(request)
    with rt.tx() as s:
        m = sandbox.get_member(s, who.workspace_id, member_id)
        c = communities.get(s, who.workspace_id, community_id)
        answers: dict[str, str] = {}
        for i, q in enumerate(c.questionnaire):
            choice = text(form, f"a{i}")
            if choice:
                answers[str(q.get("question", ""))] = choice
        if not answers:
            raise Invalid("choose at least one answer", code="no_answers")
        contact_id = queries.contact_of_identity(s, who.workspace_id, sandbox.PLATFORM, m.external_id)
        if contact_id is None:
            raise Invalid("scan a code or join a group first", code="not_a_contact")
        added = welcome.answer(s, who.workspace_id, c.id, contact_id, answers, now=rt.clock.now())
        auth.audit(s, who, "sandbox.answer", "contact", contact_id, {"community_id": c.id, "tags_added": added},
                   now=rt.clock.now())
    return _panel_response(request, who, member_id)


@router.get("/sandbox/outbox", response_class=HTMLResponse)
def outbox_fragment(request: Request, who: Principal = Depends(require(Perm.READ))) -> HTMLResponse:
    with runtime(request).tx() as s:
        return render(request, "sandbox/_outbox.html", **_outbox(s, who.workspace_id))


@router.post("/sandbox/tasks/{action_id:int}/done", response_class=HTMLResponse)
def complete_task(request: Request, action_id: int, who: Principal = Depends(require(Perm.WRITE))) -> HTMLResponse:
    rt = runtime(request)
    a = outbox.complete_task(rt.sessions, rt.connectors, who.workspace_id, action_id, rt.clock.now())
    with rt.tx() as s:
        auth.audit(s, who, "action.complete", "action", a.id, now=rt.clock.now())
    with rt.tx() as s:
        return render(request, "sandbox/_outbox.html", **_outbox(s, who.workspace_id))
