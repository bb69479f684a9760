"""C8 in groups: a member's question gets the library's answer, in the group, addressed to them.

A keyword hit or a similarity at or above the threshold → siyu answers through the outbox (on WeCom the post
becomes an owner task by itself). Between the suggestion bound and the threshold → a suggested answer for staff
(`faq.suggested`, in the console with a one-click send). Never for a message moderation acted on, never for siyu's
own messages or our robots and vest accounts, never more than the group's rate allows.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from siyu.engagement.faq import service
from siyu.engagement.moderation import context as mctx
from siyu.events import service as events
from siyu.events.hooks import StoredEvent

EXCERPT = 200


def on_message(session: Session, ev: StoredEvent) -> str:
    """What happened: skipped | none | replied | suggested (returned for tests and tracing)."""
    if mctx.was_moderated(session, ev.id):
        return "skipped"
    ctx = mctx.load(session, ev)
    if ctx is None or ctx.is_bot:
        return "skipped"
    cfg = service.config(session, ev.workspace_id)
    if not cfg.enabled or not ctx.switch("faq"):
        return "skipped"
    ms = ctx.match_set(session)
    if ms.is_own_answer(ctx.text):
        return "skipped"
    community_id = ctx.community.id if ctx.community is not None else None
    m = ms.faq(ctx.text, community_id=community_id, scan=ctx.scan(session))
    out = service.outcome(cfg, m)
    if m is None or out == "none":
        return "none"
    reason = "below_threshold"
    if out == "reply":
        limit = int(ctx.switch_value("faq_rate_per_minute", cfg.rate_per_minute))
        if service.replies_in_last_minute(session, ev.workspace_id, ctx.group.id, ev.clock) < limit:
            service.plan_reply(session, ev.workspace_id, group=ctx.group, contact=ctx.contact,
                               message_event_id=ev.id, entry_id=m.entry.id, answer=m.entry.answer, score=m.score,
                               method=m.method, now=ev.clock)
            return "replied"
        reason = "rate_limited"
    events.record(session, ev.workspace_id, "faq.suggested", now=ev.clock, source_key=f"faq-suggest:{ev.id}",
                  contact_id=ctx.contact.id, group_id=ctx.group.id,
                  payload={"message_event_id": ev.id, "entry_id": m.entry.id, "score": m.score, "method": m.method,
                           "reason": reason, "text": ctx.text[:EXCERPT]})
    return "suggested"
