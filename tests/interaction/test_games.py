"""Lucky draw (verified share = two tickets, winners reproducible from the seed), quiz, poll, dice, and siyu's
own messages never counting."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from siyu.communities import service as communities
from siyu.communities.schemas import RoleIn
from siyu.engagement.interaction import service
from siyu.engagement.sop import gating
from siyu.events import service as events
from siyu.models import Event
from siyu.runtime import DEFAULT_WORKSPACE as WS
from siyu.sandbox import service as sandbox
from tests.conftest import SECRET
from tests.interaction.conftest import World


def _events(world: World, kind: str) -> list[Event]:
    with world.rt.tx() as s:
        return list(s.scalars(select(Event).where(Event.type == kind).order_by(Event.id)))


def test_lucky_draw_with_a_verified_share_gets_two_tickets_and_is_reproducible(world: World) -> None:
    world.add("甲", "乙", "丙", "丁", "戊")
    iid = world.create(kind="draw", title="开场唤醒抽奖", keyword="抽奖", winners=2)
    assert any(t.startswith("【抽奖】开场唤醒抽奖") and "回复「抽奖」" in t for t in world.siyu_texts())
    for name in ("甲", "乙", "丙", "丁"):
        world.post(name, "抽奖")
    world.post("甲", "抽奖")                    # once per member
    world.post("戊", "我也想抽奖")              # not the keyword
    assert world.live(iid)["entries"] == 4

    now = world.rt.clock.now()
    with world.rt.tx() as s:
        link = service.create_share_link(s, WS, iid, world.contacts["乙"], now=now)
        assert service.create_share_link(s, WS, iid, world.contacts["乙"], now=now).id == link.id
        token = link.token
        assert service.verify_share(s, token, world.contacts["乙"], now=now) is None   # own click
        assert service.verify_share(s, "nope", world.contacts["戊"], now=now) is None
        assert service.verify_share(s, token, world.contacts["戊"], now=now) is not None
        assert service.verify_share(s, token, world.contacts["丙"], now=now) is not None  # idempotent
    assert len(_events(world, "interaction.share_verified")) == 1
    assert world.live(iid)["verified_shares"] == 1

    with world.rt.tx() as s:
        ia = service.draw(s, WS, iid, now=now, seed="fixed-seed-42")
        result = dict(ia.result)
    tickets = {c: n for c, n in result["tickets"]}
    assert tickets[world.contacts["乙"]] == 2 and tickets[world.contacts["甲"]] == 1 and len(tickets) == 4
    assert result["seed"] == "fixed-seed-42"
    pool = [(c, n) for c, n in result["tickets"]]
    assert result["winners"] == service.pick_winners(pool, "fixed-seed-42", 2)
    assert len(set(result["winners"])) == 2
    with world.rt.tx() as s:  # drawing again returns the first result
        again = service.draw(s, WS, iid, now=now, seed="other")
        assert again.result["winners"] == result["winners"]
    won = _events(world, "interaction.won")
    assert [e.contact_id for e in won] == result["winners"] and [e.payload["rank"] for e in won] == [1, 2]
    assert len(_events(world, "interaction.entered")) == 4
    posted = [t for t in world.siyu_texts() if t.startswith("【中奖名单】")]
    assert len(posted) == 1 and "fixed-seed-42" in posted[0]


def test_extra_ticket_doubles_the_odds() -> None:
    """Over many seeds, the member with two tickets wins about twice as often as one with a single ticket."""
    wins = {1: 0, 2: 0, 3: 0}
    for i in range(3000):
        wins[service.pick_winners([(1, 1), (2, 2), (3, 1)], f"s{i}", 1)[0]] += 1
    assert 1.6 < wins[2] / wins[1] < 2.4 and 1.6 < wins[2] / wins[3] < 2.4
    assert service.pick_winners([(1, 1), (2, 1)], "x", 5) in ([1, 2], [2, 1])
    assert service.pick_winners([], "x", 1) == []


def test_vest_accounts_enter_but_never_win(world: World) -> None:
    world.add("托", "真")
    with world.rt.tx() as s:
        communities.add_role(s, WS, world.community_id, RoleIn(contact_id=world.contacts["托"], role="vest"))
    iid = world.create(kind="draw", title="抽奖", winners=2, seed="s")
    world.post("托", "抽奖")
    world.post("真", "抽奖")
    with world.rt.tx() as s:
        ia = service.close(s, WS, iid, now=world.rt.clock.now())     # closing a draw draws it
        assert ia.result["winners"] == [world.contacts["真"]]


def test_quiz_keeps_the_first_answer_and_reports_correct_answerers(world: World) -> None:
    world.add("甲", "乙", "丙")
    iid = world.create(kind="quiz", title="面膜一片敷多久？", options=["5 分钟", "15 分钟", "1 小时"], correct=2)
    world.post("甲", "B")
    world.post("甲", "A")          # first answer counts for a quiz
    world.post("乙", "1")
    world.post("丙", "选b")
    world.post("丙", "9")          # out of range: ignored
    assert world.live(iid) == {"entries": 3, "counts": [1, 2, 0]}
    with world.rt.tx() as s:
        ia = service.close(s, WS, iid, now=world.rt.clock.now())
        assert ia.result["counts"] == [1, 2, 0]
        assert ia.result["correct_contacts"] == [world.contacts["甲"], world.contacts["丙"]]
    text = next(t for t in world.siyu_texts() if t.startswith("【答题结果】"))
    assert "正确答案：B. 15 分钟" in text and "答对 2 人：甲、丙" in text
    answered = _events(world, "interaction.answered")
    assert [(e.payload["option"], e.payload["correct"]) for e in answered] == [(2, True), (1, False), (2, True)]


def test_poll_keeps_the_last_answer(world: World) -> None:
    world.add("甲", "乙")
    iid = world.create(kind="poll", title="下期想要什么？", options=["面膜", "精华", "防晒"])
    world.post("甲", "A")
    world.post("甲", "3")          # a poll keeps the last vote
    world.post("乙", "c")
    with world.rt.tx() as s:
        ia = service.close(s, WS, iid, now=world.rt.clock.now())
        assert ia.result["counts"] == [0, 0, 2] and ia.result["entries"] == 2
    text = next(t for t in world.siyu_texts() if t.startswith("【投票结果】"))
    assert "C. 防晒 — 2 票" in text and "A. 面膜 — 0 票" in text


def test_dice_rolls_are_reproducible_from_seed_and_message(world: World) -> None:
    world.add("甲", "乙")
    iid = world.create(kind="dice", title="比大小", seed="dice-seed", rolls_per_member=1)
    m1 = world.post("甲", "掷骰子")
    m2 = world.post("乙", "/dice")
    world.post("甲", "掷骰子")      # one roll per member
    r1, r2 = service.dice_roll("dice-seed", m1), service.dice_roll("dice-seed", m2)
    rolls = [t for t in world.siyu_texts() if t.startswith("🎲")]
    assert rolls == [f"🎲 甲 掷出了 {r1} 点", f"🎲 乙 掷出了 {r2} 点"]
    assert [e.payload["roll"] for e in _events(world, "interaction.rolled")] == [r1, r2]
    with world.rt.tx() as s:
        ia = service.close(s, WS, iid, now=world.rt.clock.now())
        assert ia.result["max"] == max(r1, r2) and ia.result["rolls"] == 2


def test_siyus_own_messages_and_robots_never_count(world: World) -> None:
    world.add("甲", "机器人")
    with world.rt.tx() as s:
        communities.add_role(s, WS, world.community_id, RoleIn(contact_id=world.contacts["机器人"], role="robot"))
    iid = world.create(kind="solitaire", title="团购")
    world.post("机器人", "接龙")
    now = world.rt.clock.now()
    with world.rt.tx() as s:
        events.record(s, WS, "message.posted", now=now, contact_id=world.contacts["甲"], group_id=world.group_id,
                      payload={"text": "接龙", "from_siyu": True})
        events.record(s, WS, "message.posted", now=now, group_id=world.group_id, payload={"text": "接龙"})
    assert world.live(iid)["count"] == 0
    world.post("甲", "接龙")
    assert world.live(iid)["count"] == 1


def test_a_share_clicked_through_the_public_link_gives_the_extra_chance(world: World, app_client: Any) -> None:
    """The member's link goes out; a friend opens /s/<token> (their identity in `u`, signed, as the OAuth redirect
    gives it); the sharer's own click does not count, nor does an identity without its signature."""
    world.add("甲", "乙")
    iid = world.create(kind="draw", title="分享抽奖", keyword="抽奖", winners=1)
    world.post("甲", "抽奖")
    with world.rt.tx() as s:
        token = service.create_share_link(s, WS, iid, world.contacts["甲"], now=world.rt.clock.now()).token
        sharer = sandbox.get_member(s, WS, world.members["甲"]).external_id
        friend = sandbox.get_member(s, WS, world.members["乙"]).external_id
    own = app_client.get(gating.member_url("", SECRET, token, f"sandbox:{sharer}"), follow_redirects=False)
    assert own.status_code == 302 and world.live(iid)["verified_shares"] == 0
    unsigned = app_client.get(f"/s/{token}?u=sandbox:{friend}", follow_redirects=False)
    assert unsigned.status_code == 302 and world.live(iid)["verified_shares"] == 0  # anyone could send that
    r = app_client.get(gating.member_url("", SECRET, token, f"sandbox:{friend}"), follow_redirects=False)
    assert r.status_code == 302 and world.live(iid)["verified_shares"] == 1
    assert app_client.get("/s/not-a-token", follow_redirects=False).status_code == 404
