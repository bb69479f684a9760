"""Console pages: moderation (C7) — the decision log with undo, word lists (bulk upload), rule settings and
whitelisted members."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from starlette.datastructures import FormData

from siyu.auth import service as auth
from siyu.auth.roles import Perm
from siyu.auth.service import Principal
from siyu.auth.web import require, runtime
from siyu.console import queries
from siyu.console.render import N_, done, flash, render
from siyu.console.views.common import form_data, integer, parse, text
from siyu.engagement.moderation import service
from siyu.engagement.moderation.schemas import STEPS, ExemptionIn, Rules, WordListIn, WordListPatch, WordsUpload
from siyu.kit.body_limit import read_upload

router = APIRouter()

NUMBERS = ("flood_messages", "flood_seconds", "wave_groups", "wave_seconds", "wave_min_chars", "newcomer_hours",
           "newcomer_flood_messages", "newcomer_wave_groups", "ladder_days")
STEP_FIELDS = ("link_step", "flood_step", "wave_step", "newcomer_link_step")
SWITCHES = ("enabled", "links", "complaint_alerts")


@router.get("/moderation", response_class=HTMLResponse)
def moderation_page(request: Request, offset: int = 0,
                    who: Principal = Depends(require(Perm.READ))) -> HTMLResponse:
    ws = who.workspace_id
    with runtime(request).tx() as s:
        page = service.decisions(s, ws, limit=50)
        names = queries.group_names(s, {d.group_id for d, _ in page.items if d.group_id})
        lists = [service.word_list_out(w) for w in service.word_lists(s, ws)]
        return render(request, "moderation/page.html", nav="moderation", page=page, group_names=names,
                      lists=lists, exemptions=service.exemptions(s, ws), rules=service.rules(s, ws), steps=STEPS,
                      numbers=NUMBERS, step_fields=STEP_FIELDS, switches=SWITCHES)


@router.post("/moderation/decisions/{decision_id:int}/undo")
def undo(request: Request, decision_id: int, who: Principal = Depends(require(Perm.WRITE))) -> Response:
    rt = runtime(request)
    with rt.tx() as s:
        d = service.undo(s, who.workspace_id, decision_id, by=who.actor, now=rt.clock.now())
        auth.audit(s, who, "moderation.undo", "moderation_decision", d.id,
                   {"decision": d.decision, "contact_id": d.contact_id}, now=rt.clock.now())
    flash(request, N_("Decision undone."))
    return done(request, "/moderation")


@router.post("/moderation/rules")
def save_rules(request: Request, form: FormData = Depends(form_data),
               who: Principal = Depends(require(Perm.WRITE))) -> Response:
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
    body = parse(Rules, data)
    rt = runtime(request)
    with rt.tx() as s:
        service.set_rules(s, who.workspace_id, body)
        auth.audit(s, who, "moderation.rules", "workspace", who.workspace_id, body.model_dump(mode="json"),
                   now=rt.clock.now())
    flash(request, N_("Moderation rules saved."))
    return done(request, "/moderation#rules")


@router.post("/moderation/word-lists")
def create_word_list(request: Request, form: FormData = Depends(form_data),
                     who: Principal = Depends(require(Perm.WRITE))) -> Response:
    body = parse(WordListIn, {"name": text(form, "name"), "words": text(form, "words"),
                              "severity": text(form, "severity") or "warn",
                              "purpose": text(form, "purpose") or "moderation"})
    rt = runtime(request)
    with rt.tx() as s:
        wl = service.create_word_list(s, who.workspace_id, body, now=rt.clock.now())
        auth.audit(s, who, "moderation.word_list.create", "word_list", wl.id, {"name": wl.name}, now=rt.clock.now())
        list_id = wl.id
    flash(request, N_("Word list created."))
    return done(request, f"/moderation/word-lists/{list_id}")


@router.get("/moderation/word-lists/{list_id:int}", response_class=HTMLResponse)
def word_list_page(request: Request, list_id: int, who: Principal = Depends(require(Perm.READ))) -> HTMLResponse:
    with runtime(request).tx() as s:
        wl = service.word_list_out(service.get_word_list(s, who.workspace_id, list_id), with_words=True)
        return render(request, "moderation/word_list.html", nav="moderation", wl=wl, steps=STEPS)


@router.post("/moderation/word-lists/{list_id:int}")
def update_word_list(request: Request, list_id: int, form: FormData = Depends(form_data),
                     who: Principal = Depends(require(Perm.WRITE))) -> Response:
    body = parse(WordListPatch, {"name": text(form, "name") or None, "severity": text(form, "severity") or None,
                                 "purpose": text(form, "purpose") or None, "active": text(form, "active") == "on"})
    rt = runtime(request)
    with rt.tx() as s:
        service.update_word_list(s, who.workspace_id, list_id, body)
        auth.audit(s, who, "moderation.word_list.update", "word_list", list_id, now=rt.clock.now())
    flash(request, N_("Word list saved."))
    return done(request, f"/moderation/word-lists/{list_id}")


@router.post("/moderation/word-lists/{list_id:int}/words")
async def upload_words(request: Request, list_id: int, form: FormData = Depends(form_data),
                       who: Principal = Depends(require(Perm.WRITE))) -> Response:
    raw = text(form, "text")
    upload = form.get("file")
    if upload is not None and not isinstance(upload, str):
        data = await read_upload(upload, 4_000_000)
        raw = "\n".join([raw, data.decode("utf-8", errors="replace")])
    body = parse(WordsUpload, {"text": raw.strip(), "mode": text(form, "mode") or "append"})
    return _save_upload(request, list_id, body, who)


def _save_upload(request: Request, list_id: int, body: WordsUpload, who: Principal) -> Response:
    rt = runtime(request)
    with rt.tx() as s:
        wl, added = service.upload_words(s, who.workspace_id, list_id, body)
        auth.audit(s, who, "moderation.word_list.upload", "word_list", wl.id, {"mode": body.mode, "added": added},
                   now=rt.clock.now())
    flash(request, N_("Words uploaded."))
    return done(request, f"/moderation/word-lists/{list_id}")


@router.post("/moderation/word-lists/{list_id:int}/delete")
def delete_word_list(request: Request, list_id: int, who: Principal = Depends(require(Perm.WRITE))) -> Response:
    rt = runtime(request)
    with rt.tx() as s:
        service.delete_word_list(s, who.workspace_id, list_id)
        auth.audit(s, who, "moderation.word_list.delete", "word_list", list_id, now=rt.clock.now())
    flash(request, N_("Word list deleted."))
    return done(request, "/moderation#word-lists")


@router.post("/moderation/exemptions")
def add_exemption(request: Request, form: FormData = Depends(form_data),
                  who: Principal = Depends(require(Perm.WRITE))) -> Response:
    body = parse(ExemptionIn, {"contact_id": integer(form, "contact_id"), "note": text(form, "note")})
    rt = runtime(request)
    with rt.tx() as s:
        e, c = service.add_exemption(s, who.workspace_id, body, now=rt.clock.now())
        auth.audit(s, who, "moderation.exemption.add", "contact", c.id, {"note": e.note}, now=rt.clock.now())
    flash(request, N_("Member whitelisted."))
    return done(request, "/moderation#exemptions")


@router.post("/moderation/exemptions/{exemption_id:int}/delete")
def remove_exemption(request: Request, exemption_id: int, who: Principal = Depends(require(Perm.WRITE))) -> Response:
    rt = runtime(request)
    with rt.tx() as s:
        service.remove_exemption(s, who.workspace_id, exemption_id)
        auth.audit(s, who, "moderation.exemption.remove", "moderation_exemption", exemption_id, now=rt.clock.now())
    return done(request, "/moderation#exemptions")
