"""Console pages: moderation (C7) — the decision log with undo, a dry run of a message, word lists (bulk upload),
rule settings, allowed terms (the workspace's and each community's) and whitelisted members."""

from __future__ import annotations

from typing import Any

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, Response
from starlette.datastructures import FormData

from siyu.auth.roles import Perm
from siyu.communities import service as communities
from siyu.console import queries
from siyu.console.render import N_, done, flash, render
from siyu.console.views.common import form_data, integer, parse, text
from siyu.edge.work import Work, edge_router, work
from siyu.engagement import matching
from siyu.engagement.moderation import commands, service
from siyu.engagement.moderation.schemas import (
    STEPS,
    AllowedTermsIn,
    ExemptionIn,
    Rules,
    WordListIn,
    WordListPatch,
    WordsUpload,
)
from siyu.kit.body_limit import read_upload
from siyu.kit.pagination import Cursor

router = edge_router()
PAGE = 50

NUMBERS = ("flood_messages", "flood_seconds", "wave_groups", "wave_seconds", "wave_min_chars", "newcomer_hours",
           "newcomer_flood_messages", "newcomer_wave_groups", "ladder_days")
STEP_FIELDS = ("link_step", "flood_step", "wave_step", "newcomer_link_step", "contact_step")
SWITCHES = ("enabled", "links", "contacts", "complaint_alerts")


@router.get("/moderation", response_class=HTMLResponse)
def moderation_page(request: Request, cursor: Cursor = None, t: str = "", community: str = "",
                    w: Work = Depends(work(Perm.READ))) -> HTMLResponse:
    """The decision log, newest first, a page at a time; a dry run of a message (`t`, in `community`); the word
    lists, rules, allowed terms and whitelist below it."""
    s, ws = w.s, w.ws
    page = service.decisions(s, ws, cursor=cursor, limit=PAGE)
    names = queries.group_names(s, {d.group_id for d, _ in page.items if d.group_id})
    lists = [service.word_list_out(wl) for wl in service.word_lists(s, ws)]
    community_names = {c.id: c.name for c in communities.list_all(s, ws)}
    trial_community = int(community) if community.isdigit() and int(community) in community_names else None
    trial = service.check(s, ws, t[:2000], community_id=trial_community) if t.strip() else None
    workspace_allowed, community_allowed = service.allowed_lists(s, ws)
    return render(request, "moderation/page.html", nav="moderation", page=page, cursor=cursor,
                  total=service.count_decisions(s, ws), group_names=names, lists=lists,
                  exemptions=service.exemptions(s, ws), rules=service.rules(s, ws), steps=STEPS, numbers=NUMBERS,
                  step_fields=STEP_FIELDS, switches=SWITCHES, communities=community_names, t=t,
                  community=community, trial=trial, workspace_allowed=workspace_allowed,
                  community_allowed=community_allowed)


@router.post("/moderation/allowed-terms")
def save_allowed_terms(request: Request, form: FormData = Depends(form_data),
                       w: Work = Depends(work(Perm.WRITE))) -> Response:
    """One scope's allowed terms (no `community_id`: the workspace-wide list), one per line or comma-separated."""
    terms = matching.split_words(text(form, "terms"))
    commands.set_allowed_terms(w, integer(form, "community_id"), parse(AllowedTermsIn, {"terms": terms}))
    flash(request, N_("Allowed terms saved."))
    return done(request, "/moderation#allowed")


@router.post("/moderation/decisions/{decision_id:int}/undo")
def undo(request: Request, decision_id: int, w: Work = Depends(work(Perm.WRITE))) -> Response:
    commands.undo(w, decision_id)
    flash(request, N_("Decision undone."))
    return done(request, "/moderation")


