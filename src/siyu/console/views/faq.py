"""Console pages: the FAQ library (C8) — suggestions for staff with one-click send, a dry run, entries, quick
replies and the answering settings."""

from __future__ import annotations

from typing import Any

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, Response
from starlette.datastructures import FormData

from siyu.auth.roles import Perm
from siyu.communities import service as communities
from siyu.console import queries
from siyu.console.render import N_, done, flash, gettext, render
from siyu.console.views.common import form_data, integer, lines, options, parse, text
from siyu.edge.work import Work, edge_router, work
from siyu.engagement.faq import commands, service
from siyu.engagement.faq.schemas import Config, EntryIn, QuickReplyIn

router = edge_router()


#: "Try a question" in every community at once answers for at most this many (the picker narrows it down).
TRY_COMMUNITIES = 20


@router.get("/faq", response_class=HTMLResponse)
def faq_page(request: Request, q: str = "", community: str = "", w: Work = Depends(work(Perm.READ))) -> HTMLResponse:
    """The newest open suggestions (one page: staff answer them from the top), a dry run, the whole library and the
    quick replies. The dry run is what a member's message would get in a group of the chosen community — the same
    matcher, the same scope (the community's entries and the global ones) and the same thresholds as live replies;
    with no community chosen, it is tried in every community."""
    s, ws = w.s, w.ws
    suggestions = service.suggestions(s, ws).items
    entries = service.entries(s, ws)
    community_list = communities.list_all(s, ws)
    names = {c.id: c.name for c in community_list}
    trials: list[tuple[str, Any]] = []
    text = q[:2000]
    if text.strip():
        if community == "none":
            trials.append((gettext(request, "Outside any community (global entries only)"),
                           service.match(s, ws, text)))
        elif community.isdigit() and int(community) in names:
            trials.append((names[int(community)], service.match(s, ws, text, community_id=int(community))))
        else:
            for c in community_list[:TRY_COMMUNITIES]:
                trials.append((c.name, service.match(s, ws, text, community_id=c.id)))
            if not community_list:
                trials.append((gettext(request, "Outside any community (global entries only)"),
                               service.match(s, ws, text)))
    group_names = queries.group_names(s, {x.group_id for x in suggestions if x.group_id})
    return render(request, "faq/page.html", nav="faq", suggestions=suggestions, entries=entries,
                  quick_replies=service.quick_replies(s, ws), config=service.config(s, ws),
                  communities=names, q=q, community=community, trials=trials, group_names=group_names)


def _entry_data(form: FormData) -> dict[str, Any]:
    return {"question": text(form, "question"), "answer": text(form, "answer"),
            "variants": lines(text(form, "variants")), "keywords": options(text(form, "keywords")),
            "community_id": integer(form, "community_id")}


@router.post("/faq/entries")
def create_entry(request: Request, form: FormData = Depends(form_data),
                 w: Work = Depends(work(Perm.WRITE))) -> Response:
    commands.create_entry(w, parse(EntryIn, _entry_data(form)))
    flash(request, N_("FAQ entry added."))
    return done(request, "/faq#entries")


@router.post("/faq/entries/{entry_id:int}/toggle")
def toggle_entry(request: Request, entry_id: int, w: Work = Depends(work(Perm.WRITE))) -> Response:
    commands.toggle_entry(w, entry_id)
    return done(request, "/faq#entries")


@router.post("/faq/entries/{entry_id:int}/delete")
def delete_entry(request: Request, entry_id: int, w: Work = Depends(work(Perm.WRITE))) -> Response:
    commands.delete_entry(w, entry_id)
    flash(request, N_("FAQ entry deleted."))
    return done(request, "/faq#entries")


@router.post("/faq/suggestions/{event_id:int}/send")
def send_suggestion(request: Request, event_id: int, w: Work = Depends(work(Perm.WRITE))) -> Response:
    commands.send_suggestion(w, event_id)
    flash(request, N_("Answer sent to the group."))
    return done(request, "/faq")


@router.post("/faq/quick-replies")
def create_quick_reply(request: Request, form: FormData = Depends(form_data),
                       w: Work = Depends(work(Perm.WRITE))) -> Response:
    commands.create_quick_reply(w, parse(QuickReplyIn, {"title": text(form, "title"), "text": text(form, "text")}))
    flash(request, N_("Quick reply added."))
    return done(request, "/faq#quick-replies")


@router.post("/faq/quick-replies/{reply_id:int}/delete")
def delete_quick_reply(request: Request, reply_id: int, w: Work = Depends(work(Perm.WRITE))) -> Response:
    commands.delete_quick_reply(w, reply_id)
    return done(request, "/faq#quick-replies")


@router.post("/faq/settings")
def save_settings(request: Request, form: FormData = Depends(form_data),
                  w: Work = Depends(work(Perm.WRITE))) -> Response:
    raw = {"enabled": text(form, "enabled") == "on", "threshold": text(form, "threshold") or None,
           "suggest_threshold": text(form, "suggest_threshold") or None,
           "rate_per_minute": integer(form, "rate_per_minute")}
    commands.set_settings(w, parse(Config, {k: v for k, v in raw.items() if v is not None}))
    flash(request, N_("FAQ settings saved."))
    return done(request, "/faq#settings")
