"""The flash-sale playbook (seed 004) end to end in the sandbox: warm-up tasks and posts, a solitaire with a live
count, a wake-up draw, the remaining-stock countdown, the close, and the group dissolved."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import select

from siyu.acquisition import service as acquisition
from siyu.acquisition.schemas import ChannelCodeIn
from siyu.communities import service as communities
from siyu.communities.schemas import CommunityIn, GroupIn
from siyu.engagement.alerts import service as alerts
from siyu.models import Group, Interaction, PlaybookStep, SandboxMember
from siyu.playbooks import loader, runner
from siyu.runtime import Runtime
from siyu.sandbox import service as sandbox

D0 = date(2026, 12, 12)


def _at(rt: Runtime, local: str) -> datetime:
    """'D-1 20:05' → the UTC instant in the workspace time zone (Asia/Shanghai)."""
    from siyu.playbooks.schema import StepSpec

    with rt.tx() as s:
        tz = runner.workspace_tz(s, 1)
    return runner.step_time(StepSpec(at=local, do="post", text="x"), D0, tz)


def _move(rt: Runtime, clock: Any, when: datetime) -> dict[str, int]:
    clock.set(when)
    return runner.tick(rt.sessions, when)


def _group_texts(rt: Runtime, group_id: int) -> list[str]:
    with rt.tx() as s:
        group = communities.get_group(s, 1, group_id)
        return [m.text for m in sandbox.group_messages(s, 1, group, limit=500) if m.sender == "siyu"]


def test_flash_sale_runs_end_to_end(rt: Runtime, clock: Any) -> None:
    clock.set(datetime(2026, 12, 8, 0, 0, tzinfo=UTC))
    now = clock.now()
    with rt.tx() as s:
        c = communities.create(s, 1, CommunityIn(name="双12 闪购群", type="flash"))
        g = communities.create_group(s, 1, GroupIn(name="双12 闪购 1 群", community_id=c.id), now=now)
        code = acquisition.create(s, 1, ChannelCodeIn(name="海报活码", community_id=c.id))
        gid, cid, state = g.id, c.id, code.state
    with rt.tx() as s:
        pb = loader.find("flash-sale")
        preview = runner.preview(s, 1, pb, community_id=cid, anchor=D0, start=now, days=10)
        run = runner.apply(s, 1, pb, community_id=cid, anchor=D0, now=now, actor="test")
        run_id = run.id
    assert len(preview) == len(pb.timeline)
    assert preview[0].kind == "staff_task" and preview[-1].kind == "close_group"

    members = []
    with rt.tx() as s:
        for i in range(6):
            m = sandbox.create_member(s, 1, f"顾客{i}", now=now)
            sandbox.scan(s, rt.connectors, 1, m, state, now=now)
            members.append(m.id)

    def post(i: int, text: str) -> None:
        with rt.tx() as s:
            m = s.get(SandboxMember, members[i])
            assert m is not None
            sandbox.post(s, 1, m, communities.get_group(s, 1, gid), text, now=clock.now())

    # warm-up: staff tasks for Moments and invitations, and the group copy phases
    _move(rt, clock, _at(rt, "D-3 20:00"))
    with rt.tx() as s:
        tasks = alerts.open_alerts(s, 1, kind="playbook_task")
    assert len(tasks) == 2  # Moments day 1 and the private-chat invitation script so far
    _move(rt, clock, _at(rt, "D-1 20:05"))
    texts = _group_texts(rt, gid)
    assert any("【福利调研】" in t for t in texts) and any("【倒计时 1 天】" in t for t in texts)
    assert any("接龙" in t and "限量 100 份" in t for t in texts)

    # four members join the solitaire (one twice: counted once)
    clock.advance(timedelta(minutes=5))
    for i in (0, 1, 2, 3, 0):
        post(i, "接龙")
    with rt.tx() as s:
        sol = s.scalar(select(Interaction).where(Interaction.group_id == gid, Interaction.kind == "solitaire"))
        assert sol is not None
        from siyu.engagement.interaction import service as interaction

        assert interaction.live(s, sol)["count"] == 4

    # D0: the wake-up draw opens, members enter, winners are drawn
    _move(rt, clock, _at(rt, "D0 19:45"))
    for i in (1, 4, 5):
        post(i, "抽奖")
    _move(rt, clock, _at(rt, "D0 19:55"))
    with rt.tx() as s:
        draw = s.scalar(select(Interaction).where(Interaction.group_id == gid, Interaction.kind == "draw"))
        assert draw is not None and draw.status == "closed"
        assert len(draw.result["winners"]) == 3

    # the countdown reports the real remaining stock
    post(4, "+1")
    _move(rt, clock, _at(rt, "D0 20:30"))
    assert any("仅剩 95 份" in t for t in _group_texts(rt, gid))

    # close: the solitaire ends at 22:00, the end is announced and the group dissolved the next day
    _move(rt, clock, _at(rt, "D0 22:00"))
    with rt.tx() as s:
        sol2 = s.get(Interaction, sol.id)
        assert sol2 is not None and sol2.status == "closed"
    _move(rt, clock, _at(rt, "D+1 12:00"))
    assert any("【活动结束】" in t for t in _group_texts(rt, gid))
    with rt.tx() as s:
        steps = runner.steps_of(s, run_id)
        group = s.get(Group, gid)
        assert group is not None and group.status == "dissolved", [(st.kind, st.status, st.result) for st in steps][-4:]
        assert [st.status for st in steps] == ["done"] * len(pb.timeline), [(st.kind, st.result) for st in steps]
        assert len(alerts.open_alerts(s, 1, kind="playbook_task")) == 4

    # running the tick again changes nothing
    before = len(_group_texts(rt, gid))
    assert _move(rt, clock, _at(rt, "D+1 13:00")) == {"done": 0, "failed": 0}
    assert len(_group_texts(rt, gid)) == before


def test_a_step_runs_once_even_when_taken_twice(rt: Runtime, clock: Any) -> None:
    clock.set(datetime(2026, 12, 8, 0, 0, tzinfo=UTC))
    with rt.tx() as s:
        c = communities.create(s, 1, CommunityIn(name="闪购", type="flash"))
        communities.create_group(s, 1, GroupIn(name="闪购 1", community_id=c.id), now=clock.now())
        runner.apply(s, 1, loader.find("flash-sale"), community_id=c.id, anchor=D0, now=clock.now())
    when = _at(rt, "D-3 20:00")
    clock.set(when)
    first = runner.tick(rt.sessions, when)
    again = runner.tick(rt.sessions, when)
    assert first["done"] == 3 and again["done"] == 0
    with rt.tx() as s:
        assert {st.status for st in s.scalars(select(PlaybookStep).where(PlaybookStep.due_at <= when))} == {"done"}


def test_applying_twice_to_the_same_target_is_refused(api: Any) -> None:
    c = api()
    cid = c.post("/api/v1/communities", json={"name": "闪购"}).json()["id"]
    assert c.post("/api/v1/playbooks/flash-sale/apply", json={"community_id": cid}).json()["code"] == \
        "playbook_no_groups"
    c.post("/api/v1/groups", json={"name": "闪购 1", "community_id": cid})
    body = {"community_id": cid, "anchor": "2026-12-12"}
    preview = c.post("/api/v1/playbooks/flash-sale/preview", json=body)
    assert preview.status_code == 200 and len(preview.json()) == 17
    assert c.post("/api/v1/playbooks/flash-sale/apply", json=body).status_code == 201
    again = c.post("/api/v1/playbooks/flash-sale/apply", json=body)
    assert again.status_code == 409 and again.json()["code"] == "playbook_applied"
    assert c.post("/api/v1/playbooks/nope/apply", json=body).json()["code"] == "playbook_not_found"
