"""C8 FAQ in groups: paraphrases answered, unrelated chatter left alone, suggestions for staff, rate limit, no
answers to moderated messages, to siyu itself or to our robots, per-group switch, scope, WeCom tasks."""

from __future__ import annotations

from typing import Any

import pytest

from siyu.engagement.faq import service
from siyu.engagement.faq.schemas import Config, EntryIn
from siyu.events import service as events
from siyu.models import Group
from siyu.runtime import Runtime
from tests.moderation.world import WS, World, make_world

TAX_Q = "小规模纳税人季度免税额度是多少"
TAX_A = "小规模纳税人季度销售额不超过30万元免征增值税。"
INVOICE_A = "电子发票可在税务局网站下载，纸质发票丢失需登报声明。"


def _library(rt: Runtime, clock: Any, community_id: int | None = None) -> dict[str, int]:
    with rt.tx() as s:
        ids = {}
        for key, entry in {
            "tax": EntryIn(question=TAX_Q, answer=TAX_A, variants=["季度不超过多少不用交增值税"]),
            "invoice": EntryIn(question="发票丢了怎么办", answer=INVOICE_A, keywords=["发票丢失", "补发票"]),
            "social": EntryIn(question="社保断缴有什么影响", answer="断缴会影响购房、落户资格，请尽快补缴。"),
            "replay": EntryIn(question="直播课的回放在哪里看", answer="回放在公众号菜单「课程回放」。",
                              community_id=community_id),
            "cancel": EntryIn(question="公司注销需要准备哪些材料", answer="营业执照正副本、清算报告、公章。"),
        }.items():
            ids[key] = service.create_entry(s, WS, entry, now=clock.now()).id
        return ids


def _world(rt: Runtime, clock: Any, **kw: Any) -> World:
    w = make_world(rt, clock, **kw)
    _library(rt, clock)
    w.member("小李")
    w.tick(3600)
    return w


def _answers(w: World, group_index: int = 0) -> list[str]:
    return [t for t in w.bot_messages(group_index) if not t.startswith("@小李 欢迎") and "欢迎加入" not in t]


def test_a_paraphrased_chinese_question_gets_the_right_answer_and_chatter_gets_none(rt: Runtime, clock: Any) -> None:
    w = _world(rt, clock)
    ev = w.post("小李", "小规模的话一个季度多少钱以内可以免税呀")
    assert _answers(w) == [f"@小李 {TAX_A}"]
    replied = w.events("faq.replied")
    assert len(replied) == 1 and replied[0].payload["message_event_id"] == ev
    assert replied[0].payload["method"] == "similarity" and replied[0].payload["score"] >= 0.45
    w.tick(30)
    w.post("小李", "今天天气不错")
    w.tick(30)
    w.post("小李", "大家晚上好，我是新来的")
    assert len(_answers(w)) == 1
    assert w.events("faq.suggested") == []


def test_keywords_answer_and_normalisation_applies(rt: Runtime, clock: Any) -> None:
    w = _world(rt, clock)
    w.post("小李", "我的发 票 丢 失了，急")
    assert _answers(w) == [f"@小李 {INVOICE_A}"]
    assert w.events("faq.replied")[0].payload["method"] == "keyword"


def test_between_the_bounds_staff_get_a_suggestion_and_send_it(rt: Runtime, clock: Any) -> None:
    w = _world(rt, clock)
    with rt.tx() as s:
        service.set_config(s, WS, Config(threshold=0.9, suggest_threshold=0.2))
    w.post("小李", "小规模的话一个季度多少钱以内可以免税呀")
    assert _answers(w) == []
    with rt.tx() as s:
        sug = service.suggestions(s, WS).items
    assert len(sug) == 1 and sug[0].answer == TAX_A and sug[0].reason == "below_threshold"
    with rt.tx() as s:
        service.send_suggestion(s, WS, sug[0].event_id, by="user:kefu", now=clock.now())
    assert _answers(w) == [f"@小李 {TAX_A}"]
    with rt.tx() as s:
        assert service.suggestions(s, WS).items == []
        from siyu.kit.errors import Conflict

        with pytest.raises(Conflict):
            service.send_suggestion(s, WS, sug[0].event_id, by="user:kefu", now=clock.now())


