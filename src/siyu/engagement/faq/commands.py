"""What a person does to the FAQ library, from the REST API or the console: one function per act, each auditing
itself inside the request's unit of work (`edge/work.py`)."""

from __future__ import annotations

from siyu.edge.work import Work
from siyu.engagement.faq import service
from siyu.engagement.faq.schemas import Config, EntryIn, EntryPatch, QuickReplyIn, QuickReplyPatch, SentOut
from siyu.models import Event, FaqEntry, QuickReply


def create_entry(w: Work, body: EntryIn) -> FaqEntry:
    e = service.create_entry(w.s, w.ws, body, now=w.now)
    w.audit("faq.entry.create", "faq_entry", e.id, {"question": e.question[:100]})
    return e


def update_entry(w: Work, entry_id: int, body: EntryPatch) -> FaqEntry:
    """Change an entry; the audit names the fields given (the console's on / off switch gives `active`)."""
    e = service.update_entry(w.s, w.ws, entry_id, body)
    w.audit("faq.entry.update", "faq_entry", e.id, {"fields": sorted(body.model_fields_set)})
    return e


def toggle_entry(w: Work, entry_id: int) -> FaqEntry:
    """Switch an entry off if it answers, on if it does not."""
    e = service.get_entry(w.s, w.ws, entry_id)
    return update_entry(w, entry_id, EntryPatch(active=not e.active))


def delete_entry(w: Work, entry_id: int) -> None:
    service.delete_entry(w.s, w.ws, entry_id)
    w.audit("faq.entry.delete", "faq_entry", entry_id)


def create_quick_reply(w: Work, body: QuickReplyIn) -> QuickReply:
    r = service.create_quick_reply(w.s, w.ws, body, now=w.now)
    w.audit("faq.quick_reply.create", "quick_reply", r.id, {"title": r.title})
    return r


def update_quick_reply(w: Work, reply_id: int, body: QuickReplyPatch) -> QuickReply:
    r = service.update_quick_reply(w.s, w.ws, reply_id, body)
    w.audit("faq.quick_reply.update", "quick_reply", r.id)
    return r


def delete_quick_reply(w: Work, reply_id: int) -> None:
    service.delete_quick_reply(w.s, w.ws, reply_id)
    w.audit("faq.quick_reply.delete", "quick_reply", reply_id)


def set_settings(w: Work, body: Config) -> Config:
    out = service.set_config(w.s, w.ws, body)
    w.audit("faq.settings", "workspace", w.ws, body.model_dump(mode="json"))
    return out


def send_suggestion(w: Work, event_id: int) -> SentOut:
    """Staff pressed "send this answer": the suggested answer goes to the group (once per message)."""
    action_id = service.send_suggestion(w.s, w.ws, event_id, by=w.who.actor, now=w.now)
    ev = w.s.get(Event, event_id)
    mid = int(ev.payload["message_event_id"]) if ev is not None else 0
    w.audit("faq.suggestion.send", "event", event_id, {"action_id": action_id})
    return SentOut(action_id=action_id, message_event_id=mid)
