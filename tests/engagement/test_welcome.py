"""C1 welcome: on a bot platform the robot greets in the group; on WeCom it is a private message that must go
out within 20 s of the join or not at all; questionnaire answers become tags."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from siyu.acquisition import service as acquisition
from siyu.acquisition.schemas import ChannelCodeIn
from siyu.communities import service as communities
from siyu.communities.schemas import CommunityIn, GroupIn, Rules
from siyu.delivery import tasks
from siyu.engagement import welcome
from siyu.kit.errors import Invalid
from siyu.models import Action, SandboxMember, SandboxMessage
from siyu.runtime import Runtime
from siyu.sandbox import service as sandbox

QUESTION = {"question": "您所在的省份", "tag_group": "省份", "options": ["广东", "浙江"]}


def _community(rt: Runtime, **kw: Any) -> tuple[int, str]:
    with rt.tx() as s:
        c = communities.create(s, 1, CommunityIn(
            name="会计圈", welcome_text="欢迎加入会计圈！", activities="周四 20:00 直播课",
            rules=Rules(offers="每日早报", forbidden="广告、外链", penalties="两次移出"),
            questionnaire=[QUESTION], **kw))
        communities.create_group(s, 1, GroupIn(name="会计圈 1 群", community_id=c.id), now=rt.clock.now())
        code = acquisition.create(s, 1, ChannelCodeIn(name="公众号", community_id=c.id, tags=["渠道:公众号"]))
        return c.id, code.state


def _member_scans(rt: Runtime, state: str, nickname: str = "王会计") -> tuple[SandboxMember, int]:
    with rt.tx() as s:
        m = sandbox.create_member(s, 1, nickname, now=rt.clock.now())
        r = sandbox.scan(s, rt.connectors, 1, m, state, now=rt.clock.now())
        return m, r.contact_id


def test_bot_platform_welcomes_in_the_group_with_rules_and_activities(rt: Runtime) -> None:
    _, state = _community(rt)
    member, _ = _member_scans(rt, state)
    with rt.tx() as s:
        feed = sandbox.feed(s, 1, member)
    assert len(feed) == 1
    msg = feed[0]
    assert msg.sender == "siyu" and msg.group_external_id is not None and msg.recipient_external_id is None
    assert msg.text.startswith("@王会计 欢迎加入会计圈！")
    parts = ("【本群提供】每日早报", "【禁止】广告、外链", "【违规处理】两次移出", "周四 20:00 直播课", "您所在的省份")
    for part in parts:
        assert part in msg.text


def test_channel_welcome_override_replaces_the_greeting(rt: Runtime) -> None:
    cid, _ = _community(rt)
    with rt.tx() as s:
        code = acquisition.create(s, 1, ChannelCodeIn(name="南山店", community_id=cid,
                                                      welcome_override="南山店的朋友欢迎你！"))
    member, _ = _member_scans(rt, code.state)
    with rt.tx() as s:
        text = sandbox.feed(s, 1, member)[0].text
    assert "南山店的朋友欢迎你！" in text and "欢迎加入会计圈！" not in text


@pytest.fixture
def queued_rt(settings: Any, clock: Any) -> Iterator[Runtime]:
    """A runtime whose jobs wait in the queue, so the test decides when delivery happens."""
    runtime = Runtime(settings, clock=clock)
    runtime.ensure_workspace()
    with runtime.tx() as s:
        sandbox.set_mode(s, 1, "wecom")
    yield runtime
    runtime.close()


@pytest.mark.parametrize(("delay", "state"), [(5, "sent"), (25, "expired")])
def test_wecom_welcome_is_private_and_only_within_20_seconds(queued_rt: Runtime, clock: Any, delay: int,
                                                             state: str) -> None:
    rt = queued_rt
    _, code_state = _community(rt)
    member, contact_id = _member_scans(rt, code_state)
    clock.advance(timedelta(seconds=delay))
    with rt.tx() as s:
        action = s.scalar(select(Action).where(Action.kind == "welcome", Action.contact_id == contact_id))
        assert action is not None and action.state == "planned"
        action_id = action.id
    assert tasks.deliver(rt, action_id) == state
    with rt.tx() as s:
        msgs = list(s.scalars(select(SandboxMessage).where(SandboxMessage.sender == "siyu")))
        action = s.get(Action, action_id)
        assert action is not None
    if state == "sent":
        assert len(msgs) == 1 and msgs[0].recipient_external_id == member.external_id
        assert msgs[0].group_external_id is None
    else:
        assert msgs == [] and "20 s" in action.last_error


def test_wecom_group_posts_become_owner_tasks(queued_rt: Runtime) -> None:
    from siyu.delivery import service as outbox

    rt = queued_rt
    cid, _ = _community(rt)
    with rt.tx() as s:
        gid = communities.groups(s, 1, cid)[0].id
        aid = outbox.plan(s, 1, key="post:1", kind="post_to_group", connector="sandbox", now=rt.clock.now(),
                          group_id=gid, payload={"text": "今晚 8 点直播"})
    assert aid is not None
    assert tasks.deliver(rt, aid) == "task_open"
    with rt.tx() as s:
        assert [a.id for a in sandbox.open_tasks(s, 1)] == [aid]
        assert s.scalar(select(SandboxMessage).where(SandboxMessage.idempotency_key == "post:1")) is None
    done = outbox.complete_task(rt.sessions, rt.connectors, 1, aid, rt.clock.now())
    assert done.state == "task_done"
    with rt.tx() as s:
        msg = s.scalar(select(SandboxMessage).where(SandboxMessage.idempotency_key == "post:1"))
        assert msg is not None and msg.text == "今晚 8 点直播"
        assert sandbox.open_tasks(s, 1) == []


def test_questionnaire_answers_become_tags(rt: Runtime) -> None:
    from siyu.contacts import service as contacts

    cid, state = _community(rt)
    _, contact_id = _member_scans(rt, state)
    with rt.tx() as s:
        added = welcome.answer(s, 1, cid, contact_id, {"您所在的省份": "广东"}, now=rt.clock.now())
        assert added == ["省份:广东"]
        labels = {f"{g.name}:{t.name}" for g, t in contacts.tags_of(s, contact_id)}
        assert labels == {"渠道:公众号", "省份:广东"}
        with pytest.raises(Invalid) as bad:
            welcome.answer(s, 1, cid, contact_id, {"您所在的省份": "火星"}, now=rt.clock.now())
        assert bad.value.code == "invalid_option"


def test_removal_is_automatic_on_a_bot_platform_and_recorded(rt: Runtime) -> None:
    from siyu.delivery import service as outbox
    from siyu.events import service as events

    cid, state = _community(rt)
    _, contact_id = _member_scans(rt, state)
    with rt.tx() as s:
        gid = communities.groups(s, 1, cid)[0].id
        outbox.plan(s, 1, key="remove:1", kind="remove_member", connector="sandbox", now=rt.clock.now(),
                    group_id=gid, contact_id=contact_id)
    with rt.tx() as s:
        assert communities.active_membership(s, gid, contact_id) is None
        types = [e.type for e in events.timeline(s, 1, contact_id)]
    assert "group.member_left" in types and "action.sent" in types
