"""REST endpoints of engagement/faq: entries, quick replies, settings, the dry-run match and staff suggestions."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query, Request

from siyu.auth import service as auth
from siyu.auth.roles import Perm
from siyu.auth.service import Principal
from siyu.auth.web import require, runtime
from siyu.engagement.faq import service
from siyu.engagement.faq.schemas import (
    Config,
    EntryIn,
    EntryOut,
    EntryPatch,
    MatchIn,
    MatchOut,
    QuickReplyIn,
    QuickReplyOut,
    QuickReplyPatch,
    SentOut,
    SuggestionOut,
)
from siyu.kit.params import Id, Id64
from siyu.models import QuickReply

router = APIRouter(prefix="/api/v1/faq", tags=["faq"])


def _qr(r: QuickReply) -> QuickReplyOut:
    return QuickReplyOut(id=r.id, title=r.title, text=r.text, created_at=r.created_at)


@router.get("/entries", response_model=list[EntryOut])
def list_entries(request: Request, community_id: Id | None = None,
                 who: Principal = Depends(require(Perm.READ))) -> list[EntryOut]:
    with runtime(request).tx() as s:
        return [service.entry_out(e) for e in service.entries(s, who.workspace_id, community_id=community_id)]


@router.post("/entries", response_model=EntryOut, status_code=201)
def create_entry(request: Request, body: EntryIn, who: Principal = Depends(require(Perm.WRITE))) -> EntryOut:
    rt = runtime(request)
    with rt.tx() as s:
        e = service.create_entry(s, who.workspace_id, body, now=rt.clock.now())
        auth.audit(s, who, "faq.entry.create", "faq_entry", e.id, {"question": e.question[:100]}, now=rt.clock.now())
        return service.entry_out(e)


@router.get("/entries/{entry_id}", response_model=EntryOut)
def get_entry(request: Request, entry_id: Id, who: Principal = Depends(require(Perm.READ))) -> EntryOut:
    with runtime(request).tx() as s:
        return service.entry_out(service.get_entry(s, who.workspace_id, entry_id))


@router.patch("/entries/{entry_id}", response_model=EntryOut)
def update_entry(request: Request, entry_id: Id, body: EntryPatch,
                 who: Principal = Depends(require(Perm.WRITE))) -> EntryOut:
    rt = runtime(request)
    with rt.tx() as s:
        e = service.update_entry(s, who.workspace_id, entry_id, body)
        auth.audit(s, who, "faq.entry.update", "faq_entry", e.id, {"fields": sorted(body.model_fields_set)},
                   now=rt.clock.now())
        return service.entry_out(e)


@router.delete("/entries/{entry_id}", status_code=204)
def delete_entry(request: Request, entry_id: Id, who: Principal = Depends(require(Perm.WRITE))) -> None:
    rt = runtime(request)
    with rt.tx() as s:
        service.delete_entry(s, who.workspace_id, entry_id)
        auth.audit(s, who, "faq.entry.delete", "faq_entry", entry_id, now=rt.clock.now())


@router.get("/quick-replies", response_model=list[QuickReplyOut])
def list_quick_replies(request: Request, who: Principal = Depends(require(Perm.READ))) -> list[QuickReplyOut]:
    with runtime(request).tx() as s:
        return [_qr(r) for r in service.quick_replies(s, who.workspace_id)]


@router.post("/quick-replies", response_model=QuickReplyOut, status_code=201)
def create_quick_reply(request: Request, body: QuickReplyIn,
                       who: Principal = Depends(require(Perm.WRITE))) -> QuickReplyOut:
    rt = runtime(request)
    with rt.tx() as s:
        r = service.create_quick_reply(s, who.workspace_id, body, now=rt.clock.now())
        auth.audit(s, who, "faq.quick_reply.create", "quick_reply", r.id, {"title": r.title}, now=rt.clock.now())
        return _qr(r)


@router.patch("/quick-replies/{reply_id}", response_model=QuickReplyOut)
def update_quick_reply(request: Request, reply_id: Id, body: QuickReplyPatch,
                       who: Principal = Depends(require(Perm.WRITE))) -> QuickReplyOut:
    rt = runtime(request)
    with rt.tx() as s:
        r = service.update_quick_reply(s, who.workspace_id, reply_id, body)
        auth.audit(s, who, "faq.quick_reply.update", "quick_reply", r.id, now=rt.clock.now())
        return _qr(r)


@router.delete("/quick-replies/{reply_id}", status_code=204)
def delete_quick_reply(request: Request, reply_id: Id, who: Principal = Depends(require(Perm.WRITE))) -> None:
    rt = runtime(request)
    with rt.tx() as s:
        service.delete_quick_reply(s, who.workspace_id, reply_id)
        auth.audit(s, who, "faq.quick_reply.delete", "quick_reply", reply_id, now=rt.clock.now())


@router.get("/settings", response_model=Config)
def get_settings(request: Request, who: Principal = Depends(require(Perm.READ))) -> Config:
    with runtime(request).tx() as s:
        return service.config(s, who.workspace_id)


@router.put("/settings", response_model=Config)
def put_settings(request: Request, body: Config, who: Principal = Depends(require(Perm.WRITE))) -> Config:
    rt = runtime(request)
    with rt.tx() as s:
        out = service.set_config(s, who.workspace_id, body)
        auth.audit(s, who, "faq.settings", "workspace", who.workspace_id, body.model_dump(mode="json"),
                   now=rt.clock.now())
        return out


@router.post("/match", response_model=MatchOut)
def match(request: Request, body: MatchIn, who: Principal = Depends(require(Perm.READ))) -> MatchOut:
    """Dry run: what siyu would do with this text in this group or community (nothing is sent)."""
    with runtime(request).tx() as s:
        return service.match(s, who.workspace_id, body.text, group_id=body.group_id, community_id=body.community_id)


@router.get("/suggestions", response_model=list[SuggestionOut])
def list_suggestions(request: Request, include_answered: bool = False, limit: int = Query(50, ge=1, le=200),
                     who: Principal = Depends(require(Perm.READ))) -> list[SuggestionOut]:
    with runtime(request).tx() as s:
        return service.suggestions(s, who.workspace_id, open_only=not include_answered, limit=limit)


@router.post("/suggestions/{event_id}/send", response_model=SentOut)
def send_suggestion(request: Request, event_id: Id64, who: Principal = Depends(require(Perm.WRITE))) -> SentOut:
    rt = runtime(request)
    with rt.tx() as s:
        action_id = service.send_suggestion(s, who.workspace_id, event_id, by=who.actor, now=rt.clock.now())
        from siyu.models import Event

        ev = s.get(Event, event_id)
        mid = int(ev.payload["message_event_id"]) if ev is not None else 0
        auth.audit(s, who, "faq.suggestion.send", "event", event_id, {"action_id": action_id}, now=rt.clock.now())
        return SentOut(action_id=action_id, message_event_id=mid)
