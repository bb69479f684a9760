"""C9 dead groups: a group whose member messages stay below ratio × its 14-day baseline (or below the absolute
floor while it is new) for N consecutive days raises one alert per quiet streak, and a new one after it recovers
and goes quiet again. Vest accounts, robots and siyu do not count as activity."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from sqlalchemy import select

from siyu.communities import service as communities
from siyu.communities.schemas import CommunityIn, GroupIn, RoleIn
from siyu.contacts import identities
from siyu.engagement import activity
from siyu.engagement.alerts import service as alerts
from siyu.engagement.alerts import tasks as alert_tasks
from siyu.events import service as events
from siyu.models import Event, Group
from siyu.runtime import DEFAULT_WORKSPACE as WS
from siyu.runtime import Runtime
from siyu.sandbox import service as sandbox


class Town:
    def __init__(self, rt: Runtime, **group_settings: object) -> None:
        self.rt = rt
        now = rt.clock.now()
        with rt.tx() as s:
            c = communities.create(s, WS, CommunityIn(name="会计圈"))
            g = communities.create_group(s, WS, GroupIn(name="会计圈 1 群", community_id=c.id, owner="小王"), now=now)
            g.settings = dict(group_settings)
            self.community_id, self.group_id = c.id, g.id
            self.member = sandbox.create_member(s, WS, "活跃用户", now=now).id
            self.vest = sandbox.create_member(s, WS, "托儿", now=now).id
        for mid in (self.member, self.vest):
            with rt.tx() as s:
                sandbox.join(s, WS, sandbox.get_member(s, WS, mid), communities.get_group(s, WS, self.group_id),
                             now=now)
        with rt.tx() as s:
            ext = sandbox.get_member(s, WS, self.vest).external_id
            vest_cid = identities.identify(s, WS, sandbox.PLATFORM, ext, now=now)[0]
            communities.add_role(s, WS, c.id, RoleIn(contact_id=vest_cid, role="vest"))

    def talk(self, day: date, n: int, *, vest: bool = False) -> None:
        """n messages at local noon (04:00 UTC in Shanghai) of `day`."""
        self.rt.clock.set(datetime(day.year, day.month, day.day, 4, 0, tzinfo=UTC))
        for i in range(n):
            with self.rt.tx() as s:
                m = sandbox.get_member(s, WS, self.vest if vest else self.member)
                sandbox.post(s, WS, m, communities.get_group(s, WS, self.group_id), f"消息 {i}",
                             now=self.rt.clock.now())

    def tick_on(self, day: date) -> int:
        """Run the hourly check at 09:00 local time of `day`."""
        self.rt.clock.set(datetime(day.year, day.month, day.day, 1, 0, tzinfo=UTC))
        return alert_tasks.tick(self.rt)["dead_groups"]

    def alerts(self) -> list[tuple[str, str]]:
        with self.rt.tx() as s:
            return [(a.kind, a.key) for a in alerts.recent(s, WS)]


def d(day: int) -> date:
    return date(2026, 11, 1) + timedelta(days=day - 1)   # d(3) = 2026-11-03


def test_alert_after_n_quiet_days_not_before_once_per_streak_and_again_after_recovery(rt: Runtime) -> None:
    town = Town(rt)            # created 2026-11-02 08:00 local: first full day is 11-03
    for day in range(3, 17):   # 14 days of 5 member messages a day: baseline 5
        town.talk(d(day), 5)
    town.talk(d(17), 1)        # below 0.3 × 5 = 1.5: quiet
    town.talk(d(17), 20, vest=True)   # a vest account's chatter is not activity
    town.talk(d(18), 1)
    assert town.tick_on(d(19)) == 0    # two quiet days: not yet
    assert town.alerts() == []
    # 11-19: silence
    assert town.tick_on(d(20)) == 1    # three quiet days: dead
    key = f"dead_group:{town.group_id}:2026-11-17"
    assert town.alerts() == [("dead_group", key)]
    assert town.tick_on(d(20)) == 0    # the next hour: same streak, no second alert
    assert town.tick_on(d(21)) == 0    # still quiet the next day: same streak
    with rt.tx() as s:
        a = alerts.open_alerts(s, WS)[0]
        assert a.group_id == town.group_id and "会计圈 1 群" in a.message and a.detail["owner"] == "小王"
        assert a.detail["since"] == "2026-11-17" and a.detail["baseline"] is not None
        quiet = list(s.scalars(select(Event).where(Event.type == "group.went_quiet")))
        assert len(quiet) == 1 and quiet[0].payload["alert_id"] == a.id and quiet[0].group_id == town.group_id

    town.talk(d(21), 5)                # recovers
    assert town.tick_on(d(22)) == 0
    # 11-22, 11-23, 11-24: silence again
    assert town.tick_on(d(24)) == 0
    assert town.tick_on(d(25)) == 1    # a new streak, a new alert
    assert town.alerts() == [("dead_group", f"dead_group:{town.group_id}:2026-11-22"), ("dead_group", key)]


def test_new_group_uses_the_absolute_floor_and_settings_override(rt: Runtime) -> None:
    town = Town(rt, dead_after_days=2)
    town.talk(d(3), 3)
    # 11-04, 11-05 silent; the group is too young for a baseline, so the floor (1 message a day) applies
    assert town.tick_on(d(5)) == 0     # one quiet day
    assert town.tick_on(d(6)) == 1     # two quiet days (the group's own dead_after_days)
    with rt.tx() as s:
        assert alerts.open_alerts(s, WS)[0].detail["new_group"] is True


def test_siyu_messages_do_not_count_and_quiet_settings_can_switch_it_off(rt: Runtime) -> None:
    town = Town(rt)
    for day in (3, 4, 5):
        rt.clock.set(datetime(2026, 11, day, 4, 0, tzinfo=UTC))
        with rt.tx() as s:   # messages without a member (siyu's own posts echoed back) are not activity
            events.record(s, WS, "message.posted", now=rt.clock.now(), group_id=town.group_id,
                          payload={"text": "早安"})
    with rt.tx() as s:
        counts = activity.daily_member_messages(s, WS, d(3), 3, activity.workspace_zone(s, WS))
        assert counts.get(town.group_id, [0, 0, 0]) == [0, 0, 0]
        s.get(Group, town.group_id).settings = {"dead_alerts": False}  # type: ignore[union-attr]
    assert town.tick_on(d(6)) == 0
    with rt.tx() as s:
        s.get(Group, town.group_id).settings = {}  # type: ignore[union-attr]
    assert town.tick_on(d(6)) == 1


def test_acknowledge_and_count(rt: Runtime) -> None:
    town = Town(rt)
    assert town.tick_on(d(6)) == 1
    with rt.tx() as s:
        assert alerts.count_open(s, WS) == 1
        a = alerts.open_alerts(s, WS)[0]
        alerts.acknowledge(s, WS, a.id, now=rt.clock.now())
        alerts.acknowledge(s, WS, a.id, now=rt.clock.now())
        assert alerts.count_open(s, WS) == 0 and len(alerts.recent(s, WS)) == 1
