"""A known world for the operator's pages (issue 8 §2): two communities, three groups, two channel codes, two sales
users and seven contacts whose joins, leaves, messages, FAQ answers, moderation and tasks happened at known times,
so every figure the contact filters, group and code pages and the dashboard show can be asserted exactly.

Times (the clock is left at NOW = 12:00 Asia/Shanghai on Monday 2026-11-02; "today" is that local day):

    -10 d  王五 scans code B → group B1; posts in B1
     -3 d  张三, 李四 scan code A → group A1; 李四 posts; 赵六 is created (no group); 钱七 is added by staff
           with code B's state; a `remove` moderation decision on 王五
     -1 d  李四 leaves A1
    today  孙八 scans code A → A1; 马甲 (a vest account of A) joins A1 by invitation and posts; 张三 posts twice;
           the FAQ answers 张三 once by itself and suggests once (staff send it); a `warn` on 张三, and one undone
           decision; two owner tasks (张三, 王五); one open alert

Owners: 张三 and 赵六 → sales xiao; 李四 → sales li; the rest nobody. 张三 has the manual tag 兴趣:税务; code A tags
渠道:公众号.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import select

from siyu.acquisition import service as acquisition
from siyu.acquisition.schemas import ChannelCodeIn
from siyu.auth import service as auth
from siyu.communities import service as communities
from siyu.communities.schemas import CommunityIn, GroupIn, RoleIn
from siyu.contacts import identities, owners
from siyu.contacts import service as contacts
from siyu.engagement.alerts import service as alerts
from siyu.events import service as events
from siyu.models import Action, ModerationDecision, Tag, User
from siyu.runtime import DEFAULT_WORKSPACE as WS
from siyu.runtime import Runtime
from tests.conftest import START
from tests.console.conftest import PASSWORD

T0 = START                      # 08:00 local, Monday
NOW = T0 + timedelta(hours=4)   # 12:00 local, when the pages are looked at
TODAY = T0 + timedelta(hours=1)


@dataclass
class World:
    community_a: int = 0
    community_b: int = 0
    a1: int = 0
    a2: int = 0
    b1: int = 0
    code_a: int = 0
    code_b: int = 0
    xiao: int = 0
    li: int = 0
    tax_tag: int = 0
    channel_tag: int = 0
    c: dict[str, int] = field(default_factory=dict)


def build(rt: Runtime) -> World:
    w = World()
    d = timedelta(days=1)
    with rt.tx() as s:
        w.xiao = auth.create_user(s, WS, "xiao", PASSWORD, "sales").id
        w.li = auth.create_user(s, WS, "li", PASSWORD, "sales").id
        a = communities.create(s, WS, CommunityIn(name="会计圈"))
        b = communities.create(s, WS, CommunityIn(name="老板圈"))
        w.community_a, w.community_b = a.id, b.id
        w.a1 = communities.create_group(s, WS, GroupIn(name="会计圈 1 群", community_id=a.id, capacity=5),
                                        now=T0 - 20 * d).id
        w.a2 = communities.create_group(s, WS, GroupIn(name="会计圈 2 群", community_id=a.id, capacity=200),
                                        now=T0 - 20 * d).id
        w.b1 = communities.create_group(s, WS, GroupIn(name="老板圈 1 群", community_id=b.id), now=T0 - 20 * d).id
        w.code_a = acquisition.create(s, WS, ChannelCodeIn(name="公众号文章", community_id=a.id, state="code-a",
                                                           tags=["渠道:公众号"])).id
        w.code_b = acquisition.create(s, WS, ChannelCodeIn(name="门店海报", community_id=b.id, state="code-b")).id

    def scan(name: str, state: str, at_: timedelta) -> int:
        with rt.tx() as s:
            r = acquisition.scan(s, rt.connectors, WS, state, platform="sandbox", external_id=f"sbx-{name}",
                                 nickname=name, now=T0 + at_)
            return r.contact_id

    def post(cid: int, group: int, text: str, at_: timedelta) -> None:
        with rt.tx() as s:
            events.record(s, WS, "message.posted", now=T0 + at_, contact_id=cid, group_id=group,
                          payload={"text": text})

    w.c["王五"] = scan("王五", "code-b", -10 * d)
    post(w.c["王五"], w.b1, "大家好", -10 * d)
    w.c["张三"] = scan("张三", "code-a", -3 * d)
    w.c["李四"] = scan("李四", "code-a", -3 * d + timedelta(minutes=5))
    post(w.c["李四"], w.a1, "请问今年的汇算什么时候开始", -3 * d + timedelta(minutes=10))
    with rt.tx() as s:
        w.c["赵六"], _ = identities.identify(s, WS, "phone", "13900000006", now=T0 - 3 * d, display_name="赵六")
        w.c["钱七"], _ = identities.identify(s, WS, "wecom", "wm-qian7", now=T0 - 3 * d, display_name="钱七")
        events.record(s, WS, "contact.added", now=T0 - 3 * d, contact_id=w.c["钱七"],
                      payload={"staff": "sales-xiao", "state": "code-b"})
        s.add(ModerationDecision(workspace_id=WS, group_id=w.b1, contact_id=w.c["王五"], rule="link",
                                 decision="remove", created_at=T0 - 3 * d))
    with rt.tx() as s:
        communities.leave(s, WS, communities.get_group(s, WS, w.a1), w.c["李四"], now=T0 - d)
    w.c["孙八"] = scan("孙八", "code-a", timedelta(minutes=30))
    with rt.tx() as s:
        w.c["马甲"], _ = identities.identify(s, WS, "sandbox", "sbx-vest", now=TODAY, display_name="马甲")
        communities.add_role(s, WS, w.community_a, RoleIn(contact_id=w.c["马甲"], role="vest"))
        communities.join(s, WS, communities.get_group(s, WS, w.a1), w.c["马甲"], now=TODAY, scene="invite")
    post(w.c["马甲"], w.a1, "这个课程真不错", timedelta(hours=1, minutes=5))
    post(w.c["张三"], w.a1, "大家好，我是张三", timedelta(hours=1, minutes=10))
    post(w.c["张三"], w.a1, "发票怎么开", timedelta(hours=1, minutes=20))
    with rt.tx() as s:
        zhang = w.c["张三"]
        for key, kind, method in (("faq-a", "faq.replied", "bm25"), ("faq-b", "faq.suggested", "bm25"),
                                  ("faq-c", "faq.replied", "staff")):
            payload: dict[str, object] = {"message_event_id": 1, "entry_id": 1, "score": 0.9, "method": method}
            events.record(s, WS, kind, now=TODAY + timedelta(hours=1), source_key=key, contact_id=zhang,
                          group_id=w.a1, payload=payload)
        s.add(ModerationDecision(workspace_id=WS, group_id=w.a1, contact_id=zhang, rule="words", decision="warn",
                                 created_at=TODAY + timedelta(hours=1)))
        s.add(ModerationDecision(workspace_id=WS, group_id=w.a1, contact_id=zhang, rule="words",
                                 decision="remove", status="undone", created_at=TODAY + timedelta(hours=1)))
        for who, group in ((zhang, w.a1), (w.c["王五"], w.b1)):
            s.add(Action(workspace_id=WS, idempotency_key=f"task-{who}", kind="post_to_group", connector="sandbox",
                         group_id=group, contact_id=who, state="task_open", payload={"text": "请群主发一下"}))
        alerts.raise_alert(s, WS, kind="complaint", key="complaint-1", message="有人投诉", now=TODAY,
                           group_id=w.a1)
        tax = contacts.ensure_tag(s, WS, "兴趣", "税务")
        contacts.apply_tags(s, WS, zhang, [tax.id], source="manual", now=TODAY)
        w.tax_tag = tax.id
        w.channel_tag = int(s.scalar(select(Tag.id).where(Tag.name == "公众号")) or 0)
        owners.set_owner(s, WS, zhang, w.xiao)
        owners.set_owner(s, WS, w.c["赵六"], w.xiao)
        owners.set_owner(s, WS, w.c["李四"], w.li)
        assert s.get(User, w.xiao) is not None
    rt.clock.set(NOW)  # type: ignore[attr-defined]
    return w
