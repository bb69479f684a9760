"""C1: the welcome on join (value, rules, current activities) and the questionnaire whose answers become tags.

How it goes out depends on the platform: on a bot platform the robot greets the member in the group; on WeCom a
welcome is a one-off message that must leave within 20 s of the join (`welcome_window_s`), so the action carries
that deadline and expires rather than arriving late.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from siyu.communities import rules_text
from siyu.communities import service as communities
from siyu.communities.schemas import Question
from siyu.connectors.registry import capabilities_for
from siyu.contacts import service as contacts
from siyu.delivery import service as outbox
from siyu.events import service as events
from siyu.events.hooks import StoredEvent, on
from siyu.kit.errors import Invalid
from siyu.models import ChannelCode, Community, Contact, Group, Membership


def compose(community: Community, *, nickname: str = "", override: str = "") -> str:
    """The welcome text: greeting (or the channel's override), the rules, current activities, the questionnaire."""
    parts = []
    greeting = (override or community.welcome_text or f"欢迎加入{community.name}！").strip()
    parts.append(f"@{nickname} {greeting}" if nickname else greeting)
    rules = rules_text.render(community.rules or {}, community.name)
    if rules:
        parts.append(rules)
    if community.activities.strip():
        parts.append(f"【近期活动】{community.activities.strip()}")
    if community.questionnaire:
        qs = [Question.model_validate(q) for q in community.questionnaire]
        parts.append("【请回答】" + "；".join(f"{q.question}（{'/'.join(q.options)}）" for q in qs))
    return "\n\n".join(parts)


@on("group.member_joined")
def welcome_on_join(session: Session, ev: StoredEvent) -> None:
    """Only the join that opened the member's stay is welcomed (not the same join told again by another source,
    nor a join of someone already in), and only a live one (history never greets)."""
    if ev.group_id is None or ev.contact_id is None:
        return
    stay = session.scalar(select(Membership.id).where(Membership.join_event_id == ev.id,
                                                      Membership.group_id == ev.group_id,
                                                      Membership.left_at.is_(None)))
    if stay is None:
        return
    group = session.get(Group, ev.group_id)
    if group is None or group.community_id is None:
        return
    community = session.get(Community, group.community_id)
    contact = session.get(Contact, ev.contact_id)
    if community is None or contact is None:
        return
    override = ""
    code_id = ev.payload.get("channel_code_id")
    if code_id:
        code = session.get(ChannelCode, code_id)
        override = code.welcome_override if code else ""
    caps = capabilities_for(session, group.platform, ev.workspace_id)
    expires = None
    if caps is not None and caps.welcome_window_s is not None:
        expires = ev.occurred_at + timedelta(seconds=caps.welcome_window_s)
    outbox.plan(
        session, ev.workspace_id,
        key=f"welcome:{stay}",
        kind="welcome", connector=group.platform, now=ev.clock,
        group_id=group.id, contact_id=contact.id, expires_at=expires,
        payload={"text": compose(community, nickname=contact.display_name, override=override),
                 "joined_at": ev.occurred_at.isoformat(), "community_id": community.id},
    )


def answer(session: Session, ws: int, community_id: int, contact_id: int, answers: dict[str, str],
           *, now: datetime) -> list[str]:
    """Apply questionnaire answers as tags (question's tag group : chosen option)."""
    community = communities.get(session, ws, community_id)
    contacts.get(session, ws, contact_id)
    questions = {q.question: q for q in (Question.model_validate(x) for x in community.questionnaire)}
    tag_ids = []
    for question, choice in answers.items():
        q = questions.get(question)
        if q is None:
            raise Invalid(f"unknown question {question!r}", code="unknown_question")
        if choice not in q.options:
            raise Invalid(f"{choice!r} is not an option of {question!r}", code="invalid_option")
        tag_ids.append(contacts.ensure_tag(session, ws, q.tag_group, choice).id)
    events.record(session, ws, "contact.questionnaire_answered", now=now, contact_id=contact_id,
                  payload={"community_id": community_id, "answers": answers})
    return contacts.apply_tags(session, ws, contact_id, tag_ids, source=f"questionnaire:{community_id}", now=now)
