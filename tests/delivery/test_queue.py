"""Outbox delivery through real Huey consumers: SqliteHuey (embedded) and RedisHuey (scale-out)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from siyu import config
from siyu.communities import service as communities
from siyu.communities.schemas import CommunityIn, GroupIn
from siyu.delivery import service as outbox
from siyu.delivery import tasks
from siyu.kit.clock import FrozenClock, SystemClock
from siyu.models import Action, SandboxMessage
from siyu.runtime import Runtime
from siyu.worker.queue import start_embedded
from tests.conftest import REDIS_URL
from tests.durability.conftest import service_missing


def _wait(cond: Callable[[], bool], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return
        time.sleep(0.05)
    raise AssertionError("condition not met in time")


def _redis_ok() -> bool:
    import redis

    try:
        return bool(redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping())
    except Exception:
        return False


def _stored_results(rt: Runtime) -> int:
    """Entries in Huey's result store: `huey.results.siyu` in Redis, the kv table of queue.db."""
    return int(rt.huey.storage.result_store_size())


def _plan_posts(rt: Runtime, n: int) -> list[int]:
    now = rt.clock.now()
    with rt.tx() as s:
        c = communities.create(s, 1, CommunityIn(name="Q"))
        g = communities.create_group(s, 1, GroupIn(name="Q1", community_id=c.id), now=now)
        ids = [outbox.plan(s, 1, key=f"post:{i}", kind="post_to_group", connector="sandbox", now=now,
                           group_id=g.id, payload={"text": f"第 {i} 条"}) for i in range(n)]
    return [i for i in ids if i is not None]


def _sent(rt: Runtime) -> int:
    with rt.tx() as s:
        return int(s.scalar(select(func.count()).select_from(Action).where(Action.state == "sent")) or 0)


@pytest.fixture(params=["sqlite", "redis"])
def queued(request: pytest.FixtureRequest, settings: config.Settings) -> Iterator[Runtime]:
    if request.param == "redis":
        if not _redis_ok():
            service_missing(f"Redis at {REDIS_URL} is not reachable")
        settings = settings.model_copy(update={"queue_url": REDIS_URL})
    rt = Runtime(settings, clock=SystemClock())
    rt.huey.flush()
    rt.ensure_workspace()
    yield rt
    rt.huey.flush()
    rt.close()


def test_consumer_delivers_each_action_once(queued: Runtime) -> None:
    rt = queued
    consumer = start_embedded(rt.huey, workers=2, periodic=False)
    try:
        _plan_posts(rt, 40)
        _wait(lambda: _sent(rt) == 40)
    finally:
        consumer.stop(graceful=True)
    with rt.tx() as s:
        assert s.scalar(select(func.count()).select_from(SandboxMessage)) == 40
        assert s.scalar(select(func.max(Action.attempts))) == 1


def test_delivering_leaves_nothing_in_the_queues_result_store(queued: Runtime) -> None:
    """Huey kept every job's return value (~112 bytes a delivery in `huey.results.siyu`), forever and unread:
    Redis grew without bound. The outcome of a delivery is in the database; the queue keeps nothing."""
    rt = queued
    consumer = start_embedded(rt.huey, workers=2, periodic=False)
    try:
        ids = _plan_posts(rt, 30)
        _wait(lambda: _sent(rt) == 30)
        for aid in ids:  # duplicate jobs, which return None, store nothing either
            rt.enqueue_delivery([aid])
        _wait(lambda: rt.huey.pending_count() == 0)
    finally:
        consumer.stop(graceful=True)
    assert _stored_results(rt) == 0
    if rt.settings.is_redis_queue:
        import redis

        client = redis.Redis.from_url(REDIS_URL)
        assert not [k for k in client.scan_iter("huey.results.*") if client.hlen(k)], "no result hash grows"


def test_sweeper_requeues_actions_whose_jobs_were_lost(queued: Runtime) -> None:
    rt = queued
    rt.clock = FrozenClock()
    ids = _plan_posts(rt, 5)
    rt.huey.flush()                       # the queue lost every job (e.g. Redis restarted empty)
    assert _sent(rt) == 0
    assert tasks.sweep(rt)["requeued"] == 0          # within the grace period a job may still be on its way
    rt.clock.advance(timedelta(seconds=rt.settings.sending_lease_seconds + 1))
    result = tasks.sweep(rt)
    assert result["requeued"] == len(ids)
    consumer = start_embedded(rt.huey, workers=1, periodic=False)
    try:
        _wait(lambda: _sent(rt) == 5)
    finally:
        consumer.stop(graceful=True)


def test_a_job_for_an_already_delivered_action_does_nothing(rt: Any) -> None:
    [aid] = _plan_posts(rt, 1)             # immediate runtime: delivered on commit
    assert tasks.deliver(rt, aid) is None  # a duplicate job finds nothing to claim
    with rt.tx() as s:
        assert s.scalar(select(func.count()).select_from(SandboxMessage)) == 1


def test_a_failed_attempt_schedules_its_retry_at_the_backoff_time(settings: config.Settings,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    from siyu.connectors.sandbox.connector import SandboxConnector

    def down(self: object, act: object, now: object) -> None:
        raise ConnectionError("platform down")

    monkeypatch.setattr(SandboxConnector, "perform", down)
    rt = Runtime(settings, clock=FrozenClock())
    rt.huey.flush()
    rt.ensure_workspace()
    try:
        [aid] = _plan_posts(rt, 1)
        assert tasks.deliver(rt, aid) == "retry"
        # the queue holds the first job (no consumer ran it) and the retry, due after the 10 s backoff
        jobs = rt.huey.pending() + rt.huey.scheduled()
        retries = [j for j in jobs if j.eta is not None]
        assert len(jobs) == 2 and len(retries) == 1 and retries[0].args == (aid,)
        wait = (retries[0].eta - datetime.now(UTC).replace(tzinfo=None)).total_seconds()
        assert 5 < wait <= 10
    finally:
        rt.huey.flush()
        rt.close()
