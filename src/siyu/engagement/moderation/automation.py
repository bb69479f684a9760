"""C7 in the background: every `message.posted` is checked against the rules, and a violation climbs the ladder
warn → remove → blacklist for that member. C9 (part): a complaint word alerts the group owner at once.

Rules: sensitive words (all lists in one Aho-Corasick automaton), links / QR codes / cards / mini-programs, contact
numbers (phone numbers, WeChat / QQ ids, in any disguise), flooding (N messages in T seconds in one group) and spam
waves (the same text in K groups within T); the text rules skip what the allowed terms of the workspace and the
community cover. Members in their first hours get stricter flooding and wave thresholds; the ladder holds for them
too. Staff, KOL / KOC, siyu's own accounts and whitelisted members are exempt.

Actions go through the outbox like everything else: a warning is a group post, a removal a `remove_member` action.
On a bot platform they happen at once; on WeCom (no bot in customer groups) they become one-tap owner tasks.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from siyu.delivery import service as outbox
from siyu.engagement import matching
from siyu.engagement.alerts import service as alerts
from siyu.engagement.moderation import context as mctx
from siyu.engagement.moderation import service
from siyu.engagement.moderation.schemas import STEPS, Rules
from siyu.events import service as events
from siyu.events.hooks import StoredEvent
from siyu.models import Event, Group, Membership, ModerationDecision

RULE_TEXT = {
    "word": "禁止发布违规内容", "link": "禁止发布链接", "qr_code": "禁止发布二维码", "card": "禁止发布名片",
    "mini_program": "禁止发布小程序", "flood": "禁止刷屏", "spam_wave": "禁止在多个群重复发布相同内容",
    "contact_number": "禁止发布手机号、微信号等联系方式",
}
EXCERPT = 200


@dataclass
class Violation:
    rule: str
    step: str
    detail: dict[str, Any] = field(default_factory=dict)


def on_message(session: Session, ev: StoredEvent) -> ModerationDecision | None:
    ctx = mctx.load(session, ev)
    if ctx is None:
        return None
    cfg = service.rules(session, ev.workspace_id)
    if cfg.complaint_alerts and not ctx.is_bot and not ctx.is_staff:
        _complaint(session, ctx)
    if ctx.exempt or not cfg.enabled or not ctx.switch("moderation"):
        return None
    found = violations(session, ctx, cfg)
    if not found:
        return None
    return decide(session, ctx, cfg, found)


def _newcomer(ctx: mctx.MessageContext, cfg: Rules) -> bool:
    m = ctx.membership
    return m is not None and cfg.newcomer_hours > 0 and \
        ctx.event.occurred_at - m.joined_at < timedelta(hours=cfg.newcomer_hours)


def _last_decision_event(session: Session, ws: int, contact_id: int, group_id: int | None = None) -> int:
    """Messages up to the last decision about this member were dealt with: rules that count messages start after."""
    q = select(func.max(ModerationDecision.event_id)).where(
        ModerationDecision.workspace_id == ws, ModerationDecision.contact_id == contact_id)
    if group_id is not None:
        q = q.where(ModerationDecision.group_id == group_id)
    return int(session.scalar(q) or 0)


def violations(session: Session, ctx: mctx.MessageContext, cfg: Rules) -> list[Violation]:
    ev = ctx.event
    newcomer = _newcomer(ctx, cfg)
    out: list[Violation] = []
    ms = ctx.match_set(session)
    community_id = ctx.community.id if ctx.community is not None else None
    allowed = service.allowed_for(session, ev.workspace_id, community_id)
    for f in ms.moderate(ctx.scan(session), kind=str(ev.payload.get("kind") or "") or None, allowed=allowed,
                         check_links=cfg.links, check_contacts=cfg.contacts):
        if f.rule == "word":
            info = ms.lists[f.list_id] if f.list_id is not None else None
            if info is not None:
                out.append(Violation("word", info.severity, {"list_id": info.id, "list": info.name,
                                                             "words": f.evidence}))
        elif f.rule == "contact_number":
            out.append(Violation("contact_number", cfg.contact_step, {"evidence": f.evidence, "what": f.what}))
        else:
            step = cfg.newcomer_link_step if newcomer else cfg.link_step
            out.append(Violation(f.rule, step, {"evidence": f.evidence}))
    flood_n = cfg.newcomer_flood_messages if newcomer else cfg.flood_messages
    since = ev.occurred_at - timedelta(seconds=cfg.flood_seconds)
    after = _last_decision_event(session, ev.workspace_id, ctx.contact.id, ctx.group.id)
    n = session.scalar(select(func.count()).select_from(Event).where(
        Event.workspace_id == ev.workspace_id, Event.contact_id == ctx.contact.id, Event.type == "message.posted",
        Event.group_id == ctx.group.id, Event.occurred_at > since, Event.occurred_at <= ev.occurred_at,
        Event.id > after)) or 0
    if n >= flood_n:
        out.append(Violation("flood", cfg.flood_step, {"messages": int(n), "seconds": cfg.flood_seconds,
                                                       "limit": flood_n}))
    same = matching.compact(ctx.text)
    if len(same) >= cfg.wave_min_chars:
        wave_k = cfg.newcomer_wave_groups if newcomer else cfg.wave_groups
        since = ev.occurred_at - timedelta(seconds=cfg.wave_seconds)
        after = _last_decision_event(session, ev.workspace_id, ctx.contact.id)
        # No workspace term (contact ids are unique across workspaces): it would steer the planner to the
        # (workspace, type, id) index and a walk over every message instead of this contact's time range.
        rows = session.execute(select(Event.group_id, Event.payload).where(
            Event.contact_id == ctx.contact.id,
            Event.type == "message.posted", Event.occurred_at > since, Event.occurred_at <= ev.occurred_at,
            Event.id > after).order_by(Event.id.desc()).limit(500)).all()
        groups = {gid for gid, payload in rows
                  if gid is not None and matching.compact(str((payload or {}).get("text", ""))) == same}
        groups.add(ctx.group.id)
        if len(groups) >= wave_k:
            out.append(Violation("spam_wave", cfg.wave_step, {"groups": sorted(groups), "limit": wave_k,
                                                              "seconds": cfg.wave_seconds}))
    if newcomer:
        for v in out:
            v.detail["newcomer"] = True
    return out


def step_for(cfg: Rules, start: str, prior: int) -> str:
    """The ladder: the rule's first step, one rung higher for each decision already applied to the member."""
    ladder: list[str] = list(cfg.ladder) or list(STEPS)
    first = next((i for i, s in enumerate(ladder) if STEPS.index(s) >= STEPS.index(start)), len(ladder) - 1)
    return ladder[min(first + prior, len(ladder) - 1)]


