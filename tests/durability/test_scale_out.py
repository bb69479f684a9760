"""Scale-out: two `siyu worker` processes on one PostgreSQL database and one Redis queue, competing for every action.

ACTIONS post_to_group actions over GROUPS sandbox groups are planned as if their jobs had been lost a few minutes
ago. With both workers running, every action is queued twice, back to back, so its two jobs are taken by different
threads or processes at the same moment, and the outbox sweeper runs a few times while they drain, queueing
the actions still open a third time (what it does after a Redis restart). Every action must be performed exactly
once all the same: sent after one attempt, its idempotency key on the platform once, one `action.sent` event;
every other job for it must find nothing to claim; both processes must have delivered, and for some actions the
job that lost the claim must have run in the other process than the one that won it.
"""

from __future__ import annotations

import time
from collections import defaultdict
from datetime import timedelta
from functools import partial
from pathlib import Path

import pytest
from sqlalchemy import func, select

from siyu import config
from siyu.communities import service as communities
from siyu.communities.schemas import CommunityIn, GroupIn
from siyu.delivery import service, tasks
from siyu.models import Action, Event, SandboxMessage
from siyu.runtime import DEFAULT_WORKSPACE, Runtime
from tests.conftest import BACKEND
from tests.durability.conftest import (
    DELIVERED,
    SCALE_REDIS_URL,
    Proc,
    Procs,
    init_workspace,
    redis_or_skip,
    siyu_env,
    wait_until,
)

QUEUE_URL = SCALE_REDIS_URL
ACTIONS = 3_000
GROUPS = 50
WS = DEFAULT_WORKSPACE
JOBS_PER_ACTION = 2
SWEEPS = 3

pytestmark = pytest.mark.skipif(
    BACKEND != "postgresql",
    reason="scale-out needs PostgreSQL (SIYU_TEST_DB=postgresql): SQLite is one writer on one machine")


def plan_actions(rt: Runtime) -> list[int]:
    """Plan without queueing, due minutes ago: to the sweeper these are actions whose jobs were lost."""
    now = rt.clock.now() - timedelta(seconds=3 * rt.settings.sending_lease_seconds)
    with rt.tx() as s:
        community = communities.create(s, WS, CommunityIn(name="scale-out"))
        group_ids = [communities.create_group(s, WS, GroupIn(name=f"scale {g}", community_id=community.id),
                                              now=now).id for g in range(GROUPS)]
    ids: list[int] = []
    for start in range(0, ACTIONS, 1000):
        with rt.tx() as s:
            for n in range(start, min(start + 1000, ACTIONS)):
                action_id = service.plan(s, WS, key=f"scale-{n:05d}", kind="post_to_group", connector="sandbox",
                                         now=now, group_id=group_ids[n % GROUPS], payload={"text": f"post {n}"})
                assert action_id is not None
                ids.append(action_id)
            s.info.pop(service.PENDING_KEY, None)
    return ids


def started_or_dead(worker: Proc) -> bool:
    return "worker started" in worker.log() or not worker.alive()


def open_count(rt: Runtime) -> int:
    with rt.tx() as s:
        return int(s.scalar(select(func.count()).select_from(Action).where(
            Action.state.in_(("planned", "retry", "sending")))) or 0)


