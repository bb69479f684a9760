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
from siyu.auth.roles import Perm
from siyu.communities import service as communities
from siyu.communities.schemas import Question
from siyu.console import queries
from siyu.console.render import N_, done, flash, render
from siyu.console.views.common import form_data, integer, text
from siyu.delivery import commands as outbox
from siyu.edge.work import Work, edge_router, work
from siyu.kit.errors import Invalid
from siyu.models import SandboxMember, Workspace
from siyu.sandbox import commands
from siyu.sandbox import service as sandbox

router = edge_router()
#: Routes that open their own units of work (`Work.unit`): a member's act commits before the panel is read, so the
#: panel shows what the commit set off (the welcome, delivered at once when delivery is immediate), and completing
#: an owner task calls the platform with no transaction open.
own_units = APIRouter()


def _group_sig(s: Session, ws: int, member: SandboxMember) -> str:
    """The member's groups as the feed's poll carries them: when they change (a removal carried out by the worker,
    an owner task done), the poll answers with the whole panel, so the group and its post box go at once."""
    return ".".join(str(g.id) for g in sandbox.groups_of(s, ws, member))


def _feed(s: Session, ws: int, member: SandboxMember) -> dict[str, Any]:
    messages = sandbox.feed(s, ws, member)
    groups = queries.groups_by_external(s, ws, {m.group_external_id for m in messages if m.group_external_id})
    return {"member": member, "messages": messages, "feed_groups": groups,
            "nicknames": sandbox.nicknames(s, ws), "last_id": messages[-1].id if messages else 0,
            "group_sig": _group_sig(s, ws, member)}


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


def _group_id(form: FormData) -> int:
    group_id = integer(form, "group_id")
    if group_id is None:
        raise Invalid("pick a group", code="group_missing")
    return group_id


def _panel_page(request: Request, s: Session, ws: int, member_id: int) -> HTMLResponse:
    return render(request, "sandbox/_panel.html", **_panel(s, ws, sandbox.get_member(s, ws, member_id)))


def _panel_after(request: Request, w: Work, member_id: int) -> HTMLResponse:
    """The member's panel, read after their act committed."""
    with w.unit(write=False) as s:
        return _panel_page(request, s, w.ws, member_id)


@router.get("/sandbox", response_class=HTMLResponse)
def sandbox_page(request: Request, w: Work = Depends(work(Perm.READ))) -> HTMLResponse:
    raw = request.query_params.get("member", "")
    s, ws = w.s, w.ws
    selected = sandbox.get_member(s, ws, int(raw)) if raw.isdigit() else None
    workspace = s.get(Workspace, ws)
    panel = _panel(s, ws, selected) if selected is not None else {}
    return render(request, "sandbox/page.html", nav="sandbox", members=sandbox.members(s, ws), selected=selected,
                  mode=workspace.sandbox_mode if workspace else "bot", modes=sandbox.MODES,
                  **panel, **_outbox(s, ws))


@router.post("/sandbox/mode")
def set_mode(request: Request, form: FormData = Depends(form_data), w: Work = Depends(work(Perm.ADMIN))) -> Response:
    commands.set_mode(w, text(form, "mode"))
    flash(request, N_("Sandbox mode changed."))
    return done(request, "/sandbox")


@router.post("/sandbox/members")
def create_member(request: Request, form: FormData = Depends(form_data),
                  w: Work = Depends(work(Perm.WRITE))) -> Response:
    m = commands.create_member(w, text(form, "nickname"))
    return done(request, f"/sandbox?member={m.id}")


@router.get("/sandbox/members/{member_id:int}/panel", response_class=HTMLResponse)
def member_panel(request: Request, member_id: int, w: Work = Depends(work(Perm.READ))) -> HTMLResponse:
    return _panel_page(request, w.s, w.ws, member_id)


@router.get("/sandbox/members/{member_id:int}/feed", response_class=HTMLResponse)
def member_feed(request: Request, member_id: int, after: int | None = None, groups: str | None = None,
                w: Work = Depends(work(Perm.READ))) -> Response:
    """The feed, polled; 204 (nothing to swap) while no message arrived after `after`. When the member's groups are
    no longer the `groups` the page shows, the whole panel instead (retargeted to it)."""
    member = sandbox.get_member(w.s, w.ws, member_id)
    feed = _feed(w.s, w.ws, member)
    if groups is not None and groups != feed["group_sig"]:
        out = _panel_page(request, w.s, w.ws, member_id)
        out.headers["HX-Retarget"] = "#member-panel"
        out.headers["HX-Reswap"] = "innerHTML"
        return out
    if after is not None and feed["last_id"] == after:
        return Response(status_code=204)
    return render(request, "sandbox/_feed.html", **feed)


@own_units.post("/sandbox/members/{member_id:int}/scan", response_class=HTMLResponse)
def scan(request: Request, member_id: int, form: FormData = Depends(form_data),
         w: Work = Depends(work(Perm.WRITE))) -> HTMLResponse:
    state = text(form, "state")
    if not state:
        raise Invalid("pick a channel code to scan", code="state_missing")
    with w.unit():  # its own unit: the panel below is read after the scan commits (see `own_units`)
        commands.scan(w, member_id, state)
    return _panel_after(request, w, member_id)


@own_units.post("/sandbox/members/{member_id:int}/post", response_class=HTMLResponse)
def post(request: Request, member_id: int, form: FormData = Depends(form_data),
         w: Work = Depends(work(Perm.WRITE))) -> HTMLResponse:
    with w.unit():  # its own unit: the panel below is read after the post commits (see `own_units`)
        commands.post(w, member_id, _group_id(form), text(form, "text"))
    return _panel_after(request, w, member_id)


@own_units.post("/sandbox/members/{member_id:int}/leave", response_class=HTMLResponse)
def leave(request: Request, member_id: int, form: FormData = Depends(form_data),
          w: Work = Depends(work(Perm.WRITE))) -> HTMLResponse:
    with w.unit():  # its own unit: the panel below is read after the leave commits (see `own_units`)
        commands.leave(w, member_id, _group_id(form))
    return _panel_after(request, w, member_id)


@own_units.post("/sandbox/members/{member_id:int}/answer", response_class=HTMLResponse)
def answer(request: Request, member_id: int, form: FormData = Depends(form_data),
           w: Work = Depends(work(Perm.WRITE))) -> HTMLResponse:
    community_id = integer(form, "community_id")
    if community_id is None:
        raise Invalid("no community given", code="community_missing")
    with w.unit():  # its own unit: the panel below is read after the answers commit (see `own_units`)
        c = communities.get(w.s, w.ws, community_id)
        choices = ((str(q.get("question", "")), text(form, f"a{i}")) for i, q in enumerate(c.questionnaire))
        commands.answer(w, member_id, c.id, {question: choice for question, choice in choices if choice})
    return _panel_after(request, w, member_id)


@router.get("/sandbox/outbox", response_class=HTMLResponse)
def outbox_fragment(request: Request, w: Work = Depends(work(Perm.READ))) -> HTMLResponse:
    return render(request, "sandbox/_outbox.html", **_outbox(w.s, w.ws))


@own_units.post("/sandbox/tasks/{action_id:int}/done", response_class=HTMLResponse)
def complete_task(request: Request, action_id: int, w: Work = Depends(work(Perm.WRITE))) -> HTMLResponse:
    outbox.complete_task(w, action_id)  # calls the platform outside any unit of work (`delivery/commands`)
    with w.unit(write=False) as s:
        return render(request, "sandbox/_outbox.html", **_outbox(s, w.ws))


router.include_router(own_units)
