"""The outbox after a crash: a delivery process dies mid-send, the sweeper of a fresh process finishes the job.

Each crash happens in a real subprocess (crash_deliver.py, os._exit(9)), so nothing of the dead process's memory
helps; the test process plays "after the restart" with a frozen clock moved past the sending lease.
"""

from __future__ import annotations

import subprocess
import sys
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from siyu.communities import service as communities
from siyu.communities.schemas import CommunityIn, GroupIn
from siyu.connectors.base import ActionSnapshot
from siyu.connectors.sandbox.connector import SandboxConnector
from siyu.delivery import service, tasks
from siyu.kit.clock import FrozenClock
from siyu.models import Action, Event, SandboxMessage, Workspace
from siyu.runtime import DEFAULT_WORKSPACE, Runtime
from tests.durability.conftest import HERE, siyu_env

WS = DEFAULT_WORKSPACE


def plan_post(rt: Runtime, key: str) -> tuple[int, str]:
    """A post_to_group action to a sandbox group, planned but not queued (the crash scripts deliver it)."""
    with rt.tx() as s:
        ws = s.get(Workspace, WS)
        assert ws is not None and ws.sandbox_mode == "bot"
        community = communities.create(s, WS, CommunityIn(name=f"crash {key}"))
        group = communities.create_group(s, WS, GroupIn(name=f"group {key}", community_id=community.id),
                                         now=rt.clock.now())
        action_id = service.plan(s, WS, key=key, kind="post_to_group", connector="sandbox",
                                 now=rt.clock.now(), group_id=group.id, payload={"text": f"hello {key}"})
        assert action_id is not None
        s.info.pop(service.PENDING_KEY, None)  # deliver it by hand, not through the queue
        return action_id, group.external_id


def crash_delivery(rt: Runtime, action_id: int, mode: str) -> None:
    res = subprocess.run(
        [sys.executable, str(HERE / "crash_deliver.py"), rt.settings.db_url, str(rt.settings.data_dir),
         str(action_id), rt.clock.now().isoformat(), mode],
        env=siyu_env(rt.settings.db_url), capture_output=True, text=True, timeout=120,
    )
    assert res.returncode == 9, (
        f"the delivery did not die where planned (exit {res.returncode}):\n{res.stdout}\n{res.stderr}")


def action(rt: Runtime, action_id: int) -> Action:
    with rt.tx() as s:
        a = s.get(Action, action_id)
        assert a is not None
        return a


def messages(rt: Runtime, key: str) -> list[SandboxMessage]:
    with rt.tx() as s:
        return list(s.scalars(select(SandboxMessage).where(SandboxMessage.workspace_id == WS,
                                                           SandboxMessage.idempotency_key == key)))


def outcome_events(rt: Runtime, action_id: int) -> dict[str, int]:
    with rt.tx() as s:
        rows = s.execute(select(Event.type, func.count()).where(
            Event.workspace_id == WS, Event.type.like("action.%"),
            Event.source_key.like(f"action:{action_id}:%")).group_by(Event.type)).all()
        return {t: n for t, n in rows}


def sweep_until_lease(rt: Runtime, clock: FrozenClock, action_id: int) -> None:
    """Within the lease the sweeper must leave a `sending` action alone (its worker may still be at it)."""
    assert tasks.sweep(rt)["reconciled"] == 0
    clock.advance(timedelta(seconds=rt.settings.sending_lease_seconds - 1))
    assert tasks.sweep(rt) == {"reconciled": 0, "expired": 0, "requeued": 0}
    assert action(rt, action_id).state == "sending"
    clock.advance(timedelta(seconds=2))  # now past the lease


