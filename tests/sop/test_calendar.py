"""C2 calendar end to end: the knowledge community's SOP on 10 sandbox groups for 14 simulated days, caps, quiet
hours, two schedulers, a crash mid-tick, missed windows. Time moves by the FrozenClock; nothing sleeps."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from siyu.delivery import service as outbox
from siyu.delivery import tasks as delivery_tasks
from siyu.engagement.sop import checks, planner, scheduler, service, tasks
from siyu.engagement.sop.schemas import ScheduleSettings, SopItemIn
from siyu.kit.clock import FrozenClock
from siyu.kit.errors import Invalid
from siyu.models import Action, Alert, SandboxMessage, SopOccurrence
from siyu.runtime import DEFAULT_WORKSPACE as WS
from siyu.runtime import Runtime
from siyu.sandbox import service as sandbox
from tests.sop.helpers import KNOWLEDGE, PER_WEEKDAY, TZ, add_items, group_posts, make_groups, run_days

TEXT = {r["title"]: r["text"] for r in KNOWLEDGE}


def expected_per_group(weeks: int) -> Counter[tuple[str, int]]:
    """(first line, weekday) → count for `weeks` full weeks of the knowledge calendar."""
    c: Counter[tuple[str, int]] = Counter()
    for day in range(7):
        c[(TEXT["每日早报"], day)] += weeks
    c[(TEXT["干货分享"], 1)] += weeks
    c[(TEXT["直播课"], 3)] += weeks
    c[(TEXT["话题讨论"], 4)] += weeks
    c[(TEXT["周五小测验"], 4)] += weeks
    return c


def test_knowledge_calendar_14_days_bot_mode_posts_exactly_the_plan(rt: Runtime, clock: FrozenClock) -> None:
    cid, gids = make_groups(rt, 10)
    add_items(rt, cid)
    run_days(rt, clock, 14)

    posts = group_posts(rt, gids)
    want = expected_per_group(2)
    for gid in gids:
        assert posts[gid] == want, f"group {gid}"
        per_day = Counter(day for (_, day), n in posts[gid].items() for _ in range(n))
        assert per_day == {d: 2 * n for d, n in PER_WEEKDAY.items()}
    with rt.tx() as s:
        # Every post went out on time, at its local time of day.
        msgs = list(s.scalars(select(SandboxMessage).where(SandboxMessage.sender == "siyu")))
        assert len(msgs) == 10 * 22
        assert {m.created_at.astimezone(TZ).strftime("%H:%M") for m in msgs} == {"08:00", "20:00", "20:30"}
        states = dict(s.execute(select(SopOccurrence.status, func.count()).where(
            SopOccurrence.due_at < clock.now()).group_by(SopOccurrence.status)).all())
        assert states == {"queued": 220}
        rows = checks.occurrences(s, WS, clock.now() - timedelta(days=14), clock.now())
        assert {r.display for r in rows} == {"sent"}


def test_knowledge_calendar_on_wecom_becomes_owner_tasks(rt: Runtime, clock: FrozenClock) -> None:
    with rt.tx() as s:
        sandbox.set_mode(s, WS, "wecom")
    cid, gids = make_groups(rt, 10)
    add_items(rt, cid)
    run_days(rt, clock, 14)

    with rt.tx() as s:
        assert s.scalar(select(func.count()).select_from(SandboxMessage)) == 0
        tasks_open = sandbox.open_tasks(s, WS)
        assert len(tasks_open) == 220
        assert {a.kind for a in tasks_open} == {"post_to_group"}
        per_group = Counter(a.group_id for a in tasks_open)
        assert per_group == dict.fromkeys(gids, 22)
        rows = checks.occurrences(s, WS, clock.now() - timedelta(days=14), clock.now())
        assert {r.display for r in rows} == {"task_open"}
    # The owner presses send on one: it is on the platform and the calendar shows it done.
    done = outbox.complete_task(rt.sessions, rt.connectors, WS, tasks_open[0].id, clock.now())
    assert done.state == "task_done"
    with rt.tx() as s:
        assert s.scalar(select(func.count()).select_from(SandboxMessage)) == 1
        rows = checks.occurrences(s, WS, clock.now() - timedelta(days=14), clock.now())
        assert Counter(r.display for r in rows) == {"task_open": 219, "done": 1}


def test_daily_cap_keeps_activity_posts_first_and_explains(rt: Runtime, clock: FrozenClock) -> None:
    cid, gids = make_groups(rt, 3)
    add_items(rt, cid)
    with rt.tx() as s:
        service.set_community_settings(s, WS, cid, ScheduleSettings(daily_cap=2), now=clock.now())
        with pytest.raises(Invalid) as bad:
            service.set_community_settings(s, WS, cid, ScheduleSettings(daily_cap=7), now=clock.now())
        assert bad.value.code == "invalid_daily_cap"
    run_days(rt, clock, 7)

    posts = group_posts(rt, gids)
    for gid in gids:
        # Friday: discussion + quiz are activity posts, so the morning report is the one pushed out.
        friday = {text for (text, day) in posts[gid] if day == 4}
        assert friday == {TEXT["话题讨论"], TEXT["周五小测验"]}
        per_day = Counter(day for (_, day), n in posts[gid].items() for _ in range(n))
        assert max(per_day.values()) == 2
        assert sum(per_day.values()) == 10
    with rt.tx() as s:
        skipped = checks.report(s, WS, clock.now() - timedelta(days=8), clock.now())
        assert len(skipped) == 3
        r = skipped[0]
        assert r.occ.status == "skipped_cap" and r.item.title == "每日早报"
        assert "daily cap of 2" in r.occ.reason and "话题讨论 20:00" in r.occ.reason
        assert "周五小测验 20:30" in r.occ.reason and "activity posts first" in r.occ.reason


def test_quiet_hours_skip_posts_of_one_group_only(rt: Runtime, clock: FrozenClock) -> None:
    cid, gids = make_groups(rt, 2)
    add_items(rt, cid)
    with rt.tx() as s:
        service.set_group_settings(s, WS, gids[0], ScheduleSettings(quiet_hours=["22:00", "08:30"]),
                                   now=clock.now())
    run_days(rt, clock, 7)
    posts = group_posts(rt, gids)
    assert sum(posts[gids[0]].values()) == 4   # Tue, Thu, 2 × Fri evenings; mornings are inside quiet hours
    assert all(text != TEXT["每日早报"] for text, _ in posts[gids[0]])
    assert sum(posts[gids[1]].values()) == 11
    with rt.tx() as s:
        quiet = checks.report(s, WS, clock.now() - timedelta(days=8), clock.now())
        assert len(quiet) == 7 and {r.occ.status for r in quiet} == {"skipped_quiet"}
        assert all("22:00–08:30" in r.occ.reason for r in quiet)


def test_planning_twice_is_idempotent_and_preview_writes_nothing(rt: Runtime, clock: FrozenClock) -> None:
    cid, gids = make_groups(rt, 4)
    ids = add_items(rt, cid)
    now = clock.now()
    with rt.tx() as s:
        pv = planner.preview(s, WS, ids, now, now + timedelta(days=7))
        assert len(pv) == 4 * 11
        assert s.scalar(select(func.count()).select_from(SopOccurrence)) == 0
        _due_at, group, text = pv[0]
        assert group is not None and group.id == gids[0] and text.startswith(TEXT["每日早报"])
    with rt.tx() as s:
        first = planner.plan_window(s, WS, now, now + timedelta(days=7), now)
    with rt.tx() as s:
        second = planner.plan_window(s, WS, now, now + timedelta(days=7), now)
    assert first["inserted"] == 44 and second["inserted"] == 0
    with rt.tx() as s:
        keys = list(s.scalars(select(SopOccurrence.key)))
        assert len(keys) == len(set(keys)) == 44
        assert keys[0].startswith(f"sop:{ids[0]}:20261102T0000:g")


@pytest.fixture
def second_rt(settings: Any, clock: FrozenClock) -> Iterator[Runtime]:
    other = Runtime(settings, clock=clock, immediate=True)
    yield other
    other.close()


def test_two_schedulers_ticking_at_once_never_double_post(rt: Runtime, second_rt: Runtime,
                                                          clock: FrozenClock) -> None:
    cid, _gids = make_groups(rt, 5)
    add_items(rt, cid)
    end = clock.now() + timedelta(days=3)
    errors: list[BaseException] = []
    while clock.now() < end:
        barrier = threading.Barrier(2)

        def run(r: Runtime, b: threading.Barrier = barrier) -> None:
            try:
                b.wait(timeout=30)
                tasks.tick(r)
            except BaseException as exc:  # surfaced below
                errors.append(exc)

        threads = [threading.Thread(target=run, args=(r,)) for r in (rt, second_rt)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
        assert not errors, errors
        clock.advance(timedelta(hours=2))
    with rt.tx() as s:
        keys = [k for (k,) in s.execute(select(SandboxMessage.idempotency_key).where(SandboxMessage.sender == "siyu"))]
        # Mon 08:00, Tue 08:00 + 20:00, Wed 08:00 (the last tick is Thu 06:00): 4 per group, once each.
        assert len(keys) == len(set(keys)) == 5 * 4
        assert s.scalar(select(func.count()).select_from(Action)) == 20


def test_crash_mid_tick_rolls_back_and_the_restart_posts_once(rt: Runtime, settings: Any, clock: FrozenClock,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    cid, _gids = make_groups(rt, 6)
    add_items(rt, cid)
    real_plan = outbox.plan
    calls = {"n": 0}

    def dying_plan(*a: Any, **kw: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 4:
            raise RuntimeError("process died while materializing")
        return real_plan(*a, **kw)

    monkeypatch.setattr(scheduler.outbox, "plan", dying_plan)
    with pytest.raises(RuntimeError):
        tasks.tick(rt)
    with rt.tx() as s:
        assert s.scalar(select(func.count()).select_from(Action)) == 0, "the half-done batch must roll back"
        assert s.scalar(select(func.count()).select_from(SopOccurrence).where(SopOccurrence.status == "queued")) == 0
    monkeypatch.setattr(scheduler.outbox, "plan", real_plan)

    restarted = Runtime(settings, clock=clock, immediate=True)
    try:
        tasks.tick(restarted)
        tasks.tick(restarted)
        tasks.tick(rt)
    finally:
        restarted.close()
    with rt.tx() as s:
        keys = [k for (k,) in s.execute(select(SandboxMessage.idempotency_key))]
        assert len(keys) == len(set(keys)) == 6


def test_queued_but_undelivered_actions_are_not_planned_again(settings: Any, clock: FrozenClock) -> None:
    """A restart after the tick committed but before delivery: the outbox has the action, the next tick adds none."""
    queued = Runtime(settings, clock=clock)  # jobs wait in the queue: nothing is delivered
    queued.ensure_workspace()
    try:
        cid, _gids = make_groups(queued, 3)
        add_items(queued, cid)
        tasks.tick(queued)
        with queued.tx() as s:
            ids = list(s.scalars(select(Action.id)))
        assert len(ids) == 3
    finally:
        queued.close()
    again = Runtime(settings, clock=clock, immediate=True)
    try:
        assert tasks.tick(again)["claimed"] == 0
        for action_id in ids:
            assert delivery_tasks.deliver(again, action_id) == "sent"
        with again.tx() as s:
            assert s.scalar(select(func.count()).select_from(Action)) == 3
            assert s.scalar(select(func.count()).select_from(SandboxMessage)) == 3
    finally:
        again.close()


def test_missed_window_is_sent_late_or_skipped_per_policy_and_alerted(rt: Runtime, clock: FrozenClock) -> None:
    cid, _gids = make_groups(rt, 2)
    late, skip = add_items(rt, cid, [
        dict(title="迟到也发", text="late ok", rrule="FREQ=DAILY", time_of_day="08:30", missed_policy="late"),
        dict(title="错过不发", text="skip me", rrule="FREQ=DAILY", time_of_day="08:30", missed_policy="skip"),
    ])
    tasks.tick(rt)  # 08:00: planned, nothing due
    clock.advance(timedelta(minutes=55))  # the server was down from 08:00 to 08:55
    res = tasks.tick(rt)
    assert (res["late"], res["skipped_missed"]) == (2, 2)
    with rt.tx() as s:
        texts = [m.text for m in s.scalars(select(SandboxMessage))]
        assert texts == ["late ok", "late ok"]
        occ = {(o.item_id, o.status): o for o in s.scalars(select(SopOccurrence).where(
            SopOccurrence.due_at <= clock.now()))}
        assert "sent late by 25 min" in occ[(late, "queued")].reason
        assert occ[(skip, "skipped_missed")].action_id is None
        alerts = list(s.scalars(select(Alert).where(Alert.kind == "missed_sop").order_by(Alert.id)))
        assert [a.key for a in alerts] == [f"missed_sop:{late}:20261102T0030", f"missed_sop:{skip}:20261102T0030"]
        assert alerts[0].detail["count"] == 2 and "sent late" in alerts[0].message
    tasks.tick(rt)
    with rt.tx() as s:
        assert s.scalar(select(func.count()).select_from(Alert)) == 2
    # Within the grace period it is simply on time.
    clock.advance(timedelta(days=1) - timedelta(minutes=55 - 35))  # next day 08:35, 5 min after 08:30
    tasks.tick(rt)
    with rt.tx() as s:
        assert s.scalar(select(func.count()).select_from(SandboxMessage)) == 6
        assert s.scalar(select(func.count()).select_from(Alert)) == 2


def test_after_join_dm_and_after_group_created_post(rt: Runtime, clock: FrozenClock) -> None:
    cid, gids = make_groups(rt, 1)
    with rt.tx() as s:
        service.create_item(s, WS, SopItemIn(title="第三天私信", text="入群第 3 天，送你资料包", community_id=cid,
                                             timing="after_join", offset_days=3, time_of_day="20:00"), now=clock.now())
        service.create_item(s, WS, SopItemIn(title="建群一周", text="建群一周啦", community_id=cid,
                                             timing="after_group_created", offset_days=7, time_of_day="10:00"),
                            now=clock.now())
        member = sandbox.create_member(s, WS, "小王", now=clock.now())
        from siyu.communities import service as communities

        sandbox.join(s, WS, member, communities.get_group(s, WS, gids[0]), now=clock.now())
        member_ext = member.external_id
    run_days(rt, clock, 8)
    with rt.tx() as s:
        dms = list(s.scalars(select(SandboxMessage).where(SandboxMessage.recipient_external_id == member_ext,
                                                          SandboxMessage.kind == "direct_message")))
        assert [m.text for m in dms] == ["入群第 3 天，送你资料包"]
        assert dms[0].created_at.astimezone(TZ).strftime("%m-%d %H:%M") == "11-05 20:00"
        posts = list(s.scalars(select(SandboxMessage).where(SandboxMessage.text == "建群一周啦")))
        assert len(posts) == 1 and posts[0].created_at.astimezone(TZ).strftime("%m-%d %H:%M") == "11-09 10:00"


def test_variants_are_assigned_per_group_and_recorded(rt: Runtime, clock: FrozenClock) -> None:
    cid, _gids = make_groups(rt, 12)
    with rt.tx() as s:
        service.create_item(s, WS, SopItemIn(
            title="A/B 早报", community_id=cid, rrule="FREQ=DAILY", time_of_day="08:00",
            variants=[{"name": "A", "text": "版本 A"}, {"name": "B", "text": "版本 B"}]), now=clock.now())
    run_days(rt, clock, 2)
    with rt.tx() as s:
        occ = list(s.scalars(select(SopOccurrence).order_by(SopOccurrence.due_at)))
        by_group: dict[int | None, set[str]] = {}
        for o in occ:
            by_group.setdefault(o.group_id, set()).add(o.variant)
        assert all(len(v) == 1 for v in by_group.values()), "a group always gets the same variant"
        assert {v for vs in by_group.values() for v in vs} == {"A", "B"}
        texts = Counter(m.text for m in s.scalars(select(SandboxMessage)))
        assert set(texts) == {"版本 A", "版本 B"} and sum(texts.values()) == 24


def test_dst_zone_keeps_wall_clock_time(rt: Runtime, clock: FrozenClock) -> None:
    from datetime import UTC, datetime

    from siyu.models import Workspace

    with rt.tx() as s:
        w = s.get(Workspace, WS)
        assert w is not None
        w.timezone = "Europe/Berlin"
    cid, _ = make_groups(rt, 1)
    with rt.tx() as s:
        item = service.create_item(s, WS, SopItemIn(title="早报", text="x", community_id=cid, rrule="FREQ=DAILY",
                                                    time_of_day="08:00",
                                                    starts_at=datetime(2026, 3, 27, tzinfo=UTC)), now=clock.now())
        times = planner.rrule_times(item, service.zone(s, WS), datetime(2026, 3, 27, tzinfo=UTC),
                                    datetime(2026, 3, 31, tzinfo=UTC))
    # Berlin switches to summer time on 2026-03-29: 08:00 local is 07:00 UTC before, 06:00 UTC after.
    assert [t.strftime("%d %H:%M") for t in times] == ["27 07:00", "28 07:00", "29 06:00", "30 06:00"]
