"""Console pages: the FAQ library (C8) — suggestions for staff with one-click send, a dry run, entries, quick
replies and the answering settings."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from starlette.datastructures import FormData

from siyu.auth import service as auth
from siyu.auth.roles import Perm
from siyu.auth.service import Principal
from siyu.auth.web import require, runtime
from siyu.communities import service as communities
from siyu.console import queries
from siyu.console.render import N_, done, flash, render
from siyu.console.views.common import form_data, integer, lines, options, parse, text
from siyu.engagement.faq import service
from siyu.engagement.faq.schemas import Config, EntryIn, EntryPatch, QuickReplyIn

router = APIRouter()


@router.get("/faq", response_class=HTMLResponse)
def faq_page(request: Request, q: str = "", who: Principal = Depends(require(Perm.READ))) -> HTMLResponse:
    ws = who.workspace_id
    with runtime(request).tx() as s:
        suggestions = service.suggestions(s, ws)
        entries = service.entries(s, ws)
        community_list = communities.list_all(s, ws)
        trial = service.match(s, ws, q[:2000]) if q.strip() else None
        names = queries.group_names(s, {x.group_id for x in suggestions if x.group_id})
        return render(request, "faq/page.html", nav="faq", suggestions=suggestions, entries=entries,
                      quick_replies=service.quick_replies(s, ws), config=service.config(s, ws),
                      communities={c.id: c.name for c in community_list}, q=q, trial=trial, group_names=names)


def _entry_data(form: FormData) -> dict[str, Any]:
    return {"question": text(form, "question"), "answer": text(form, "answer"),
            "variants": lines(text(form, "variants")), "keywords": options(text(form, "keywords")),
            "community_id": integer(form, "community_id")}


@router.post("/faq/entries")
def create_entry(request: Request, form: FormData = Depends(form_data),
                 who: Principal = Depends(require(Perm.WRITE))) -> Response:
    body = parse(EntryIn, _entry_data(form))
    rt = runtime(request)
    with rt.tx() as s:
        e = service.create_entry(s, who.workspace_id, body, now=rt.clock.now())
        auth.audit(s, who, "faq.entry.create", "faq_entry", e.id, {"question": e.question[:100]}, now=rt.clock.now())
    flash(request, N_("FAQ entry added."))
    return done(request, "/faq#entries")


@router.post("/faq/entries/{entry_id:int}/toggle")
def toggle_entry(request: Request, entry_id: int, who: Principal = Depends(require(Perm.WRITE))) -> Response:
    rt = runtime(request)
    with rt.tx() as s:
        e = service.get_entry(s, who.workspace_id, entry_id)
        service.update_entry(s, who.workspace_id, entry_id, EntryPatch(active=not e.active))
        auth.audit(s, who, "faq.entry.update", "faq_entry", entry_id, {"active": e.active}, now=rt.clock.now())
    return done(request, "/faq#entries")


@router.post("/faq/entries/{entry_id:int}/delete")
def delete_entry(request: Request, entry_id: int, who: Principal = Depends(require(Perm.WRITE))) -> Response:
    rt = runtime(request)
    with rt.tx() as s:
        service.delete_entry(s, who.workspace_id, entry_id)
        auth.audit(s, who, "faq.entry.delete", "faq_entry", entry_id, now=rt.clock.now())
    flash(request, N_("FAQ entry deleted."))
    return done(request, "/faq#entries")


@router.post("/faq/suggestions/{event_id:int}/send")
def send_suggestion(request: Request, event_id: int, who: Principal = Depends(require(Perm.WRITE))) -> Response:
    rt = runtime(request)
    with rt.tx() as s:
        action_id = service.send_suggestion(s, who.workspace_id, event_id, by=who.actor, now=rt.clock.now())
        auth.audit(s, who, "faq.suggestion.send", "event", event_id, {"action_id": action_id}, now=rt.clock.now())
    flash(request, N_("Answer sent to the group."))
    return done(request, "/faq")


@router.post("/faq/quick-replies")
def create_quick_reply(request: Request, form: FormData = Depends(form_data),
                       who: Principal = Depends(require(Perm.WRITE))) -> Response:
    body = parse(QuickReplyIn, {"title": text(form, "title"), "text": text(form, "text")})
    rt = runtime(request)
    with rt.tx() as s:
        r = service.create_quick_reply(s, who.workspace_id, body, now=rt.clock.now())
        auth.audit(s, who, "faq.quick_reply.create", "quick_reply", r.id, {"title": r.title}, now=rt.clock.now())
    flash(request, N_("Quick reply added."))
    return done(request, "/faq#quick-replies")


@router.post("/faq/quick-replies/{reply_id:int}/delete")
def delete_quick_reply(request: Request, reply_id: int, who: Principal = Depends(require(Perm.WRITE))) -> Response:
    rt = runtime(request)
    with rt.tx() as s:
        service.delete_quick_reply(s, who.workspace_id, reply_id)
        auth.audit(s, who, "faq.quick_reply.delete", "quick_reply", reply_id, now=rt.clock.now())
    return done(request, "/faq#quick-replies")


@router.post("/faq/settings")
def save_settings(request: Request, form: FormData = Depends(form_data),
                  who: Principal = Depends(require(Perm.WRITE))) -> Response:
    raw = {"enabled": text(form, "enabled") == "on", "threshold": text(form, "threshold") or None,
           "suggest_threshold": text(form, "suggest_threshold") or None,
           "rate_per_minute": integer(form, "rate_per_minute")}
    body = parse(Config, {k: v for k, v in raw.items() if v is not None})
    rt = runtime(request)
    with rt.tx() as s:
        service.set_config(s, who.workspace_id, body)
        auth.audit(s, who, "faq.settings", "workspace", who.workspace_id, body.model_dump(mode="json"),
                   now=rt.clock.now())
    flash(request, N_("FAQ settings saved."))
    return done(request, "/faq#settings")
