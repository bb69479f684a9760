"""Huey wiring: SqliteHuey beside the embedded database, RedisHuey when SIYU_QUEUE_URL points at Redis.

Tasks are registered per Huey instance from a runtime (no settings at import time); their names are fixed
(`domain.verb`) so a `siyu worker` process picks up what a `siyu serve` process enqueued.
"""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING, Any

from huey import Huey, RedisHuey, SqliteHuey, crontab
from huey.consumer import Consumer

from siyu.config import Settings

if TYPE_CHECKING:
    from siyu.runtime import Runtime

log = logging.getLogger("siyu.worker")


def make_huey(settings: Settings, *, immediate: bool = False) -> Huey:
    if settings.is_redis_queue:
        assert settings.queue_url
        return RedisHuey("siyu", url=settings.queue_url, immediate=immediate, utc=True)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    return SqliteHuey("siyu", filename=str(settings.queue_path), immediate=immediate, utc=True,
                      timeout=60)


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
        lambda: playbooks.tick(runtime.sessions, runtime.clock.now()))
    return {"delivery.deliver": deliver, "delivery.sweep": sweep, "engagement.sop_tick": sop_tick,
            "engagement.alerts_tick": alerts_tick, "engagement.interaction_tick": interaction_tick,
            "playbooks.tick": playbook_tick}


class EmbeddedConsumer(Consumer):
    """A Huey consumer that runs in threads inside `siyu serve`, leaving signals to the web server."""

    def _set_signal_handlers(self) -> None:
        return None


def start_embedded(huey: Huey, workers: int, periodic: bool = True) -> EmbeddedConsumer:
    consumer = EmbeddedConsumer(huey, workers=workers, worker_type="thread", periodic=periodic,
                                check_worker_health=False, scheduler_interval=1)
    threading.Thread(target=consumer.start, name="siyu-consumer", daemon=True).start()
    return consumer
