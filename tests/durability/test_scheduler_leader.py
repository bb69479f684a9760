"""Two `siyu scheduler` processes on one installation: one leads and enqueues the periodic jobs, the other stands
by; killed with SIGKILL, the leader's lock goes with it and the other takes over within seconds.

Runs on both backends: PostgreSQL (advisory lock) and SQLite (file lock beside the database). Both processes use
one workspace folder, so they share its queue. Before leadership each process enqueued every periodic job at
start and then once a minute, so N schedulers (or N `siyu serve`) ran them N times.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.durability.conftest import ENQUEUED_PERIODIC, Proc, Procs, init_workspace, siyu_env, wait_until

LEADS = "is the leader and runs the periodic jobs"
STANDS_BY = "standing by"


def _periodic(proc: Proc) -> list[str]:
    return ENQUEUED_PERIODIC.findall(proc.log())


@pytest.mark.slow
def test_one_of_two_schedulers_runs_the_periodic_jobs_and_the_other_takes_over(
        db_url: str, tmp_path: Path, procs: Procs) -> None:
    env = siyu_env(db_url, SIYU_LEADER_RETRY_SECONDS="1")
    folder = init_workspace(tmp_path / "ws", env)

    first = procs.scheduler(folder, env)
    wait_until(lambda: LEADS in first.log() or not first.alive(), timeout=60, what="the first scheduler to lead")
    assert first.alive(), first.log()
    wait_until(lambda: _periodic(first), timeout=30, what="the leader to enqueue the periodic jobs")

    second = procs.scheduler(folder, env)
    wait_until(lambda: STANDS_BY in second.log() or not second.alive(), timeout=60,
               what="the second scheduler to stand by")
    assert second.alive(), second.log()
    assert "pid" in second.log().split(STANDS_BY, 1)[1].splitlines()[0], "the follower says who leads"
    wait_until(lambda: "Huey consumer started" in second.log(), timeout=30, what="the second consumer to run")
    time.sleep(3)  # its own first minute is due at once: it would have enqueued by now
    assert _periodic(second) == [], f"the follower enqueued periodic jobs:\n{second.log()[-2000:]}"
    jobs = sorted(set(_periodic(first)))
    assert {"siyu.worker.queue.delivery.sweep", "siyu.worker.queue.playbooks.tick"} <= set(jobs), jobs

    first.kill9()
    wait_until(lambda: LEADS in second.log(), timeout=30, what="the follower to take over")
    wait_until(lambda: set(jobs) <= set(_periodic(second)), timeout=30,
               what="the new leader to enqueue this minute's periodic jobs")
    assert second.alive()
    for p in (first, second):
        assert "Traceback" not in p.log(), p.log()[-3000:]
