"""The demo a newcomer explores: two communities, their groups and channel codes, and contacts with 30 days of
history (scans, joins, welcomes, posts, clicks, orders), built through the same services the product uses, on a
clock that walks forward through the past month."""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from siyu.acquisition import service as acquisition
from siyu.acquisition.schemas import ChannelCodeIn
from siyu.communities import service as communities
from siyu.communities.schemas import CommunityIn, GroupIn, Profile, Question, Rules, TargetUsers
from siyu.config import Settings
from siyu.engagement import welcome
from siyu.events import service as events
from siyu.kit.clock import FrozenClock, utcnow
from siyu.models import Community, SandboxMember
from siyu.runtime import DEFAULT_WORKSPACE, Runtime
from siyu.sandbox import service as sandbox

WS = DEFAULT_WORKSPACE
NICKNAMES = [
    "王会计", "李老师", "张小花", "财务小刘", "陈税务", "Amy", "赵经理", "孙出纳", "周审计", "吴小白",
    "郑CFO", "冯同学", "Lucy 林", "何总", "许会计", "韩小雨", "曹老板", "Kevin", "邓姐", "谢财务",
    "<script>alert(1)</script>", "唐唐", "罗老师", "梁会计", "宋小宝", "Tina", "蒋税务", "沈出纳",
]


def _knowledge() -> CommunityIn:
    return CommunityIn(
        name="会计人知识社群",
        type="content",
        profile=Profile(purpose="retain", north_star="每周活跃提问人数", orientation="knowledge",
                        target_users=TargetUsers(kind="users", description="中小企业会计、财务人员",
                                                 age="25-40", region="全国", occupation="会计"),
                        culture="专业、互助、不灌水", scale="growing", expansion="share_to_join",
                        management="pyramid", fee="free"),
        rules=Rules(name_card="城市-行业-姓名，例：深圳-制造-王芳",
                    offers="每日早报（政策速递）、周二干货、周四直播课、周五话题讨论",
                    how_to_ask="先搜群公告和精华，再@答疑官，一次说清背景和问题",
                    forbidden="广告、二维码、外链、拉人、刷屏、人身攻击",
                    allowed="专业讨论、经验分享、求职招聘（每周一）",
                    penalties="第一次提醒，第二次移出群聊并拉黑"),
        welcome_text="欢迎加入会计人知识社群！这里每天早上 8 点有政策早报，周四晚 8 点直播课。",
        activities="本周四 20:00 直播：《2026 个税汇算清缴要点》",
        questionnaire=[Question(question="您所在的省份", tag_group="省份", options=["广东", "浙江", "江苏", "其他"]),
                       Question(question="您的角色", tag_group="角色", options=["会计", "财务经理", "老板", "学生"])],
        default_capacity=200,
    )


def _flash() -> CommunityIn:
    return CommunityIn(
        name="双12 闪购群",
        type="flash",
        profile=Profile(purpose="convert", north_star="成交订单数", orientation="product",
                        target_users=TargetUsers(kind="users", description="老客户与门店到店顾客"),
                        culture="热闹、限时、福利", scale="small", expansion="open", management="flat", fee="free"),
        rules=Rules(name_card="昵称即可", offers="限时折扣、秒杀、接龙下单", how_to_ask="私聊福利官",
                    forbidden="广告、拉人", allowed="晒单、接龙", penalties="违规移出"),
        welcome_text="欢迎来到双12 闪购群！请置顶本群并设置免打扰，开抢前会提醒大家。",
        activities="12 月 12 日 20:00 开抢，前 100 名五折",
        default_capacity=200,
    )


def populate(settings: Settings, *, seed: int = 7, contacts: int = 28) -> dict[str, int]:
    rt = Runtime(settings, immediate=True)
    try:
        with rt.tx() as s:
            if s.scalar(select(func.count()).select_from(Community)):
                return {}
        return _build(rt, random.Random(seed), contacts)
    finally:
        rt.close()