def test_crash_after_perform_before_finish_reconciles_to_one_message(rt: Runtime, clock: FrozenClock) -> None:
    key = "crash-after-perform"
    action_id, group_ext = plan_post(rt, key)
    crash_delivery(rt, action_id, "after_perform")

    a = action(rt, action_id)
    assert (a.state, a.attempts) == ("sending", 1)
    assert len(messages(rt, key)) == 1, "perform should have committed the message before the crash"
    assert outcome_events(rt, action_id) == {}

    sweep_until_lease(rt, clock, action_id)
    res = tasks.sweep(rt)
    assert res["reconciled"] == 1
    assert res["requeued"] == 0, "the platform had it: nothing may be sent again"

    a = action(rt, action_id)
    assert a.state == "sent"
    assert a.attempts == 1
    assert a.sent_at == clock.now()
    assert a.result.get("reconciled") is True
    msgs = messages(rt, key)
    assert len(msgs) == 1
    assert msgs[0].group_external_id == group_ext and msgs[0].text == f"hello {key}"
    assert outcome_events(rt, action_id) == {"action.sent": 1}

    # Later sweeps change nothing.
    clock.advance(timedelta(hours=2))
    assert tasks.sweep(rt) == {"reconciled": 0, "expired": 0, "requeued": 0}
    assert len(messages(rt, key)) == 1
    assert outcome_events(rt, action_id) == {"action.sent": 1}


def test_crash_after_claim_before_perform_redelivers_once(rt: Runtime, clock: FrozenClock) -> None:
    key = "crash-before-perform"
    action_id, _ = plan_post(rt, key)
    crash_delivery(rt, action_id, "before_perform")

    a = action(rt, action_id)
    assert (a.state, a.attempts) == ("sending", 1)
    assert messages(rt, key) == []

    # A second worker picking up a duplicate job while the action is `sending` must not send it.
    assert tasks.deliver(rt, action_id) is None
    assert messages(rt, key) == []

    sweep_until_lease(rt, clock, action_id)
    res = tasks.sweep(rt)
    assert res["reconciled"] == 1  # not on the platform: reconciling queues it to be sent again at once

    a = action(rt, action_id)
    assert a.state == "sent"
    assert a.attempts == 2
    assert len(messages(rt, key)) == 1
    assert outcome_events(rt, action_id) == {"action.sent": 1}

    clock.advance(timedelta(hours=2))
    assert tasks.sweep(rt) == {"reconciled": 0, "expired": 0, "requeued": 0}
    assert len(messages(rt, key)) == 1
    assert action(rt, action_id).attempts == 2


def test_platform_failures_retry_with_backoff_then_fail(rt: Runtime, clock: FrozenClock,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[int] = []

    def platform_down(self: SandboxConnector, act: ActionSnapshot, now: object) -> None:
        calls.append(act.attempts)
        raise ConnectionError("platform down")

    monkeypatch.setattr(SandboxConnector, "perform", platform_down)
    key = "always-failing"
    action_id, _ = plan_post(rt, key)
    max_attempts = rt.settings.max_attempts
    assert max_attempts >= 2

    assert tasks.deliver(rt, action_id) == "retry"
    for attempt in range(1, max_attempts):
        a = action(rt, action_id)
        assert (a.state, a.attempts) == ("retry", attempt)
        assert "platform down" in a.last_error
        backoff = timedelta(seconds=min(3600, 10 * 2 ** (attempt - 1)))
        assert a.next_attempt_at == clock.now() + backoff
        # Not due yet: neither a stray job nor the sweeper may try again early.
        clock.advance(backoff - timedelta(seconds=1))
        assert tasks.deliver(rt, action_id) is None
        assert tasks.sweep(rt)["requeued"] == 0
        assert action(rt, action_id).attempts == attempt
        clock.advance(timedelta(seconds=1))
        # The retry job was scheduled for this moment when the attempt failed; here it fires.
        assert tasks.deliver(rt, action_id) in ("retry", "failed")

    a = action(rt, action_id)
    assert (a.state, a.attempts) == ("failed", max_attempts)
    assert "platform down" in a.last_error
    assert calls == list(range(1, max_attempts + 1))
    assert messages(rt, key) == []
    assert outcome_events(rt, action_id) == {"action.failed": 1}

    clock.advance(timedelta(days=2))
    assert tasks.sweep(rt) == {"reconciled": 0, "expired": 0, "requeued": 0}
    assert tasks.deliver(rt, action_id) is None
    assert action(rt, action_id).attempts == max_attempts
    assert len(calls) == max_attempts