def decide(session: Session, ctx: mctx.MessageContext, cfg: Rules, found: list[Violation]) -> ModerationDecision:
    ev = ctx.event
    now = ev.clock
    worst = max(found, key=lambda v: STEPS.index(v.step))
    prior = session.scalar(select(func.count()).select_from(ModerationDecision).where(
        ModerationDecision.workspace_id == ev.workspace_id, ModerationDecision.contact_id == ctx.contact.id,
        ModerationDecision.status == "applied",
        ModerationDecision.created_at > now - timedelta(days=cfg.ladder_days))) or 0
    step = step_for(cfg, worst.step, int(prior))
    detail: dict[str, Any] = {**worst.detail, "rules": [v.rule for v in found], "prior": int(prior)}
    d = ModerationDecision(workspace_id=ev.workspace_id, group_id=ctx.group.id, contact_id=ctx.contact.id,
                           event_id=ev.id, rule=worst.rule, decision=step, excerpt=ctx.text[:EXCERPT],
                           detail=dict(detail), status="applied", action_ids=[], created_at=now)
    session.add(d)
    session.flush()
    actions: list[int | None] = []
    if step == "warn":
        text = cfg.warn_text.format(nickname=ctx.nickname, rule=RULE_TEXT.get(worst.rule, worst.rule))
        actions.append(outbox.plan(session, ev.workspace_id, key=f"moderation:{d.id}:warn", kind="post_to_group",
                                   connector=ctx.group.platform, now=now, group_id=ctx.group.id,
                                   contact_id=ctx.contact.id, payload={"text": text, "decision_id": d.id}))
    else:
        groups = [ctx.group]
        if step == "blacklist":
            if not ctx.contact.blacklisted:
                ctx.contact.blacklisted = True
                detail["set_blacklist"] = True
            groups += list(session.scalars(select(Group).join(Membership, Membership.group_id == Group.id).where(
                Group.workspace_id == ev.workspace_id, Membership.contact_id == ctx.contact.id,
                Membership.left_at.is_(None), Group.id != ctx.group.id).order_by(Group.id)))
        for g in groups:
            actions.append(outbox.plan(
                session, ev.workspace_id, key=f"moderation:{d.id}:remove:{g.id}", kind="remove_member",
                connector=g.platform, now=now, group_id=g.id, contact_id=ctx.contact.id,
                payload={"decision_id": d.id, "rule": worst.rule, "nickname": ctx.nickname,
                         "text": f"移出 {ctx.nickname}：{RULE_TEXT.get(worst.rule, worst.rule)}"}))
    d.action_ids = [a for a in actions if a is not None]
    d.detail = dict(detail)
    session.flush()
    mctx.mark_moderated(session, ev.id)
    events.record(session, ev.workspace_id, "moderation.decided", now=now, source_key=f"moderation:{d.id}",
                  contact_id=ctx.contact.id, group_id=ctx.group.id,
                  payload={"decision_id": d.id, "rule": d.rule, "decision": step, "message_event_id": ev.id})
    return d


def _complaint(session: Session, ctx: mctx.MessageContext) -> None:
    scan = ctx.scan(session)
    if not scan.complaint or not ctx.switch("complaint_alerts"):
        return
    words = list(dict.fromkeys(t.word for t in scan.complaint))
    ev = ctx.event
    alerts.raise_alert(
        session, ev.workspace_id, kind="complaint", key=f"complaint:{ev.id}", group_id=ctx.group.id,
        now=ev.clock,
        message=f"{ctx.nickname} 在「{ctx.group.name}」：{ctx.text[:EXCERPT]}",
        detail={"contact_id": ctx.contact.id, "words": words[:10], "message_event_id": ev.id,
                "owner": ctx.group.owner},
    )
