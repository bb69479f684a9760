"""REST endpoints of engagement/faq: entries, quick replies, settings, the dry-run match and staff suggestions."""

from __future__ import annotations

from fastapi import Depends

from siyu.auth.roles import Perm
from siyu.edge.work import Work, edge_router, work
from siyu.engagement.faq import commands, service
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
from siyu.kit.pagination import Cursor, Limit, PageOut
from siyu.kit.params import Id, Id64
from siyu.models import QuickReply

router = edge_router(prefix="/api/v1/faq", tags=["faq"])


def _qr(r: QuickReply) -> QuickReplyOut:
    return QuickReplyOut(id=r.id, title=r.title, text=r.text, created_at=r.created_at)


@router.get("/entries")
def list_entries(community_id: Id | None = None, cursor: Cursor = None, limit: Limit = 200,
                 w: Work = Depends(work(Perm.READ))) -> PageOut[EntryOut]:
    """Oldest first; with `community_id`, that community's entries and the global ones."""
    page = service.entry_page(w.s, w.ws, community_id=community_id, cursor=cursor, limit=limit)
    return PageOut.of(page, service.entry_out)


@router.post("/entries", status_code=201)
def create_entry(body: EntryIn, w: Work = Depends(work(Perm.WRITE))) -> EntryOut:
    return service.entry_out(commands.create_entry(w, body))


@router.get("/entries/{entry_id}")
def get_entry(entry_id: Id, w: Work = Depends(work(Perm.READ))) -> EntryOut:
    return service.entry_out(service.get_entry(w.s, w.ws, entry_id))


@router.patch("/entries/{entry_id}")
def update_entry(entry_id: Id, body: EntryPatch, w: Work = Depends(work(Perm.WRITE))) -> EntryOut:
    return service.entry_out(commands.update_entry(w, entry_id, body))


@router.delete("/entries/{entry_id}", status_code=204)
def delete_entry(entry_id: Id, w: Work = Depends(work(Perm.WRITE))) -> None:
    commands.delete_entry(w, entry_id)


@router.get("/quick-replies")
def list_quick_replies(cursor: Cursor = None, limit: Limit = 200,
                       w: Work = Depends(work(Perm.READ))) -> PageOut[QuickReplyOut]:
    """Oldest first."""
    return PageOut.of(service.quick_reply_page(w.s, w.ws, cursor=cursor, limit=limit), _qr)


@router.post("/quick-replies", status_code=201)
def create_quick_reply(body: QuickReplyIn, w: Work = Depends(work(Perm.WRITE))) -> QuickReplyOut:
    return _qr(commands.create_quick_reply(w, body))


@router.patch("/quick-replies/{reply_id}")
def update_quick_reply(reply_id: Id, body: QuickReplyPatch, w: Work = Depends(work(Perm.WRITE))) -> QuickReplyOut:
    return _qr(commands.update_quick_reply(w, reply_id, body))


@router.delete("/quick-replies/{reply_id}", status_code=204)
def delete_quick_reply(reply_id: Id, w: Work = Depends(work(Perm.WRITE))) -> None:
    commands.delete_quick_reply(w, reply_id)


@router.get("/settings")
def get_settings(w: Work = Depends(work(Perm.READ))) -> Config:
    return service.config(w.s, w.ws)


@router.put("/settings")
def put_settings(body: Config, w: Work = Depends(work(Perm.WRITE))) -> Config:
    return commands.set_settings(w, body)


@router.post("/match")
def match(body: MatchIn, w: Work = Depends(work(Perm.READ))) -> MatchOut:
    """Dry run: what siyu would do with this text in this group or community (nothing is sent)."""
    return service.match(w.s, w.ws, body.text, group_id=body.group_id, community_id=body.community_id)


@router.get("/suggestions")
def list_suggestions(include_answered: bool = False, cursor: Cursor = None, limit: Limit = 50,
                     w: Work = Depends(work(Perm.READ))) -> PageOut[SuggestionOut]:
    """Newest first. Answered suggestions are skipped unless `include_answered`, so a page may hold fewer than
    `limit` items and still have a `next_cursor`."""
    page = service.suggestions(w.s, w.ws, open_only=not include_answered, cursor=cursor, limit=limit)
    return PageOut.of(page, lambda x: x)


@router.post("/suggestions/{event_id}/send")
def send_suggestion(event_id: Id64, w: Work = Depends(work(Perm.WRITE))) -> SentOut:
    return commands.send_suggestion(w, event_id)
