"""C7 moderation: the warn → remove → blacklist ladder on both kinds of platform, exemptions, flooding, spam waves,
newcomers, undo, sensitive words through normalisation, and complaint alerts (C9)."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from siyu.delivery import service as outbox
from siyu.engagement import matching
from siyu.engagement.moderation import service
from siyu.engagement.moderation.schemas import ExemptionIn, Rules, WordListIn, WordListPatch
from siyu.kit.errors import Forbidden
from siyu.models import Alert
from siyu.runtime import Runtime
from siyu.sandbox import service as sandbox
from tests.moderation.world import WS, World, make_world

LINK = "限时优惠，点击 https://cheap-deals.example.com/a 领取"


def _veteran(w: World, nickname: str, **kw: Any) -> None:
    """A member who joined two days ago (so newcomer rules do not apply)."""
    w.member(nickname, **kw)
    w.tick(2 * 86400)


@pytest.mark.parametrize("mode", ["bot", "wecom"])
def test_link_spammer_is_warned_then_removed_then_blacklisted_and_cannot_rejoin(rt: Runtime, clock: Any,
                                                                                mode: str, api: Any) -> None:
    w = make_world(rt, clock, mode=mode)
    _veteran(w, "广告哥")
    w.post("广告哥", LINK)
    assert w.decisions("广告哥") == [("link", "warn", "applied")]
    warn_state = "sent" if mode == "bot" else "task_open"
    assert [s for k, s in w.actions("post_to_group") if ":warn" in k] == [warn_state]
    if mode == "bot":
        assert any(t.startswith("@广告哥 请遵守群规：禁止发布链接") for t in w.bot_messages())

    w.tick(30)
    w.post("广告哥", "加我看 www.cheap-deals.cn 更多")
    assert [d for _, d, _ in w.decisions("广告哥")] == ["warn", "remove"]
    removals = w.actions("remove_member")
    if mode == "bot":
        assert removals[-1][1] == "sent" and not w.in_group("广告哥")
        w.tick(30)
        w.join("广告哥")  # someone invites them back
    else:  # WeCom: no bot in customer groups; the owner gets a one-tap removal task, the member is still there
        assert removals[-1][1] == "task_open" and w.in_group("广告哥")

    w.tick(30)
    w.post("广告哥", "[小程序] 拼团 0 元购")
    assert [d for _, d, _ in w.decisions("广告哥")] == ["warn", "remove", "blacklist"]
    assert w.decisions("广告哥")[-1][0] == "mini_program"
    assert w.blacklisted("广告哥")
    if mode == "bot":
        assert not w.in_group("广告哥")
    else:
        assert w.actions("remove_member")[-1][1] == "task_open"
        with rt.tx() as s:
            task = [a for a in sandbox.open_tasks(s, WS) if a.kind == "remove_member"][-1]
        outbox.complete_task(rt.sessions, rt.connectors, WS, task.id, clock.now())
        assert not w.in_group("广告哥")

    # Blacklisted: the channel code refuses them, in the service and over REST.
    with rt.tx() as s, pytest.raises(Forbidden) as refused:
        sandbox.scan(s, rt.connectors, WS, sandbox.get_member(s, WS, w.members["广告哥"]), w.state,
                     now=clock.now())
    assert refused.value.code == "blacklisted"
    r = api("operator").post(f"/api/v1/sandbox/members/{w.members['广告哥']}/scan", json={"state": w.state})
    assert r.status_code == 403 and r.json()["code"] == "blacklisted"
    decided = w.events("moderation.decided")
    assert [e.payload["decision"] for e in decided] == ["warn", "remove", "blacklist"]


def test_staff_kol_robots_and_whitelisted_members_are_not_moderated(rt: Runtime, clock: Any) -> None:
    w = make_world(rt, clock)
    for nick, role in (("群主", "owner"), ("管理员", "admin"), ("客服", "customer_service"), ("大V", "kol"),
                       ("达人", "koc"), ("机器人", "robot")):
        w.member(nick)
        w.role(nick, role)
    w.member("白名单")
    with rt.tx() as s:
        service.add_exemption(s, WS, ExemptionIn(contact_id=w.contacts["白名单"], note="合作方"), now=clock.now())
    w.member("普通人")
    for nick in ("群主", "管理员", "客服", "大V", "达人", "机器人", "白名单"):
        for _ in range(10):
            w.post(nick, LINK)
    assert w.decisions() == []
    w.post("普通人", LINK)
    assert len(w.decisions("普通人")) == 1


def test_flooding_is_counted_per_member_per_group_with_the_clock(rt: Runtime, clock: Any) -> None:
    w = make_world(rt, clock)
    _veteran(w, "话痨")
    for i in range(7):  # 7 messages in a minute: allowed (limit 8)
        w.post("话痨", f"第{i}条")
        w.tick(5)
    assert w.decisions("话痨") == []
    w.post("话痨", "第8条")
    assert w.decisions("话痨") == [("flood", "warn", "applied")]
    # After the warning the count starts again: one more message is not a second offence.
    w.tick(1)
    w.post("话痨", "好的")
    assert len(w.decisions("话痨")) == 1
    # Slow chatter never floods.
    _veteran(w, "慢热")
    for i in range(20):
        w.post("慢热", f"消息{i}")
        w.tick(10)
    assert w.decisions("慢热") == []


def test_newcomers_get_stricter_thresholds(rt: Runtime, clock: Any) -> None:
    w = make_world(rt, clock)
    _veteran(w, "老人")
    w.member("新人")
    w.member("新人2")
    for i in range(4):
        w.post("新人", f"大家好{i}")
        w.post("老人", f"大家好{i}")
        w.tick(2)
    assert w.decisions("新人") == [("flood", "warn", "applied")]
    assert w.decisions("老人") == []
    # A link from someone who joined minutes ago climbs the same ladder: a warning first, then the removal.
    w.post("新人2", LINK)
    assert w.decisions("新人2") == [("link", "warn", "applied")]
    assert w.in_group("新人2")
    w.tick(5)
    w.post("新人2", LINK)
    assert w.decisions("新人2") == [("link", "warn", "applied"), ("link", "remove", "applied")]
    assert not w.in_group("新人2")
    w.post("老人", LINK)
    assert w.decisions("老人") == [("link", "warn", "applied")]


def test_the_same_text_in_many_groups_is_a_spam_wave(rt: Runtime, clock: Any) -> None:
    w = make_world(rt, clock, groups=4)
    _veteran(w, "刷群", groups=(1, 2, 3))
    _veteran(w, "热心人", groups=(1, 2, 3))
    text = "本周六线下沙龙报名中，名额有限"
    w.post("刷群", text, 0)
    w.tick(60)
    w.post("刷群", f"  {text}！", 1)  # punctuation and spaces do not make it different
    assert w.decisions("刷群") == []
    w.tick(60)
    w.post("刷群", text, 2)
    assert w.decisions("刷群") == [("spam_wave", "remove", "applied")]
    assert not w.in_group("刷群", 2)
    # Different texts in several groups are fine; the same text long apart too.
    for i in range(4):
        w.post("热心人", f"第{i}个群的不同内容讨论", i)
        w.tick(400)
    for i in range(3):
        w.post("热心人", "同一句话但是隔了很久", i)
        w.tick(700)
    assert w.decisions("热心人") == []


def test_sensitive_words_match_through_spacing_and_full_width(rt: Runtime, clock: Any) -> None:
    w = make_world(rt, clock)
    words = "\n".join(f"违禁词{i:04d}" for i in range(3000)) + "\n加微信\nＶＸ号"
    with rt.tx() as s:
        service.create_word_list(s, WS, WordListIn(name="广告词", words=words), now=clock.now())
    _veteran(w, "小号")
    _veteran(w, "正常")
    w.post("正常", "微信支付可以吗？")
    w.post("小号", "想了解的 加 微 信 详聊")
    w.tick(10)
    w.post("小号", "我的vx号是 123")
    w.tick(10)
    assert [(r, d) for r, d, _ in w.decisions("小号")] == [("word", "warn"), ("word", "remove")]
    assert w.decisions("正常") == []


def test_the_automaton_is_built_once_per_version_of_the_lists(rt: Runtime, clock: Any) -> None:
    w = make_world(rt, clock)
    with rt.tx() as s:
        wl = service.create_word_list(s, WS, WordListIn(name="词表", words="刷单"), now=clock.now())
        list_id = wl.id
    _veteran(w, "甲")
    w.post("甲", "今天开会")
    before = matching.builds
    for i in range(5):
        w.post("甲", f"普通消息{i}")
        w.tick(30)
    assert matching.builds == before
    with rt.tx() as s:
        service.update_word_list(s, WS, list_id, WordListPatch(words="刷单\n兼职"))
    w.post("甲", "找兼职的来")
    assert matching.builds == before + 1
    assert w.decisions("甲") == [("word", "warn", "applied")]


def test_undo_restores_the_member_and_the_ladder(rt: Runtime, clock: Any) -> None:
    w = make_world(rt, clock)
    with rt.tx() as s:
        service.set_rules(s, WS, Rules(ladder=["blacklist"]))
    _veteran(w, "误伤")
    w.post("误伤", "资料在 https://pan.example.com/s/1 自取")
    assert w.decisions("误伤") == [("link", "blacklist", "applied")] and w.blacklisted("误伤")
    with rt.tx() as s:
        d = service.decisions(s, WS).items[0][0]
        service.undo(s, WS, d.id, by="user:admin", now=clock.now())
    assert w.decisions("误伤") == [("link", "blacklist", "undone")]
    assert not w.blacklisted("误伤")
    assert [e.payload["decision_id"] for e in w.events("moderation.undone")] == [d.id]
    with rt.tx() as s:  # can come back through the channel code
        r = sandbox.scan(s, rt.connectors, WS, sandbox.get_member(s, WS, w.members["误伤"]), w.state,
                         now=clock.now())
        assert r.joined
    with rt.tx() as s:
        service.set_rules(s, WS, Rules())
    w.tick(86400 * 2)
    w.post("误伤", "再发一次 https://pan.example.com/s/2")
    assert w.decisions("误伤")[-1] == ("link", "warn", "applied")  # the undone decision does not count


def test_undo_calls_off_a_removal_still_waiting_for_the_owner(rt: Runtime, clock: Any) -> None:
    w = make_world(rt, clock, mode="wecom")
    w.member("新来的")
    w.post("新来的", LINK)
    w.tick(5)
    w.post("新来的", LINK)
    assert w.decisions("新来的") == [("link", "warn", "applied"), ("link", "remove", "applied")]
    assert w.actions("remove_member")[-1][1] == "task_open"
    with rt.tx() as s:
        d = service.decisions(s, WS).items[0][0]  # newest first: the removal
        service.undo(s, WS, d.id, by="user:admin", now=clock.now())
    assert w.actions("remove_member")[-1][1] == "expired"
    with rt.tx() as s:
        assert [a for a in sandbox.open_tasks(s, WS) if a.kind == "remove_member"] == []


def test_complaint_words_alert_the_group_owner_at_once(rt: Runtime, clock: Any) -> None:
    w = make_world(rt, clock)
    with rt.tx() as s:
        service.create_word_list(s, WS, WordListIn(name="投诉", words="投诉\n退款\n骗子\n差评", purpose="complaint"),
                                 now=clock.now())
    _veteran(w, "不满")
    ev = w.post("不满", "课程质量太差了，我要退 款，不然就投诉")
    w.post("不满", "谢谢老师")
    with rt.tx() as s:
        alerts = list(s.scalars(select(Alert)))
    assert [(a.kind, a.key, a.group_id) for a in alerts] == [("complaint", f"complaint:{ev}", w.groups[0])]
    assert set(alerts[0].detail["words"]) == {"退款", "投诉"} and alerts[0].detail["owner"] == "王老师"
    assert w.decisions() == []  # a complaint is not a violation


def test_a_group_can_switch_moderation_off(rt: Runtime, clock: Any) -> None:
    from siyu.models import Group

    w = make_world(rt, clock)
    with rt.tx() as s:
        g = s.get(Group, w.groups[0])
        assert g is not None
        g.settings = {"moderation": False}
    _veteran(w, "自由")
    w.post("自由", LINK)
    assert w.decisions() == []


def test_ladder_steps() -> None:
    from siyu.engagement.moderation.automation import step_for

    cfg = Rules()
    assert [step_for(cfg, "warn", n) for n in range(4)] == ["warn", "remove", "blacklist", "blacklist"]
    assert [step_for(cfg, "remove", n) for n in range(3)] == ["remove", "blacklist", "blacklist"]
    two_warnings = Rules(ladder=["warn", "warn", "remove", "blacklist"])
    assert [step_for(two_warnings, "warn", n) for n in range(4)] == ["warn", "warn", "remove", "blacklist"]
    assert step_for(Rules(ladder=["warn", "remove"]), "blacklist", 0) == "remove"

