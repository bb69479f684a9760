"""Shared set-up for the SOP tests: the knowledge-community calendar on sandbox groups, a clock that moves."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select

from siyu.communities import service as communities
from siyu.communities.schemas import CommunityIn, GroupIn
from siyu.engagement.sop import service, tasks
from siyu.engagement.sop.schemas import SopItemIn
from siyu.kit.clock import FrozenClock
from siyu.models import Group, SandboxMessage
from siyu.runtime import DEFAULT_WORKSPACE as WS
from siyu.runtime import Runtime

TZ = ZoneInfo("Asia/Shanghai")

#: The knowledge community's week (C2): daily morning report; Tue dry goods, Thu course, Fri discussion + quiz.
KNOWLEDGE = [
    dict(title="每日早报", text="早安！今日政策速递", rrule="FREQ=DAILY", time_of_day="08:00", kind="morning_report"),
    dict(title="干货分享", text="本周干货：报税要点", rrule="FREQ=WEEKLY;BYDAY=TU", time_of_day="20:00",
         kind="dry_goods"),
    dict(title="直播课", text="今晚 8 点直播课", rrule="FREQ=WEEKLY;BYDAY=TH", time_of_day="20:00", kind="course",
         activity=True),
    dict(title="话题讨论", text="本周话题：你怎么看", rrule="FREQ=WEEKLY;BYDAY=FR", time_of_day="20:00",
         kind="discussion", activity=True),
    dict(title="周五小测验", text="周五小测：3 道题", rrule="FREQ=WEEKLY;BYDAY=FR", time_of_day="20:30", kind="quiz",
         activity=True),
]
#: Posts per local weekday (Mon=0) per group that the calendar above must produce.
PER_WEEKDAY = {0: 1, 1: 2, 2: 1, 3: 2, 4: 3, 5: 1, 6: 1}


def make_groups(rt: Runtime, n: int, *, name: str = "会计知识社群", type: str = "content",
                settings: dict[str, Any] | None = None) -> tuple[int, list[int]]:
    with rt.tx() as s:
        c = communities.create(s, WS, CommunityIn(name=name, type=type))  # type: ignore[arg-type]
        if settings:
            c.settings = settings
        gids = [communities.create_group(s, WS, GroupIn(name=f"{name} {i + 1} 群", community_id=c.id),
                                         now=rt.clock.now()).id for i in range(n)]
        return c.id, gids


def add_items(rt: Runtime, community_id: int, rows: list[dict[str, Any]] | None = None, **common: Any) -> list[int]:
    with rt.tx() as s:
        return [service.create_item(s, WS, SopItemIn(community_id=community_id, **{**r, **common}),
                                    now=rt.clock.now()).id for r in (rows or KNOWLEDGE)]


def run_days(rt: Runtime, clock: FrozenClock, days: float, step: timedelta = timedelta(minutes=30)) -> None:
    """Tick at every step (the first at the current time) for `days` days; the clock ends `days` later."""
    end = clock.now() + timedelta(days=days)
    while clock.now() < end:
        tasks.tick(rt)
        clock.advance(step)


def group_posts(rt: Runtime, gids: list[int]) -> dict[int, Counter[tuple[str, int]]]:
    """Per group: Counter of (text's first line, local weekday) of what siyu posted in it."""
    with rt.tx() as s:
        ext = {g.external_id: g.id for g in s.scalars(select(Group).where(Group.id.in_(gids)))}
        out: dict[int, Counter[tuple[str, int]]] = {g: Counter() for g in gids}
        for m in s.scalars(select(SandboxMessage).where(SandboxMessage.sender == "siyu",
                                                        SandboxMessage.group_external_id.in_(list(ext)))):
            assert m.group_external_id is not None
            out[ext[m.group_external_id]][(m.text.splitlines()[0], m.created_at.astimezone(TZ).weekday())] += 1
        return out
