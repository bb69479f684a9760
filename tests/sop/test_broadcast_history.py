"""Broadcast from the console by tag name, and its history: what went out, when, to how many groups and members,
each group's status, and on WeCom the owner tasks with who has not confirmed yet."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from sqlalchemy import select, update

from siyu.communities import service as communities
from siyu.communities.schemas import CommunityIn, GroupIn
from siyu.contacts import service as contacts
from siyu.delivery import service as outbox
from siyu.kit.clock import FrozenClock
from siyu.models import Action, Identity, SandboxMessage
from siyu.runtime import DEFAULT_WORKSPACE as WS
from siyu.runtime import Runtime
from siyu.sandbox import service as sandbox
from tests.console.conftest import Console


def _world(rt: Runtime, clock: FrozenClock, *, wecom: bool) -> dict[str, Any]:
    """A community with three groups (owners 王姐, 王姐, 李哥) and three members, two of them tagged 意向/高."""
    with rt.tx() as s:
        if wecom:
            sandbox.set_mode(s, WS, "wecom")
        c = communities.create(s, WS, CommunityIn(name="直播社群"))
        groups = [communities.create_group(s, WS, GroupIn(name=f"直播 {i} 群", community_id=c.id, owner=owner),
                                           now=clock.now()) for i, owner in enumerate(("王姐", "王姐", "李哥"), 1)]
        high = contacts.ensure_tag(s, WS, "意向", "高")
        low = contacts.ensure_tag(s, WS, "意向", "低")
        members = [sandbox.create_member(s, WS, f"成员{i}", now=clock.now()) for i in range(3)]
        for m in members:
            sandbox.join(s, WS, m, groups[0], now=clock.now())
        s.flush()
        cids = [s.scalar(select(Identity.contact_id).where(Identity.external_id == m.external_id)) for m in members]
        for cid in cids[:2]:
            assert cid is not None
            contacts.apply_tags(s, WS, cid, [high.id], source="test", now=clock.now())
        return {"community": c.id, "groups": [g.id for g in groups], "high": high.id, "low": low.id,
                "members": [m.external_id for m in members]}


def test_broadcast_picks_tags_by_name(rt: Runtime, clock: FrozenClock, console: Callable[[str], Console]) -> None:
    w = _world(rt, clock, wecom=False)
    c = console("operator")
    html = c.get("/calendar").text
    picker = re.search(r'<select name="tag_ids" multiple[^>]*>(.*?)</select>', html, re.S)
    assert picker, "the broadcast form picks tags from a list"
    assert '<optgroup label="意向">' in picker.group(1)
    assert f'<option value="{w["high"]}">高</option>' in picker.group(1)
    assert 'inputmode="numeric"' not in html and "标签 ID" not in html
    r = c.post("/calendar/broadcast", {"text": "专属优惠", "tag_ids": str(w["high"])})
    assert r.status_code == 303, r.text
    with rt.tx() as s:
        got = sorted(m.recipient_external_id or "" for m in s.scalars(
            select(SandboxMessage).where(SandboxMessage.text == "专属优惠")))
    assert got == sorted(w["members"][:2])


def test_history_shows_each_group_and_who_has_not_confirmed(rt: Runtime, clock: FrozenClock, api: Callable[..., Any],
                                                            console: Callable[[str], Console]) -> None:
    w = _world(rt, clock, wecom=True)
    c = console("operator")
    r = c.post("/calendar/broadcast", {"text": "今晚 8 点直播", "community_ids": str(w["community"]),
                                       "tag_ids": str(w["high"])})
    assert r.status_code == 303, r.text
    with rt.tx() as s:
        posts = list(s.scalars(select(Action).where(Action.kind == "post_to_group").order_by(Action.group_id)))
        dms = list(s.scalars(select(Action).where(Action.kind == "direct_message").order_by(Action.id)))
        assert {a.state for a in posts} == {"task_open"}, "on WeCom every group post waits for its owner"
        bid = posts[0].idempotency_key.split(":")[1]
        s.execute(update(Action).where(Action.id == dms[1].id).values(state="failed", last_error="recipient gone"))
    # The first group's owner confirms in the client.
    assert outbox.complete_task(rt.sessions, rt.connectors, WS, posts[0].id, clock.now()).state == "task_done"

    a = api("viewer")
    listed = a.get("/api/v1/sop/broadcasts").json()
    assert listed["next_cursor"] is None and len(listed["items"]) == 1
    sent = listed["items"][0]
    assert (sent["broadcast_id"], sent["text"]) == (bid, "今晚 8 点直播")
    assert sent["groups"] == {"done": 1, "task_open": 2}
    assert sent["contacts"] == {"task_open": 1, "failed": 1}
    targets = a.get(f"/api/v1/sop/broadcasts/{bid}/targets").json()["items"]
    assert [(t["group"], t["owner"], t["status"]) for t in targets if t["kind"] == "post_to_group"] == [
        ("直播 1 群", "王姐", "done"), ("直播 2 群", "王姐", "task_open"), ("直播 3 群", "李哥", "task_open")]
    waiting = a.get("/api/v1/sop/owner-tasks").json()["items"]
    assert sorted((t["group"], t["owner"], t["source"]) for t in waiting if t["kind"] == "post_to_group") == [
        ("直播 2 群", "王姐", "broadcast"), ("直播 3 群", "李哥", "broadcast")]
    assert a.get("/api/v1/sop/broadcasts/nope/targets").json()["code"] == "broadcast_not_found"

    page = c.get("/calendar/broadcasts")
    assert page.status_code == 200
    html = page.text
    assert "今晚 8 点直播" in html and "待群主确认" in html
    assert re.search(r"<strong>王姐</strong></td><td class=\"num\">1</td>", html)
    assert re.search(r"<strong>李哥</strong></td><td class=\"num\">1</td>", html)
    detail = c.get(f"/calendar/broadcasts/{bid}").text
    assert "群主已确认" in detail and "李哥 尚未确认" in detail and "失败" in detail
    assert "3 个群，2 位成员" in detail
    en = c.get(f"/calendar/broadcasts/{bid}", headers={"Accept-Language": "en"}).text
    assert "Confirmed by the owner" in en and "李哥 has not confirmed yet" in en
    calendar = c.get("/calendar").text
    assert 'id="owner-waiting"' in calendar and f"/calendar/broadcasts/{bid}" in calendar
