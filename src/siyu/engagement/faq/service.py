"""The FAQ library (C8): entries (question, variants, answer, keywords; global or one community's), the staff's
quick replies, settings, a dry run, and the suggestions staff can send with one click.

The automation that answers in groups is in `automation.py`.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from siyu.delivery import service as outbox
from siyu.engagement import matching
from siyu.engagement.faq.schemas import (
    Config,
    EntryIn,
    EntryOut,
    EntryPatch,
    MatchOut,
    QuickReplyIn,
    QuickReplyPatch,
    SuggestionOut,
)
from siyu.events import schemas as event_schemas
from siyu.events import service as events
from siyu.kit.errors import Conflict, NotFound
from siyu.kit.pagination import Page, encode, keyset
from siyu.models import Community, Contact, Event, FaqEntry, Group, QuickReply, Workspace

SETTINGS_KEY = "faq"


class Replied(event_schemas.Payload):
    message_event_id: int
    entry_id: int
    score: float
    method: str
    action_id: int | None = None
    by: str = "siyu"


class Suggested(event_schemas.Payload):
    message_event_id: int
    entry_id: int
    score: float
    method: str
    reason: str = "below_threshold"
    text: str = ""


event_schemas.register("faq.replied", Replied)
event_schemas.register("faq.suggested", Suggested)


# -------------------------------------------------------------------------------------------------- settings


def config(session: Session, ws: int) -> Config:
    w = session.get(Workspace, ws)
    raw = (w.settings or {}).get(SETTINGS_KEY) if w is not None else None
    if not isinstance(raw, dict):
        return Config()
    try:
        return Config.model_validate(raw)
    except ValueError:
        return Config()


def set_config(session: Session, ws: int, value: Config) -> Config:
    w = session.get(Workspace, ws)
    if w is None:
        raise NotFound("no such workspace", code="workspace_not_found")
    w.settings = {**(w.settings or {}), SETTINGS_KEY: value.model_dump(mode="json")}
    return value


# -------------------------------------------------------------------------------------------------- entries


def entry_out(e: FaqEntry) -> EntryOut:
    return EntryOut(id=e.id, community_id=e.community_id, question=e.question, variants=list(e.variants or []),
                    answer=e.answer, keywords=list(e.keywords or []), active=e.active, created_at=e.created_at)


def _check_community(session: Session, ws: int, community_id: int | None) -> None:
    if community_id is None:
        return
    c = session.get(Community, community_id)
    if c is None or c.workspace_id != ws:
        raise NotFound(f"no community {community_id}", code="community_not_found")


def _entries(ws: int, community_id: int | None) -> Select[FaqEntry]:
    q = select(FaqEntry).where(FaqEntry.workspace_id == ws)
    if community_id is not None:
        q = q.where((FaqEntry.community_id == community_id) | FaqEntry.community_id.is_(None))
    return q


def entries(session: Session, ws: int, *, community_id: int | None = None) -> list[FaqEntry]:
    """All of them, oldest first (the console's library)."""
    return list(session.scalars(_entries(ws, community_id).order_by(FaqEntry.id)))


def entry_page(session: Session, ws: int, *, community_id: int | None = None, cursor: str | None = None,
               limit: int = 200) -> Page[FaqEntry]:
    """Oldest first, a page at a time; with `community_id`, that community's entries and the global ones."""
    return keyset(session, _entries(ws, community_id), [FaqEntry.id], cursor=cursor, limit=limit,
                  key=lambda e: [e.id], desc=False)


def get_entry(session: Session, ws: int, entry_id: int) -> FaqEntry:
    e = session.get(FaqEntry, entry_id)
    if e is None or e.workspace_id != ws:
        raise NotFound(f"no FAQ entry {entry_id}", code="faq_entry_not_found")
    return e


def create_entry(session: Session, ws: int, data: EntryIn, *, now: datetime) -> FaqEntry:
    _check_community(session, ws, data.community_id)
    e = FaqEntry(workspace_id=ws, community_id=data.community_id, question=data.question, variants=data.variants,
                 answer=data.answer, keywords=data.keywords, active=data.active, created_at=now)
    session.add(e)
    session.flush()
    return e


def update_entry(session: Session, ws: int, entry_id: int, patch: EntryPatch) -> FaqEntry:
    e = get_entry(session, ws, entry_id)
    values = patch.model_dump(exclude_unset=True)
    if "community_id" in values:
        _check_community(session, ws, values["community_id"])
        e.community_id = values.pop("community_id")
    for k, v in values.items():
        if v is not None:
            setattr(e, k, v.strip() if isinstance(v, str) else v)
    session.flush()
    return e


def delete_entry(session: Session, ws: int, entry_id: int) -> None:
    session.delete(get_entry(session, ws, entry_id))
    session.flush()


# -------------------------------------------------------------------------------------------------- quick replies


def quick_replies(session: Session, ws: int) -> list[QuickReply]:
    return list(session.scalars(select(QuickReply).where(QuickReply.workspace_id == ws).order_by(QuickReply.id)))


def quick_reply_page(session: Session, ws: int, *, cursor: str | None = None, limit: int = 200) -> Page[QuickReply]:
    """Oldest first, a page at a time."""
    return keyset(session, select(QuickReply).where(QuickReply.workspace_id == ws), [QuickReply.id],
                  cursor=cursor, limit=limit, key=lambda r: [r.id], desc=False)


def get_quick_reply(session: Session, ws: int, reply_id: int) -> QuickReply:
    r = session.get(QuickReply, reply_id)
    if r is None or r.workspace_id != ws:
        raise NotFound(f"no quick reply {reply_id}", code="quick_reply_not_found")
    return r


def create_quick_reply(session: Session, ws: int, data: QuickReplyIn, *, now: datetime) -> QuickReply:
    r = QuickReply(workspace_id=ws, title=data.title.strip(), text=data.text.strip(), created_at=now)
    session.add(r)
    session.flush()
    return r


def update_quick_reply(session: Session, ws: int, reply_id: int, patch: QuickReplyPatch) -> QuickReply:
    r = get_quick_reply(session, ws, reply_id)
    for k, v in patch.model_dump(exclude_unset=True).items():
        if v is not None:
            setattr(r, k, v.strip())
    session.flush()
    return r


def delete_quick_reply(session: Session, ws: int, reply_id: int) -> None:
    session.delete(get_quick_reply(session, ws, reply_id))
    session.flush()


# -------------------------------------------------------------------------------------------------- matching


def outcome(cfg: Config, m: matching.FaqMatch | None) -> str:
    """reply | suggest | none. A statement (`m.asks` false: "优惠券已经用掉了，谢谢客服") is never answered, even
    when it contains a keyword."""
    if m is None or not m.asks or m.score < cfg.suggest_threshold:
        return "none"
    return "reply" if m.score >= cfg.threshold else "suggest"


def match(session: Session, ws: int, text: str, *, group_id: int | None = None,
          community_id: int | None = None) -> MatchOut:
    """Dry run: what would answer this text in this group (or community; global entries only without either).
    The same call as live replies (`automation.on_message`): `MatchSet.faq` in the community's scope, then
    `outcome` with the workspace's thresholds."""
    if group_id is not None:
        g = session.get(Group, group_id)
        if g is None or g.workspace_id != ws:
            raise NotFound(f"no group {group_id}", code="group_not_found")
        community_id = g.community_id
    else:
        _check_community(session, ws, community_id)
    cfg = config(session, ws)
    m = matching.load(session, ws).faq(text, community_id=community_id)
    out = outcome(cfg, m)
    if m is None or out == "none":
        return MatchOut(outcome="none", score=m.score if m else 0.0, threshold=cfg.threshold,
                        suggest_threshold=cfg.suggest_threshold, asks=m.asks if m else True)
    return MatchOut(outcome="reply" if out == "reply" else "suggest", entry_id=m.entry.id, question=m.entry.question,
                    answer=m.entry.answer,
                    score=m.score, method=m.method, keyword=m.keyword or None, threshold=cfg.threshold,
                    suggest_threshold=cfg.suggest_threshold)


def reply_text(nickname: str, answer: str) -> str:
    return f"@{nickname} {answer}" if nickname else answer


def replies_in_last_minute(session: Session, ws: int, group_id: int, now: datetime) -> int:
    return int(session.scalar(select(func.count()).select_from(Event).where(
        Event.workspace_id == ws, Event.group_id == group_id, Event.type == "faq.replied",
        Event.occurred_at > now - timedelta(seconds=60), Event.occurred_at <= now)) or 0)


def plan_reply(session: Session, ws: int, *, group: Group, contact: Contact | None, message_event_id: int,
               entry_id: int, answer: str, score: float, method: str, now: datetime, by: str = "siyu") -> int | None:
    """Post the answer in the group once per message (the key is the message's), and log `faq.replied`."""
    action_id = outbox.plan(
        session, ws, key=f"faq:{message_event_id}", kind="post_to_group", connector=group.platform, now=now,
        group_id=group.id, contact_id=contact.id if contact else None,
        payload={"text": reply_text(contact.display_name if contact else "", answer), "faq_entry_id": entry_id,
                 "message_event_id": message_event_id})
    events.record(session, ws, "faq.replied", now=now, source_key=f"faq:{message_event_id}",
                  contact_id=contact.id if contact else None, group_id=group.id,
                  payload={"message_event_id": message_event_id, "entry_id": entry_id, "score": score,
                           "method": method, "action_id": action_id, "by": by})
    return action_id


# -------------------------------------------------------------------------------------------------- suggestions


#: Suggestion events read per query while filling a page of open ones (answered ones are skipped).
SCAN_BATCH = 200
#: At most this many batches per page: past them the page is returned short, its cursor where the scan stopped.
SCAN_BATCHES = 5


def suggestions(session: Session, ws: int, *, open_only: bool = True, cursor: str | None = None,
                limit: int = 50) -> Page[SuggestionOut]:
    """Newest first (by the suggestion's event id). Whether a suggestion was answered is known only after reading
    it, so open ones are collected batch by batch; after `SCAN_BATCHES` batches a page may hold fewer than `limit`
    items and still have a `next_cursor` (keep paging until it is null)."""
    limit = max(1, min(limit, 200))
    q = select(Event).where(Event.workspace_id == ws, Event.type == "faq.suggested")
    out: list[SuggestionOut] = []
    last: int | None = None
    for _ in range(SCAN_BATCHES):
        batch = keyset(session, q, [Event.id], cursor=cursor, limit=SCAN_BATCH, key=lambda e: [e.id])
        out.extend(_suggestions_of(session, ws, batch.items, open_only=open_only))
        if len(out) > limit:
            return Page(out[:limit], encode([out[limit - 1].event_id]))
        cursor = batch.next_cursor
        if cursor is None:
            return Page(out, None)
        last = batch.items[-1].id
    return Page(out, encode([last]) if last is not None else None)


def _suggestions_of(session: Session, ws: int, rows: list[Event], *, open_only: bool) -> list[SuggestionOut]:
    if not rows:
        return []
    keys = [f"faq:{e.payload.get('message_event_id')}" for e in rows]
    answered = events.stored_keys(session, ws, keys)
    entry_ids = {int(e.payload.get("entry_id", 0)) for e in rows}
    by_id = {f.id: f for f in session.scalars(select(FaqEntry).where(FaqEntry.id.in_(entry_ids)))}
    out = []
    for e in rows:
        p: dict[str, Any] = e.payload
        done = f"faq:{p.get('message_event_id')}" in answered
        entry = by_id.get(int(p.get("entry_id", 0)))
        if entry is None or (open_only and done):
            continue
        out.append(SuggestionOut(
            event_id=e.id, message_event_id=int(p["message_event_id"]), group_id=e.group_id, contact_id=e.contact_id,
            text=str(p.get("text", "")), entry_id=entry.id, question=entry.question, answer=entry.answer,
            score=float(p.get("score", 0)), reason=str(p.get("reason", "")), created_at=e.occurred_at,
            answered=done))
    return out


def send_suggestion(session: Session, ws: int, suggestion_event_id: int, *, by: str, now: datetime) -> int | None:
    """Staff pressed "send this answer": the suggested answer goes to the group (once per message)."""
    ev = session.get(Event, suggestion_event_id)
    if ev is None or ev.workspace_id != ws or ev.type != "faq.suggested":
        raise NotFound(f"no FAQ suggestion {suggestion_event_id}", code="suggestion_not_found")
    mid = int(ev.payload["message_event_id"])
    if events.stored_keys(session, ws, [f"faq:{mid}"]):
        raise Conflict("this message was already answered", code="already_answered")
    entry = get_entry(session, ws, int(ev.payload["entry_id"]))
    group = session.get(Group, ev.group_id) if ev.group_id is not None else None
    if group is None:
        raise NotFound("the group of this message no longer exists", code="group_not_found")
    contact = session.get(Contact, ev.contact_id) if ev.contact_id is not None else None
    return plan_reply(session, ws, group=group, contact=contact, message_event_id=mid, entry_id=entry.id,
                      answer=entry.answer, score=float(ev.payload.get("score", 0)), method="staff", now=now, by=by)
