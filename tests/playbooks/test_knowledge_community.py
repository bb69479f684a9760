"""The knowledge-community playbook (seed 000) on 10 sandbox groups for 14 days: exactly the planned posts per
weekday, the cap and quiet hours respected, and the preview equal to what then went out."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

from siyu.playbooks import loader, runner
from siyu.runtime import Runtime
from siyu.sandbox import service as sandbox
from tests.sop.helpers import TZ, group_posts, make_groups, run_days

START = datetime(2026, 11, 1, 16, 0, tzinfo=UTC)  # Monday 2026-11-02 00:00 in Asia/Shanghai
#: morning report daily; Tue dry goods; Thu course; Fri discussion + quiz
PER_WEEKDAY = {0: 1, 1: 2, 2: 1, 3: 2, 4: 3, 5: 1, 6: 1}


def _apply(rt: Runtime, cid: int) -> list[runner.Line]:
    pb = loader.find("knowledge-community")
    with rt.tx() as s:
        lines = runner.preview(s, 1, pb, community_id=cid, anchor=START.date(), start=START, days=14)
        runner.apply(s, 1, pb, community_id=cid, anchor=START.date(), now=START, actor="test")
    return lines


def test_fourteen_days_post_exactly_the_plan_per_weekday(rt: Runtime, clock: Any) -> None:
    clock.set(START)
    cid, gids = make_groups(rt, 10)
    preview = _apply(rt, cid)
    run_days(rt, clock, 14)
    posts = group_posts(rt, gids)
    for gid in gids:
        per_day = Counter(day for (_, day), n in posts[gid].items() for _ in range(n))
        assert dict(per_day) == {d: 2 * n for d, n in PER_WEEKDAY.items()}, gid
        firsts = {line for line, _ in posts[gid]}
        assert {"【会计早报】早上好！", "【周二干货】财务必备 Excel 模板合集，回复“模板”领取。"} & firsts
    # no day over the cap of 3, nothing inside the quiet hours 22:00-07:30
    with rt.tx() as s:
        from sqlalchemy import select

        from siyu.models import SandboxMessage

        msgs = list(s.scalars(select(SandboxMessage).where(SandboxMessage.sender == "siyu")))
    per_group_day = Counter((m.group_external_id, m.created_at.astimezone(TZ).date()) for m in msgs)
    assert max(per_group_day.values()) <= 3
    for m in msgs:
        local = m.created_at.astimezone(TZ).time()
        assert not (local.hour >= 22 or (local.hour, local.minute) < (7, 30)), m.created_at
    # the preview listed exactly what went out
    assert len(preview) == len(msgs) == 10 * 2 * sum(PER_WEEKDAY.values())


def test_a_lower_cap_keeps_activity_posts_and_reports_the_rest(rt: Runtime, clock: Any) -> None:
    clock.set(START)
    cid, gids = make_groups(rt, 2)
    _apply(rt, cid)
    from siyu.engagement.sop import service
    from siyu.engagement.sop.schemas import ScheduleSettings

    with rt.tx() as s:
        service.set_community_settings(s, 1, cid, ScheduleSettings(daily_cap=2), now=clock.now())
    run_days(rt, clock, 7)
    posts = group_posts(rt, gids)
    friday = {line for (line, day) in posts[gids[0]] if day == 4}
    assert len(friday) == 2
    assert any(line.startswith("【周五小测验】") for line in friday)       # activity first
    assert not any(line.startswith("【周五话题】") for line in friday)     # pushed out by the cap


def test_on_wecom_the_same_playbook_becomes_owner_tasks(rt: Runtime, clock: Any) -> None:
    clock.set(START)
    with rt.tx() as s:
        sandbox.set_mode(s, 1, "wecom")
    cid, _ = make_groups(rt, 2)
    _apply(rt, cid)
    run_days(rt, clock, 1, step=timedelta(hours=1))
    with rt.tx() as s:
        tasks = sandbox.open_tasks(s, 1)
    assert len(tasks) == 2 * PER_WEEKDAY[0]  # Monday: the morning report in each group, waiting for the owner
    assert all(t.kind == "post_to_group" for t in tasks)