def test_a_spam_message_gets_no_faq_reply(rt: Runtime, clock: Any) -> None:
    w = _world(rt, clock)
    w.tick(2 * 86400)  # not a newcomer any more: the first step is a warning
    w.post("小李", "发票丢失？代开发票找我 https://fapiao.example.com")
    assert [d for _, d, _ in w.decisions("小李")] == ["warn"]
    answers = _answers(w)
    assert len(answers) == 1 and "禁止发布链接" in answers[0]
    assert w.events("faq.replied") == [] and w.events("faq.suggested") == []


def test_rate_limit_per_group_per_minute(rt: Runtime, clock: Any) -> None:
    w = _world(rt, clock)
    with rt.tx() as s:
        service.set_config(s, WS, Config(rate_per_minute=2))
    for nick in ("甲", "乙", "丙"):
        w.member(nick)
    w.tick(3600)
    for nick in ("甲", "乙", "丙"):
        w.post(nick, "发票丢失了怎么处理")
        w.tick(5)
    assert len(w.events("faq.replied")) == 2
    limited = w.events("faq.suggested")
    assert [e.payload["reason"] for e in limited] == ["rate_limited"]
    w.tick(60)
    w.post("丙", "补发票怎么弄")
    assert len(w.events("faq.replied")) == 3


def test_never_answers_siyu_itself_robots_or_its_own_answers(rt: Runtime, clock: Any) -> None:
    w = _world(rt, clock)
    w.member("机器人")
    w.role("机器人", "robot")
    w.member("托儿")
    w.role("托儿", "vest")
    w.post("机器人", "发票丢失了怎么办")
    w.post("托儿", "发票丢失了怎么办")
    w.post("小李", f"@小李 {INVOICE_A}")  # someone forwards our answer (it contains the keyword's topic)
    # A platform that echoes siyu's own posts as messages (identity `siyu`).
    with rt.tx() as s:
        res = events.ingest(s, WS, [{"type": "message.posted", "group_id": w.groups[0],
                                     "contact": {"platform": "sandbox", "external_id": "siyu"},
                                     "payload": {"text": "发票丢失了怎么办"}}], now=clock.now())
        assert res[0].status == "stored"
        res = events.ingest(s, WS, [{"type": "message.posted", "group_id": w.groups[0],
                                     "contact": {"platform": "sandbox", "external_id": "someone"},
                                     "payload": {"text": "发票丢失了怎么办", "sender": "siyu"}}], now=clock.now())
        assert res[0].status == "stored"
    assert w.events("faq.replied") == [] and _answers(w) == []
    w.post("小李", "发票丢失了怎么办")
    assert len(w.events("faq.replied")) == 1


def test_group_switch_and_community_scope(rt: Runtime, clock: Any) -> None:
    w = make_world(rt, clock, groups=2)
    other = make_world(rt, clock, name="直播圈")  # a second community with its own code
    ids = _library(rt, clock, community_id=other.community_id)
    w.member("小李", groups=(1,))
    other.member("老王")
    w.tick(3600)
    with rt.tx() as s:
        g = s.get(Group, w.groups[1])
        assert g is not None
        g.settings = {"faq": False}
    w.post("小李", "发票丢了怎么办", 1)
    assert w.events("faq.replied") == []
    w.post("小李", "直播课的回放在哪里看", 0)  # scoped to the other community: not here
    assert w.events("faq.replied") == []
    other.post("老王", "直播课的回放在哪里看")
    replied = other.events("faq.replied")
    assert [e.payload["entry_id"] for e in replied] == [ids["replay"]]


def test_on_wecom_the_answer_is_an_owner_task(rt: Runtime, clock: Any) -> None:
    w = _world(rt, clock, mode="wecom")
    w.post("小李", "发票丢了怎么办")
    assert [st for k, st in w.actions("post_to_group") if k.startswith("faq:")] == ["task_open"]
    assert len(w.events("faq.replied")) == 1


def test_dry_run_match(rt: Runtime, clock: Any) -> None:
    w = _world(rt, clock)
    with rt.tx() as s:
        m = service.match(s, WS, "小规模的话一个季度多少钱以内可以免税呀", group_id=w.groups[0])
        assert m.outcome == "reply" and m.answer == TAX_A and 0 < m.score <= 1
        assert service.match(s, WS, "今天天气不错").outcome == "none"
