"""REST endpoints of engagement/moderation: word lists (with bulk upload), exemptions, rule settings, the decision
log with undo, and a dry-run check of a text."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Depends, Query, Request

from siyu.auth import service as auth
from siyu.auth.roles import Perm
from siyu.auth.service import Principal
from siyu.auth.web import require, runtime
from siyu.engagement.moderation import service
from siyu.engagement.moderation.schemas import (
    CheckIn,
    CheckOut,
    DecisionOut,
    ExemptionIn,
    ExemptionOut,
    Rules,
    WordListIn,
    WordListOut,
    WordListPatch,
    WordsUpload,
)
from siyu.kit.params import Id, Id64, Offset

router = APIRouter(prefix="/api/v1/moderation", tags=["moderation"])


@router.get("/word-lists", response_model=list[WordListOut])
def list_word_lists(request: Request, who: Principal = Depends(require(Perm.READ))) -> list[WordListOut]:
    with runtime(request).tx() as s:
        return [service.word_list_out(w) for w in service.word_lists(s, who.workspace_id)]


@router.post("/word-lists", response_model=WordListOut, status_code=201)
def create_word_list(request: Request, body: WordListIn,
                     who: Principal = Depends(require(Perm.WRITE))) -> WordListOut:
    rt = runtime(request)
    with rt.tx() as s:
        wl = service.create_word_list(s, who.workspace_id, body, now=rt.clock.now())
        out = service.word_list_out(wl)
        auth.audit(s, who, "moderation.word_list.create", "word_list", wl.id,
                   {"name": wl.name, "words": out.word_count, "purpose": wl.purpose}, now=rt.clock.now())
        return out


@router.get("/word-lists/{list_id}", response_model=WordListOut)
def get_word_list(request: Request, list_id: Id, who: Principal = Depends(require(Perm.READ))) -> WordListOut:
    with runtime(request).tx() as s:
        return service.word_list_out(service.get_word_list(s, who.workspace_id, list_id), with_words=True)


@router.patch("/word-lists/{list_id}", response_model=WordListOut)
def update_word_list(request: Request, list_id: Id, body: WordListPatch,
                     who: Principal = Depends(require(Perm.WRITE))) -> WordListOut:
    rt = runtime(request)
    with rt.tx() as s:
        wl = service.update_word_list(s, who.workspace_id, list_id, body)
        auth.audit(s, who, "moderation.word_list.update", "word_list", wl.id,
                   {"fields": sorted(body.model_fields_set)}, now=rt.clock.now())
        return service.word_list_out(wl)


@router.post("/word-lists/{list_id}/words", response_model=WordListOut)
def upload_words(request: Request, list_id: Id, body: WordsUpload,
                 who: Principal = Depends(require(Perm.WRITE))) -> WordListOut:
    rt = runtime(request)
    with rt.tx() as s:
        wl, added = service.upload_words(s, who.workspace_id, list_id, body)
        auth.audit(s, who, "moderation.word_list.upload", "word_list", wl.id, {"mode": body.mode, "added": added},
                   now=rt.clock.now())
        return service.word_list_out(wl)


@router.delete("/word-lists/{list_id}", status_code=204)
def delete_word_list(request: Request, list_id: Id, who: Principal = Depends(require(Perm.WRITE))) -> None:
    rt = runtime(request)
    with rt.tx() as s:
        service.delete_word_list(s, who.workspace_id, list_id)
        auth.audit(s, who, "moderation.word_list.delete", "word_list", list_id, now=rt.clock.now())


@router.get("/exemptions", response_model=list[ExemptionOut])
def list_exemptions(request: Request, who: Principal = Depends(require(Perm.READ))) -> list[ExemptionOut]:
    with runtime(request).tx() as s:
        return [service.exemption_out(e, c) for e, c in service.exemptions(s, who.workspace_id)]


@router.post("/exemptions", response_model=ExemptionOut, status_code=201)
def add_exemption(request: Request, body: ExemptionIn, who: Principal = Depends(require(Perm.WRITE))) -> ExemptionOut:
    rt = runtime(request)
    with rt.tx() as s:
        e, c = service.add_exemption(s, who.workspace_id, body, now=rt.clock.now())
        auth.audit(s, who, "moderation.exemption.add", "contact", c.id, {"note": e.note}, now=rt.clock.now())
        return service.exemption_out(e, c)


@router.delete("/exemptions/{exemption_id}", status_code=204)
def remove_exemption(request: Request, exemption_id: Id, who: Principal = Depends(require(Perm.WRITE))) -> None:
    rt = runtime(request)
    with rt.tx() as s:
        service.remove_exemption(s, who.workspace_id, exemption_id)
        auth.audit(s, who, "moderation.exemption.remove", "moderation_exemption", exemption_id, now=rt.clock.now())


@router.get("/rules", response_model=Rules)
def get_rules(request: Request, who: Principal = Depends(require(Perm.READ))) -> Rules:
    with runtime(request).tx() as s:
        return service.rules(s, who.workspace_id)


@router.put("/rules", response_model=Rules)
def put_rules(request: Request, body: Rules, who: Principal = Depends(require(Perm.WRITE))) -> Rules:
    rt = runtime(request)
    with rt.tx() as s:
        out = service.set_rules(s, who.workspace_id, body)
        auth.audit(s, who, "moderation.rules", "workspace", who.workspace_id, body.model_dump(mode="json"),
                   now=rt.clock.now())
        return out


@router.get("/decisions", response_model=list[DecisionOut])
def list_decisions(request: Request, contact_id: Id64 | None = None,
                   status: Literal["applied", "undone"] | None = None,
                   offset: Offset = Query(0, ge=0), limit: int = Query(50, ge=1, le=200),
                   who: Principal = Depends(require(Perm.READ))) -> list[DecisionOut]:
    with runtime(request).tx() as s:
        page = service.decisions(s, who.workspace_id, contact_id=contact_id, status=status, limit=limit)
        return [service.decision_out(d, c) for d, c in page.items]


@router.post("/decisions/{decision_id}/undo", response_model=DecisionOut)
def undo_decision(request: Request, decision_id: Id64, who: Principal = Depends(require(Perm.WRITE))) -> DecisionOut:
    rt = runtime(request)
    with rt.tx() as s:
        d = service.undo(s, who.workspace_id, decision_id, by=who.actor, now=rt.clock.now())
        auth.audit(s, who, "moderation.undo", "moderation_decision", d.id,
                   {"decision": d.decision, "contact_id": d.contact_id}, now=rt.clock.now())
        from siyu.models import Contact

        c = s.get(Contact, d.contact_id)
        assert c is not None
        return service.decision_out(d, c)


@router.post("/check", response_model=CheckOut)
def check(request: Request, body: CheckIn, who: Principal = Depends(require(Perm.READ))) -> CheckOut:
    with runtime(request).tx() as s:
        return service.check(s, who.workspace_id, body.text)
