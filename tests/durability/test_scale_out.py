"""Scale-out: two `siyu worker` processes on one PostgreSQL database and one Redis queue.

10,000 post_to_group actions over 50 sandbox groups are queued once each; the workers share the jobs. Every action
must end `sent` after exactly one attempt, every idempotency key must appear on the platform exactly once, and both
processes must have taken part.
"""

from __future__ import annotations

import re
import time
from functools import partial
from pathlib import Path

import pytest
import redis
from sqlalchemy import func, select

from siyu import config
from siyu.communities import service as communities
from siyu.communities.schemas import CommunityIn, GroupIn
from siyu.delivery import service
from siyu.models import Action, Event, SandboxMessage
from siyu.runtime import DEFAULT_WORKSPACE, Runtime
from tests.conftest import BACKEND
from tests.durability.conftest import Proc, Procs, init_workspace, siyu_env, wait_until

QUEUE_URL = "redis://127.0.0.1:6379/13"
ACTIONS = 10_000
GROUPS = 50
WS = DEFAULT_WORKSPACE
EXECUTING = re.compile(r"Executing \S*delivery\.deliver: ")


pytestmark = pytest.mark.skipif(
    BACKEND != "postgresql",
    reason="scale-out needs PostgreSQL (SIYU_TEST_DB=postgresql): SQLite is one writer on one machine")


def _redis_or_skip() -> redis.Redis:
    client = redis.Redis.from_url(QUEUE_URL, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.RedisError as exc:
        pytest.skip(f"Redis at {QUEUE_URL} is not reachable: {exc}")
    return client


def plan_actions(rt: Runtime) -> list[int]:
    """Plan without queueing: the jobs go to Redis only once both workers are up."""
    now = rt.clock.now()
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
def test_two_workers_deliver_each_action_once(db_url: str, tmp_path: Path, procs: Procs) -> None:
    queue = _redis_or_skip()
    queue.flushdb()
    env = siyu_env(db_url, queue_url=QUEUE_URL)
    folder = init_workspace(tmp_path / "ws", env)
    settings = config.load(folder, database_url=db_url, queue_url=QUEUE_URL)
    assert settings.is_redis_queue and settings.db_url == db_url
    rt = Runtime(settings)
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
        rt.enqueue_delivery(ids)
        t_enqueued = time.monotonic()

        def drained() -> bool:
            for w in workers:
                assert w.alive(), f"worker {w.pid} died:\n{w.log()[-3000:]}"
            return open_count(rt) == 0

        wait_until(drained, timeout=240, interval=0.5, what="every action to leave planned/retry/sending")
        elapsed = time.monotonic() - t_start
        print(f"scale-out: enqueued in {t_enqueued - t_start:.1f} s; {ACTIONS} actions delivered by 2 workers x 4 "
              f"threads in {elapsed:.1f} s = {ACTIONS / elapsed:.0f} actions/s")
        assert all(w.alive() for w in workers), "a worker died during the run"
        assert rt.huey.pending_count() == 0
    finally:
        for p in procs.started:
            p.stop(grace=15)
        rt.close()

    logs = [w.log() for w in workers]
    executed = [len(EXECUTING.findall(log)) for log in logs]
    print(f"scale-out: jobs executed per worker (pid: count): "
          f"{ {w.pid: n for w, n in zip(workers, executed, strict=True)} }")
    for w, log in zip(workers, logs, strict=True):
        assert "Traceback" not in log and "Unhandled" not in log, f"worker {w.pid} logged an error:\n{log[-3000:]}"
    assert all(n > 0 for n in executed), f"a worker never delivered anything: {executed}"
    assert sum(executed) == ACTIONS, "each queued job runs exactly once across the workers"

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
