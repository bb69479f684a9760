"""REST endpoints of engagement/moderation: word lists (with bulk upload), exemptions, rule settings, the decision
log with undo, and a dry-run check of a text."""

from __future__ import annotations

from typing import Literal

from fastapi import Depends

from siyu.auth.roles import Perm
from siyu.edge.work import Work, edge_router, work
from siyu.engagement.moderation import commands, service
from siyu.engagement.moderation.schemas import (
    AllowedTermsIn,
    AllowedTermsOut,
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
from siyu.kit.pagination import Cursor, Limit, PageOut, window
from siyu.kit.params import Id, Id64

router = edge_router(prefix="/api/v1/moderation", tags=["moderation"])


@router.get("/word-lists")
def list_word_lists(cursor: Cursor = None, limit: Limit = 200,
                    w: Work = Depends(work(Perm.READ))) -> PageOut[WordListOut]:
    """Oldest first, without their words (`GET /word-lists/{id}` has them)."""
    return PageOut.of(service.word_list_page(w.s, w.ws, cursor=cursor, limit=limit), service.word_list_out)


@router.post("/word-lists", status_code=201)
def create_word_list(body: WordListIn, w: Work = Depends(work(Perm.WRITE))) -> WordListOut:
    return service.word_list_out(commands.create_word_list(w, body))


@router.get("/word-lists/{list_id}")
def get_word_list(list_id: Id, w: Work = Depends(work(Perm.READ))) -> WordListOut:
    return service.word_list_out(service.get_word_list(w.s, w.ws, list_id), with_words=True)


@router.patch("/word-lists/{list_id}")
def update_word_list(list_id: Id, body: WordListPatch, w: Work = Depends(work(Perm.WRITE))) -> WordListOut:
    return service.word_list_out(commands.update_word_list(w, list_id, body))


@router.post("/word-lists/{list_id}/words")
def upload_words(list_id: Id, body: WordsUpload, w: Work = Depends(work(Perm.WRITE))) -> WordListOut:
    return service.word_list_out(commands.upload_words(w, list_id, body))


@router.delete("/word-lists/{list_id}", status_code=204)
def delete_word_list(list_id: Id, w: Work = Depends(work(Perm.WRITE))) -> None:
    commands.delete_word_list(w, list_id)


@router.get("/exemptions")
def list_exemptions(cursor: Cursor = None, limit: Limit = 200,
                    w: Work = Depends(work(Perm.READ))) -> PageOut[ExemptionOut]:
    """Oldest first."""
    page = service.exemption_page(w.s, w.ws, cursor=cursor, limit=limit)
    return PageOut.of(page, lambda ec: service.exemption_out(*ec))


@router.post("/exemptions", status_code=201)
def add_exemption(body: ExemptionIn, w: Work = Depends(work(Perm.WRITE))) -> ExemptionOut:
    return service.exemption_out(*commands.add_exemption(w, body))


@router.delete("/exemptions/{exemption_id}", status_code=204)
def remove_exemption(exemption_id: Id, w: Work = Depends(work(Perm.WRITE))) -> None:
    commands.remove_exemption(w, exemption_id)


@router.get("/rules")
def get_rules(w: Work = Depends(work(Perm.READ))) -> Rules:
    return service.rules(w.s, w.ws)


@router.put("/rules")
def put_rules(body: Rules, w: Work = Depends(work(Perm.WRITE))) -> Rules:
    return commands.set_rules(w, body)


@router.get("/decisions")
def list_decisions(contact_id: Id64 | None = None, status: Literal["applied", "undone"] | None = None,
                   cursor: Cursor = None, limit: Limit = 50,
                   w: Work = Depends(work(Perm.READ))) -> PageOut[DecisionOut]:
    """Newest first."""
    page = service.decisions(w.s, w.ws, contact_id=contact_id, status=status, cursor=cursor, limit=limit)
    return PageOut.of(page, lambda dc: service.decision_out(*dc))


@router.post("/decisions/{decision_id}/undo")
def undo_decision(decision_id: Id64, w: Work = Depends(work(Perm.WRITE))) -> DecisionOut:
    return service.decision_out(*commands.undo(w, decision_id))


@router.get("/allowed-terms")
def list_allowed_terms(cursor: Cursor = None, limit: Limit = 200,
                       w: Work = Depends(work(Perm.READ))) -> PageOut[AllowedTermsOut]:
    """The workspace-wide list first (`community_id` null: it applies in every community), then each community's."""
    return PageOut.of(window(service.allowed_out(w.s, w.ws), cursor=cursor, limit=limit), lambda x: x)


@router.put("/allowed-terms")
def put_allowed_terms(body: AllowedTermsIn, w: Work = Depends(work(Perm.WRITE))) -> AllowedTermsOut:
    """Replace the workspace-wide list (it starts as everyday words like 参加, 增加 and ASP.NET)."""
    return commands.set_allowed_terms(w, None, body)


@router.put("/allowed-terms/{community_id}")
def put_community_allowed_terms(community_id: Id, body: AllowedTermsIn,
                                w: Work = Depends(work(Perm.WRITE))) -> AllowedTermsOut:
    """Replace one community's list (an empty list removes it)."""
    return commands.set_allowed_terms(w, community_id, body)


@router.post("/check")
def check(body: CheckIn, w: Work = Depends(work(Perm.READ))) -> CheckOut:
    """Dry run: what the rules that read one message (words, links, contact numbers) would find in this text, in
    a community if given (its allowed terms apply)."""
    return service.check(w.s, w.ws, body.text, community_id=body.community_id)
