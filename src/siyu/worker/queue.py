"""Huey wiring: SqliteHuey beside the embedded database, RedisHuey when SIYU_QUEUE_URL points at Redis.

Tasks are registered per Huey instance from a runtime (no settings at import time); their names are fixed
(`domain.verb`) so a `siyu worker` process picks up what a `siyu serve` process enqueued.

No task results are stored: every outcome is recorded in the database (the action's state, events), and nobody
reads Huey's result store, which otherwise kept ~112 bytes per delivery in Redis (`huey.results.siyu`) or in
queue.db forever. Periodic jobs are enqueued only by the scheduler that holds the leader lock
(`worker.leader`), however many `siyu serve` / `siyu scheduler` processes run.
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import datetime
from typing import TYPE_CHECKING, Any

from huey import Huey, RedisHuey, SqliteHuey, crontab
from huey.consumer import Consumer, Scheduler

from siyu.config import Settings
from siyu.worker.leader import Leader, SoleLeader

if TYPE_CHECKING:
    from siyu.runtime import Runtime

log = logging.getLogger("siyu.worker")


def make_huey(settings: Settings, *, immediate: bool = False) -> Huey:
    if settings.is_redis_queue:
        assert settings.queue_url
        return RedisHuey("siyu", url=settings.queue_url, immediate=immediate, utc=True, results=False)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    return SqliteHuey("siyu", filename=str(settings.queue_path), immediate=immediate, utc=True,
                      timeout=60, results=False)


def register_tasks(huey: Huey, runtime: Runtime) -> dict[str, Any]:
    """The queue's task table. Bodies live in the domains; these are thin adapters that open transactions."""
    from siyu.delivery import tasks as delivery_tasks

    deliver = huey.task(name="delivery.deliver", retries=0)(
        lambda action_id: delivery_tasks.deliver(runtime, action_id))
    sweep = huey.periodic_task(crontab(minute="*"), name="delivery.sweep")(
        lambda: delivery_tasks.sweep(runtime))
    from siyu.engagement.alerts import tasks as alert_tasks
    from siyu.engagement.sop import tasks as sop_tasks

    sop_tick = huey.periodic_task(crontab(minute="*"), name="engagement.sop_tick")(
        lambda: sop_tasks.tick(runtime))
    alerts_tick = huey.periodic_task(crontab(minute="7"), name="engagement.alerts_tick")(
        lambda: alert_tasks.tick(runtime))
    from siyu.engagement.interaction import tasks as interaction_tasks

    interaction_tick = huey.periodic_task(crontab(minute="*"), name="engagement.interaction_tick")(
        lambda: interaction_tasks.tick(runtime))
    from siyu.playbooks import runner as playbooks

    playbook_tick = huey.periodic_task(crontab(minute="*"), name="playbooks.tick")(
        lambda: playbooks.tick(runtime.sessions, runtime.clock.now(),
                               lease_s=runtime.settings.step_lease_seconds))
    from siyu.engagement.alerts import failures

    automation_retry = huey.periodic_task(crontab(minute="*"), name="engagement.automation_retry")(
        lambda: failures.retry_due(runtime.sessions, runtime.clock.now()))
    return {"engagement.automation_retry": automation_retry,
            "delivery.deliver": deliver, "delivery.sweep": sweep, "engagement.sop_tick": sop_tick,
            "engagement.alerts_tick": alerts_tick, "engagement.interaction_tick": interaction_tick,
            "playbooks.tick": playbook_tick}


class LeaderScheduler(Scheduler):
    """Huey's scheduler thread, enqueueing periodic jobs only while this process is the leader.

    Delayed jobs (retries at their backoff time) are still moved to the queue by every consumer: that part is
    atomic in the queue and must not wait for a leader."""

    def __init__(self, huey: Huey, stop_flag: Any, interval: int, periodic: bool, leader: Leader) -> None:
        super().__init__(huey, stop_flag, interval, periodic)
        self.leader = leader
        self._leading = False

    def loop(self, now: datetime | None = None) -> None:
        if self.periodic:
            leading = self.leader.check()
            if leading and not self._leading:
                # Just took over: run this minute's jobs now instead of up to a minute later.
                self._next_periodic = time.monotonic()
            self._leading = leading
        super().loop(now)

    def enqueue_periodic_tasks(self, now: datetime | None) -> None:
        if not self.leader.check(verify=True):
            self._leading = False
            return
        super().enqueue_periodic_tasks(now)

    def shutdown(self) -> None:
        self.leader.close()


class SiyuConsumer(Consumer):
    """Huey's consumer with the leader-aware scheduler; `leader` matters only with `periodic=True`."""

    def __init__(self, huey: Huey, *, leader: Leader | None = None, **options: Any) -> None:
        # Set before Consumer.__init__, which builds the scheduler.
        self.leader = leader or SoleLeader(retry_s=0)
        super().__init__(huey, **options)

    def _create_scheduler(self) -> LeaderScheduler:
        return LeaderScheduler(huey=self.huey, stop_flag=self.stop_flag, interval=self.scheduler_interval,
                               periodic=self.periodic, leader=self.leader)


class EmbeddedConsumer(SiyuConsumer):
    """A consumer that runs in threads inside `siyu serve`, leaving signals to the web server."""

    def _set_signal_handlers(self) -> None:
        return None


def start_embedded(huey: Huey, workers: int, periodic: bool = True,
                   leader: Leader | None = None) -> EmbeddedConsumer:
    """Delivery worker threads (`workers` may be 0) and, with `periodic`, the leader-aware scheduler."""
    consumer = EmbeddedConsumer(huey, leader=leader, workers=workers, worker_type="thread", periodic=periodic,
                                check_worker_health=False, scheduler_interval=1)
    threading.Thread(target=consumer.start, name="siyu-consumer", daemon=True).start()
    return consumer
