"""A playbook step whose process died while running it: left `running`, recovered after its lease, run once.

Before the lease a step stuck in `running` stayed there for ever: its post never went out and nothing said so.
The crash happens in a real subprocess (crash_step.py, os._exit(9)) in the middle of the step's transaction; the
test process is "after the restart", with a frozen clock moved past the lease.
"""

from __future__ import annotations

import subprocess
import sys
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from siyu.communities import service as communities
from siyu.communities.schemas import CommunityIn, GroupIn
from siyu.kit.clock import FrozenClock
from siyu.models import Action, PlaybookStep, SandboxMessage
from siyu.playbooks import runner
from siyu.playbooks.schema import Playbook
from siyu.runtime import DEFAULT_WORKSPACE, Runtime
from tests.durability.conftest import HERE, siyu_env

WS = DEFAULT_WORKSPACE
LEASE = runner.STEP_LEASE_S


def apply_one_post(rt: Runtime) -> tuple[int, int]:
    """A playbook with one timeline post, due at 09:00 local on the clock's day; returns (run id, step id)."""
    pb = Playbook.model_validate({"name": "crash-step", "version": "1", "title": "crash",
                                  "timeline": [{"at": "D0 09:00", "do": "post", "text": "开课提醒"}]})
    with rt.tx() as s:
        community = communities.create(s, WS, CommunityIn(name="课程"))
        communities.create_group(s, WS, GroupIn(name="课程 1", community_id=community.id), now=rt.clock.now())
        run = runner.apply(s, WS, pb, community_id=community.id, anchor=date(2026, 11, 2), now=rt.clock.now())
        step = s.scalar(select(PlaybookStep).where(PlaybookStep.run_id == run.id))
        assert step is not None
        return run.id, step.id


def step_of(rt: Runtime, step_id: int) -> PlaybookStep:
    with rt.tx() as s:
        step = s.get(PlaybookStep, step_id)
        assert step is not None
        return step


def posts(rt: Runtime, key: str) -> tuple[int, int]:
    """(actions, platform messages) with the step's idempotency key."""
    with rt.tx() as s:
        actions = s.scalar(select(func.count()).select_from(Action).where(Action.idempotency_key == key)) or 0
        sent = s.scalar(select(func.count()).select_from(SandboxMessage)
                        .where(SandboxMessage.idempotency_key == key)) or 0
        return int(actions), int(sent)


@pytest.mark.slow
def test_a_step_left_running_by_a_crash_runs_once_after_its_lease(rt: Runtime, clock: FrozenClock) -> None:
    run_id, step_id = apply_one_post(rt)
    due = step_of(rt, step_id).due_at
    clock.set(due + timedelta(minutes=1))
    res = subprocess.run(
        [sys.executable, str(HERE / "crash_step.py"), rt.settings.db_url, str(rt.settings.data_dir),
         clock.now().isoformat()],
        env=siyu_env(rt.settings.db_url), capture_output=True, text=True, timeout=120)
    assert res.returncode == 9, (
        f"the tick did not die where planned (exit {res.returncode}):\n{res.stdout}\n{res.stderr}")

    key = f"pb:{run_id}:0"
    crashed = step_of(rt, step_id)
    assert crashed.status == "running" and crashed.done_at == clock.now(), "taken, with the taking time"
    assert posts(rt, key) == (0, 0), "nothing of the step was committed"

    clock.advance(timedelta(seconds=LEASE - 60))  # still within the lease: maybe still running somewhere
    assert runner.recover_stale(rt.sessions, clock.now()) == 0
    assert runner.tick(rt.sessions, clock.now()) == {"done": 0, "failed": 0}
    assert step_of(rt, step_id).status == "running"

    clock.advance(timedelta(seconds=61))  # the lease has passed: the process that took it is gone
    assert runner.tick(rt.sessions, clock.now()) == {"done": 1, "failed": 0}
    done = step_of(rt, step_id)
    assert done.status == "done" and done.result.get("action_id") is not None
    assert posts(rt, key) == (1, 1), "the post was planned and sent once"

    clock.advance(timedelta(seconds=2 * LEASE))
    assert runner.tick(rt.sessions, clock.now()) == {"done": 0, "failed": 0}
    assert posts(rt, key) == (1, 1)


def test_a_finished_step_is_never_taken_for_a_crashed_one(rt: Runtime, clock: FrozenClock) -> None:
    run_id, step_id = apply_one_post(rt)
    clock.set(step_of(rt, step_id).due_at)
    assert runner.tick(rt.sessions, clock.now()) == {"done": 1, "failed": 0}
    clock.advance(timedelta(days=3))
    assert runner.recover_stale(rt.sessions, clock.now()) == 0
    assert runner.tick(rt.sessions, clock.now()) == {"done": 0, "failed": 0}
    assert posts(rt, f"pb:{run_id}:0") == (1, 1)
