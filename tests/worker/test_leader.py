"""Scheduler leadership: one process at a time enqueues the periodic jobs, and another takes over when it goes.

Each `Leader` here stands for one process: its own PostgreSQL connection or its own open file, exactly what two
processes would have (a second flock on a new open file conflicts even inside one process).
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from huey import SqliteHuey

from siyu import config
from siyu.runtime import Runtime
from siyu.worker.leader import FileLeader, Leader, PostgresLeader, leader_for, lock_path_for
from siyu.worker.queue import LeaderScheduler, register_tasks
from tests.conftest import BACKEND


@pytest.fixture
def leaders(settings: config.Settings) -> Iterator[list[Leader]]:
    quick = settings.model_copy(update={"leader_retry_seconds": 0.0})
    made = [leader_for(quick), leader_for(quick)]
    yield made
    for leader in made:
        leader.close()


def test_the_lock_matches_the_backend(settings: config.Settings) -> None:
    leader = leader_for(settings)
    try:
        if BACKEND == "postgresql":
            assert isinstance(leader, PostgresLeader)
        else:
            assert isinstance(leader, FileLeader)
            assert leader.path == lock_path_for(settings.db_url)
            assert leader.path.name == "siyu.db.scheduler.lock"
    finally:
        leader.close()


def test_one_leader_and_the_other_takes_over_when_it_stops(leaders: list[Leader]) -> None:
    first, second = leaders
    assert first.check() is True
    assert second.check() is False
    assert first.check(verify=True) is True, "the leader keeps its lock"
    assert second.check() is False, "a follower keeps trying and keeps failing while the leader lives"
    assert second.holder() is not None and "pid" in (second.holder() or ""), "a follower can say who leads"
    first.close()
    assert second.check() is True
    assert first.check() is False, "the old leader, back, is a follower now"


@pytest.mark.skipif(BACKEND != "postgresql", reason="a lost database session is a PostgreSQL matter")
def test_a_leader_whose_session_is_gone_knows_it_and_a_follower_takes_over(leaders: list[Leader],
                                                                        db_url: str) -> None:
    first, second = leaders
    assert first.check() and not second.check()
    engine = sa.create_engine(db_url)
    with engine.begin() as conn:  # what a database restart or a network cut does to the leader's session
        killed = conn.execute(sa.text(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE application_name LIKE 'siyu scheduler%' AND pid <> pg_backend_pid() "
            "AND pid IN (SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted)")).all()
    engine.dispose()
    assert len(killed) == 1
    assert first.check(verify=True) is False, "the leader notices before it enqueues anything"
    assert second.check() is True


def _scheduler(huey: SqliteHuey, leader: Leader) -> LeaderScheduler:
    stop = threading.Event()
    stop.set()  # loop() would sleep out its interval; a set flag makes that sleep return at once
    return LeaderScheduler(huey, stop, interval=1, periodic=True, leader=leader)


def test_two_schedulers_enqueue_each_periodic_job_once(rt: Runtime, leaders: list[Leader], tmp_path: Path) -> None:
    huey = SqliteHuey("siyu-leader-test", filename=str(tmp_path / "q.db"), results=False)
    register_tasks(huey, rt)
    a, b = (_scheduler(huey, leader) for leader in leaders)
    a.loop()  # the first to start leads and enqueues this minute's jobs at once
    b.loop()  # the second stands by, although its own first minute is due
    names = Counter(t.name for t in huey.pending())
    assert names and set(names.values()) == {1}, names
    assert {"delivery.sweep", "playbooks.tick", "engagement.sop_tick"} <= set(names)

    huey.flush()
    leaders[0].close()  # the leader stops
    b.loop()  # the follower takes over and runs this minute's jobs now, not up to a minute later
    assert Counter(t.name for t in huey.pending()) == names
