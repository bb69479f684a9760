"""What a person does to moderation, from the REST API or the console: one function per act, each auditing itself
inside the request's unit of work (`edge/work.py`)."""

from __future__ import annotations

from siyu.edge.work import Work
from siyu.engagement.moderation import service
from siyu.engagement.moderation.schemas import (
    AllowedTermsIn,
    AllowedTermsOut,
    ExemptionIn,
    Rules,
    WordListIn,
    WordListPatch,
    WordsUpload,
)
from siyu.models import Contact, ModerationDecision, ModerationExemption, WordList


def create_word_list(w: Work, body: WordListIn) -> WordList:
    wl = service.create_word_list(w.s, w.ws, body, now=w.now)
    w.audit("moderation.word_list.create", "word_list", wl.id,
            {"name": wl.name, "words": service.word_list_out(wl).word_count, "purpose": wl.purpose})
    return wl


def update_word_list(w: Work, list_id: int, body: WordListPatch) -> WordList:
    wl = service.update_word_list(w.s, w.ws, list_id, body)
    w.audit("moderation.word_list.update", "word_list", wl.id, {"fields": sorted(body.model_fields_set)})
    return wl


def upload_words(w: Work, list_id: int, body: WordsUpload) -> WordList:
    """Add words to a list (or replace its words); the audit says how many were new."""
    wl, added = service.upload_words(w.s, w.ws, list_id, body)
    w.audit("moderation.word_list.upload", "word_list", wl.id, {"mode": body.mode, "added": added})
    return wl


def delete_word_list(w: Work, list_id: int) -> None:
    service.delete_word_list(w.s, w.ws, list_id)
    w.audit("moderation.word_list.delete", "word_list", list_id)


def add_exemption(w: Work, body: ExemptionIn) -> tuple[ModerationExemption, Contact]:
    e, c = service.add_exemption(w.s, w.ws, body, now=w.now)
    w.audit("moderation.exemption.add", "contact", c.id, {"note": e.note})
    return e, c


def remove_exemption(w: Work, exemption_id: int) -> None:
    service.remove_exemption(w.s, w.ws, exemption_id)
    w.audit("moderation.exemption.remove", "moderation_exemption", exemption_id)


def set_rules(w: Work, body: Rules) -> Rules:
    out = service.set_rules(w.s, w.ws, body)
    w.audit("moderation.rules", "workspace", w.ws, body.model_dump(mode="json"))
    return out


def set_allowed_terms(w: Work, community_id: int | None, body: AllowedTermsIn) -> AllowedTermsOut:
    """Replace the allowed terms of the workspace (`community_id` None) or of one community."""
    out = service.set_allowed(w.s, w.ws, community_id, body.terms)
    w.audit("moderation.allowed_terms", "community" if community_id is not None else "workspace",
            community_id if community_id is not None else w.ws, {"terms": len(body.terms)})
    return out


def undo(w: Work, decision_id: int) -> tuple[ModerationDecision, Contact]:
    """Undo a decision (a blacklist it set is lifted, its pending actions called off); returns it and its member."""
    d = service.undo(w.s, w.ws, decision_id, by=w.who.actor, now=w.now)
    w.audit("moderation.undo", "moderation_decision", d.id, {"decision": d.decision, "contact_id": d.contact_id})
    c = w.s.get(Contact, d.contact_id)
    assert c is not None
    return d, c