def _build(rt: Runtime, rnd: random.Random, n_contacts: int) -> dict[str, int]:
    start = utcnow() - timedelta(days=30)
    clock = FrozenClock(start)
    rt.clock = clock
    with rt.tx() as s:
        know = communities.create(s, WS, _knowledge())
        flash = communities.create(s, WS, _flash())
        for i, cap in enumerate((200, 200, 30), start=1):
            communities.create_group(s, WS, GroupIn(name=f"会计人知识社群 {i} 群", community_id=know.id,
                                                    owner="运营-小王", capacity=cap), now=start)
        communities.create_group(s, WS, GroupIn(name="双12 闪购 1 群", community_id=flash.id, owner="福利官-小美",
                                                capacity=200), now=start)
        codes = [
            acquisition.create(s, WS, ChannelCodeIn(name="公众号文章", community_id=know.id,
                                                    tags=["渠道:公众号", "兴趣:税务"])),
            acquisition.create(s, WS, ChannelCodeIn(name="深圳南山门店", kind="store", community_id=flash.id,
                                                    tags=["渠道:门店", "门店:南山"],
                                                    welcome_override="南山店的朋友欢迎你！到店出示本群消息领取小礼品。")),
            acquisition.create(s, WS, ChannelCodeIn(name="销售-李娜", kind="salesperson", community_id=know.id,
                                                    tags=["渠道:销售", "销售:李娜"])),
        ]
    made = {"communities": 3, "groups": 5, "channel_codes": len(codes), "contacts": 0, "events": 0}
    members: list[tuple[int, int]] = []
    for i in range(n_contacts):
        clock.set(start + timedelta(days=rnd.uniform(0, 27), hours=rnd.uniform(0, 12)))
        with rt.tx() as s:
            m = sandbox.create_member(s, WS, NICKNAMES[i % len(NICKNAMES)], now=clock.now())
            code = rnd.choice(codes)
            r = sandbox.scan(s, rt.connectors, WS, m, code.state, now=clock.now())
            members.append((m.id, r.group_id))
            made["contacts"] += 1
            if code.community_id == know.id and rnd.random() < 0.7:
                welcome.answer(s, WS, know.id, r.contact_id,
                               {"您所在的省份": rnd.choice(["广东", "浙江", "江苏", "其他"]),
                                "您的角色": rnd.choice(["会计", "财务经理", "老板", "学生"])}, now=clock.now())
        for _ in range(rnd.randint(0, 4)):
            clock.advance(timedelta(hours=rnd.uniform(1, 48)))
            with rt.tx() as s:
                member = s.get(SandboxMember, m.id)
                assert member is not None
                group = communities.get_group(s, WS, r.group_id)
                kind = rnd.random()
                if kind < 0.5:
                    sandbox.post(s, WS, member, group, rnd.choice(
                        ["请问小规模纳税人季度免税额度是多少？", "谢谢老师分享！", "今天的早报很有用",
                         "接龙+1", "几点开抢？", "发票丢了怎么办"]), now=clock.now())
                elif kind < 0.85:
                    events.record(s, WS, "link.clicked", now=clock.now(), contact_id=r.contact_id,
                                  payload={"url": "https://example.com/articles/tax-2026", "campaign": "早报"})
                else:
                    events.record(s, WS, "order.paid", now=clock.now(), contact_id=r.contact_id,
                                  payload={"order_id": f"D{rnd.randint(10000, 99999)}",
                                           "amount": rnd.choice([99, 199, 599])})
        if rnd.random() < 0.1:
            clock.advance(timedelta(days=1))
            with rt.tx() as s:
                member = s.get(SandboxMember, m.id)
                assert member is not None
                sandbox.leave(s, WS, member, communities.get_group(s, WS, r.group_id), now=clock.now())
    made.update(_engagement(rt, clock, start, know.id, flash.id))
    with rt.tx() as s:
        made["events"] = s.scalar(select(func.count()).select_from(events.Event)) or 0
    return made


def _engagement(rt: Runtime, clock: FrozenClock, start: datetime, know_id: int, flash_id: int) -> dict[str, int]:
    """The three playbooks: the knowledge calendar with three weeks of history, the course cycle on a course
    community, and a flash sale whose D0 is the day after tomorrow; plus moderation word lists."""
    from siyu.engagement.sop import tasks as sop_tasks
    from siyu.models import WordList
    from siyu.playbooks import loader, runner

    # on the hour, as the scheduler ticks, so the history has no late posts
    history_from = (start + timedelta(days=9)).replace(minute=0, second=0, microsecond=0)
    clock.set(history_from)
    tz = ZoneInfo(rt.settings.timezone)
    with rt.tx() as s:
        course = communities.create(s, WS, CommunityIn(
            name="财税直播课", type="content", welcome_text="欢迎来到财税直播课！每周二晚 8 点开课。",
            rules=Rules(offers="每周直播课、回放、作业点评", forbidden="广告、拉人", penalties="违规移出")))
        communities.create_group(s, WS, GroupIn(name="财税直播课 1 群", community_id=course.id, owner="讲师助理-小陈"),
                                 now=clock.now())
        runner.apply(s, WS, loader.find("knowledge-community"), community_id=know_id,
                     anchor=history_from.astimezone(tz).date(), now=clock.now(), actor="demo")
        runner.apply(s, WS, loader.find("course-cycle"), community_id=course.id,
                     anchor=history_from.astimezone(tz).date(), now=clock.now(), actor="demo")
        s.add(WordList(workspace_id=WS, name="广告与引流", words="加微信\n加我微信\n代开发票\n刷单\n兼职日结",
                       severity="warn", purpose="moderation", active=True, created_at=clock.now()))
        s.add(WordList(workspace_id=WS, name="投诉", words="投诉\n退款\n骗子\n差评", severity="warn",
                       purpose="complaint", active=True, created_at=clock.now()))
    now = utcnow().replace(second=0, microsecond=0)
    ticks = 0
    while clock.now() < now:  # the calendar's past three weeks, hour by hour, as the scheduler lived them
        sop_tasks.tick(rt)
        ticks += 1
        clock.advance(timedelta(hours=1))
    clock.set(now)
    sop_tasks.tick(rt)
    with rt.tx() as s:
        d0 = now.astimezone(tz).date() + timedelta(days=2)
        runner.apply(s, WS, loader.find("flash-sale"), community_id=flash_id, anchor=d0, now=now, actor="demo")
    runner.tick(rt.sessions, now)
    # one spammer and one unhappy customer, so moderation and the owner's alerts have something to show
    with rt.tx() as s:
        group = communities.groups(s, WS, know_id)[0]
        for nickname, text in (("推广小号", "加我微信 vx8888 代开发票，兼职日结"),
                               ("周先生", "课程回放一直打不开，再不处理我要投诉！")):
            member = sandbox.create_member(s, WS, nickname, now=now)
            sandbox.join(s, WS, member, group, now=now)
            sandbox.post(s, WS, member, group, text, now=now)
    return {"playbooks": 3, "calendar_hours_simulated": ticks}