@router.post("/moderation/rules")
def save_rules(request: Request, form: FormData = Depends(form_data),
               w: Work = Depends(work(Perm.WRITE))) -> Response:
    data: dict[str, Any] = {k: text(form, k) == "on" for k in SWITCHES}
    for k in NUMBERS:
        v = integer(form, k)
        if v is not None:
            data[k] = v
    for k in STEP_FIELDS:
        if text(form, k):
            data[k] = text(form, k)
    ladder = [p for p in text(form, "ladder").replace("→", " ").replace(",", " ").split() if p]
    if ladder:
        data["ladder"] = ladder
    if text(form, "warn_text"):
        data["warn_text"] = text(form, "warn_text")
    commands.set_rules(w, parse(Rules, data))
    flash(request, N_("Moderation rules saved."))
    return done(request, "/moderation#rules")


@router.post("/moderation/word-lists")
def create_word_list(request: Request, form: FormData = Depends(form_data),
                     w: Work = Depends(work(Perm.WRITE))) -> Response:
    body = parse(WordListIn, {"name": text(form, "name"), "words": text(form, "words"),
                              "severity": text(form, "severity") or "warn",
                              "purpose": text(form, "purpose") or "moderation"})
    wl = commands.create_word_list(w, body)
    flash(request, N_("Word list created."))
    return done(request, f"/moderation/word-lists/{wl.id}")


@router.get("/moderation/word-lists/{list_id:int}", response_class=HTMLResponse)
def word_list_page(request: Request, list_id: int, w: Work = Depends(work(Perm.READ))) -> HTMLResponse:
    wl = service.word_list_out(service.get_word_list(w.s, w.ws, list_id), with_words=True)
    return render(request, "moderation/word_list.html", nav="moderation", wl=wl, steps=STEPS)


@router.post("/moderation/word-lists/{list_id:int}")
def update_word_list(request: Request, list_id: int, form: FormData = Depends(form_data),
                     w: Work = Depends(work(Perm.WRITE))) -> Response:
    body = parse(WordListPatch, {"name": text(form, "name") or None, "severity": text(form, "severity") or None,
                                 "purpose": text(form, "purpose") or None, "active": text(form, "active") == "on"})
    commands.update_word_list(w, list_id, body)
    flash(request, N_("Word list saved."))
    return done(request, f"/moderation/word-lists/{list_id}")


async def _words_upload(form: FormData = Depends(form_data)) -> WordsUpload:
    """The words typed in and those of the uploaded file (read here, awaited, so the view itself is a plain unit of
    work): all of a file up to 4 MB, or a 413."""
    raw = text(form, "text")
    upload = form.get("file")
    if upload is not None and not isinstance(upload, str):
        data = await read_upload(upload, 4_000_000)
        raw = "\n".join([raw, data.decode("utf-8", errors="replace")])
    return parse(WordsUpload, {"text": raw.strip(), "mode": text(form, "mode") or "append"})


@router.post("/moderation/word-lists/{list_id:int}/words")
def upload_words(request: Request, list_id: int, w: Work = Depends(work(Perm.WRITE)),
                 body: WordsUpload = Depends(_words_upload)) -> Response:
    commands.upload_words(w, list_id, body)
    flash(request, N_("Words uploaded."))
    return done(request, f"/moderation/word-lists/{list_id}")


@router.post("/moderation/word-lists/{list_id:int}/delete")
def delete_word_list(request: Request, list_id: int, w: Work = Depends(work(Perm.WRITE))) -> Response:
    commands.delete_word_list(w, list_id)
    flash(request, N_("Word list deleted."))
    return done(request, "/moderation#word-lists")


@router.post("/moderation/exemptions")
def add_exemption(request: Request, form: FormData = Depends(form_data),
                  w: Work = Depends(work(Perm.WRITE))) -> Response:
    commands.add_exemption(w, parse(ExemptionIn, {"contact_id": integer(form, "contact_id"),
                                                  "note": text(form, "note")}))
    flash(request, N_("Member whitelisted."))
    return done(request, "/moderation#exemptions")


@router.post("/moderation/exemptions/{exemption_id:int}/delete")
def remove_exemption(request: Request, exemption_id: int, w: Work = Depends(work(Perm.WRITE))) -> Response:
    commands.remove_exemption(w, exemption_id)
    return done(request, "/moderation#exemptions")