@pytest.mark.slow
def test_two_competing_workers_perform_each_action_once(db_url: str, tmp_path: Path, procs: Procs) -> None:
    queue = redis_or_skip(QUEUE_URL)
    queue.flushdb()
    env = siyu_env(db_url, queue_url=QUEUE_URL)
    folder = init_workspace(tmp_path / "ws", env)
    settings = config.load(folder, database_url=db_url, queue_url=QUEUE_URL)
    assert settings.is_redis_queue and settings.db_url == db_url
    rt = Runtime(settings)
    requeued = sweeps = 0
    try:
        t0 = time.monotonic()
        ids = plan_actions(rt)
        print(f"\nscale-out: planned {len(ids)} actions over {GROUPS} groups in {time.monotonic() - t0:.1f} s")
        assert queue.dbsize() == 0, "planning must not have queued anything"

        workers = [procs.worker(folder, env, threads=4) for _ in range(2)]
        for w in workers:
            wait_until(partial(started_or_dead, w), timeout=60, what=f"worker {w.pid} to start")
            assert w.alive(), w.log()

        t_start = time.monotonic()
        rt.enqueue_delivery([i for i in ids for _ in range(JOBS_PER_ACTION)])  # a1, a1, a2, a2, …
        t_enqueued = time.monotonic()

        last_sweep = 0.0

        def drained() -> bool:
            nonlocal requeued, sweeps, last_sweep
            for w in workers:
                assert w.alive(), f"worker {w.pid} died:\n{w.log()[-3000:]}"
            if sweeps < SWEEPS and time.monotonic() - last_sweep >= 2:
                # The real sweeper (up to 1,000 actions a run): queues open actions once more.
                requeued += tasks.sweep(rt)["requeued"]
                sweeps, last_sweep = sweeps + 1, time.monotonic()
            return open_count(rt) == 0

        wait_until(drained, timeout=240, interval=0.2, what="every action to leave planned/retry/sending")
        elapsed = time.monotonic() - t_start
        print(f"scale-out: {len(ids) * JOBS_PER_ACTION} jobs enqueued in {t_enqueued - t_start:.1f} s; "
              f"{sweeps} sweeps queued {requeued} more; {ACTIONS} actions delivered by 2 workers x 4 threads in "
              f"{elapsed:.1f} s = {ACTIONS / elapsed:.0f} actions/s")
        assert requeued > 0, "the sweeper found open actions to queue again while the workers drained"

        def queue_empty() -> bool:
            return rt.huey.pending_count() == 0

        wait_until(queue_empty, timeout=120, interval=0.2, what="the workers to run every remaining job")
        time.sleep(1)  # the last jobs taken from the queue finish
    finally:
        for p in procs.started:
            p.stop(grace=15)
        rt.close()

    logs = [w.log() for w in workers]
    for w, log in zip(workers, logs, strict=True):
        assert "Traceback" not in log and "Unhandled" not in log, f"worker {w.pid} logged an error:\n{log[-3000:]}"
    outcomes: dict[int, list[tuple[int, str]]] = defaultdict(list)  # action id → [(worker index, outcome)]
    for n, log in enumerate(logs):
        for action_id, state in DELIVERED.findall(log):
            outcomes[int(action_id)].append((n, state))
    jobs = sum(len(v) for v in outcomes.values())
    per_worker = [sum(1 for v in outcomes.values() for n, st in v if n == k and st == "sent") for k in range(2)]
    print(f"scale-out: {jobs} jobs ran for {len(outcomes)} actions; sent per worker: {per_worker}")
    assert set(outcomes) == set(ids)
    assert jobs == ACTIONS * JOBS_PER_ACTION + requeued, "each queued job ran exactly once"
    sent_twice = [a for a, v in outcomes.items() if sum(1 for _, st in v if st == "sent") != 1]
    assert not sent_twice, f"actions not sent exactly once: {sent_twice[:10]}"
    others = {st for v in outcomes.values() for _, st in v if st != "sent"}
    assert others == {"None"}, "every other job for an action found nothing to claim"
    assert all(n > 0 for n in per_worker), f"a worker never delivered anything: {per_worker}"
    crossed = sum(1 for v in outcomes.values() if len({n for n, _ in v}) == 2)
    print(f"scale-out: {crossed} actions had their jobs run in both processes")
    assert crossed > 0, "the two processes competed for the same actions"

    check = Runtime(settings)
    try:
        with check.tx() as s:
            states = dict(s.execute(select(Action.state, func.count()).group_by(Action.state)).all())
            assert states == {"sent": ACTIONS}
            attempts = dict(s.execute(select(Action.attempts, func.count()).group_by(Action.attempts)).all())
            assert attempts == {1: ACTIONS}, "an action was claimed more than once"
            assert s.scalar(select(func.count()).select_from(SandboxMessage)) == ACTIONS
            twice = s.execute(select(SandboxMessage.idempotency_key, func.count())
                              .group_by(SandboxMessage.idempotency_key).having(func.count() > 1).limit(10)).all()
            assert not twice, f"keys on the platform more than once: {twice}"
            keys = set(s.scalars(select(SandboxMessage.idempotency_key)))
            assert keys == {f"scale-{n:05d}" for n in range(ACTIONS)}
            per_group = s.execute(select(SandboxMessage.group_external_id, func.count())
                                  .group_by(SandboxMessage.group_external_id)).all()
            assert len(per_group) == GROUPS and {n for _, n in per_group} == {ACTIONS // GROUPS}
            assert s.scalar(select(func.count()).select_from(Event).where(Event.type == "action.sent")) == ACTIONS
    finally:
        check.close()
        queue.flushdb()
        queue.close()
