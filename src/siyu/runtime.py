"""Everything a process needs, built once from settings: engine, sessions, clock, queue, connectors.

Nothing here happens at import time, so tests can build several runtimes (SQLite and PostgreSQL, frozen clocks)
in one process.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from huey import Huey
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from siyu.auth.throttle import LoginThrottle
from siyu.config import Settings
from siyu.connectors.registry import ConnectorRegistry, default_registry
from siyu.delivery.service import PENDING_KEY
from siyu.kit import gc_tuning
from siyu.kit.clock import Clock, SystemClock
from siyu.kit.db import make_engine, make_sessionmaker, transaction
from siyu.models import Workspace
from siyu.worker.queue import make_huey, register_tasks

log = logging.getLogger("siyu")
DEFAULT_WORKSPACE = 1


class Runtime:
    def __init__(self, settings: Settings, *, clock: Clock | None = None, huey: Huey | None = None,
                 connectors: ConnectorRegistry | None = None, immediate: bool = False) -> None:
        import siyu.engagement.automations  # noqa: F401  (subscribes the automations to the event log)

        self.settings = settings
        self.clock: Clock = clock or SystemClock()
        self.engine = make_engine(settings.db_url)
        self.connectors = connectors or default_registry()
        self.sessions = make_sessionmaker(self.engine)
        self.sessions.configure(info={"connectors": self.connectors})
        self.huey = huey or make_huey(settings, immediate=immediate)
        self.tasks = register_tasks(self.huey, self)
        self.login_throttle = LoginThrottle()
        event.listen(self.sessions, "after_commit", self._after_commit)
        event.listen(self.sessions, "after_soft_rollback", self._after_rollback)
        gc_tuning.tune()

    @contextmanager
    def tx(self) -> Iterator[Session]:
        with transaction(self.sessions) as s:
            yield s

    def enqueue_delivery(self, action_ids: list[int], delay_s: float = 0.0) -> None:
        task = self.tasks["delivery.deliver"]
        for action_id in action_ids:
            try:
                if delay_s > 0 and not self.huey.immediate:
                    task.schedule(args=(action_id,), delay=delay_s)
                elif delay_s <= 0:
                    task(action_id)
            except Exception:  # the sweeper re-queues anything whose job was lost
                log.exception("could not enqueue action %s", action_id)

    def _after_commit(self, session: Session) -> None:
        pending: list[tuple[int, float]] = session.info.pop(PENDING_KEY, [])
        for action_id, delay_s in pending:
            self.enqueue_delivery([action_id], delay_s)

    def _after_rollback(self, session: Session, previous_transaction: Any) -> None:
        session.info.pop(PENDING_KEY, None)

    def ensure_workspace(self) -> Workspace:
        with self.tx() as s:
            ws = s.get(Workspace, DEFAULT_WORKSPACE)
            if ws is None:
                ws = Workspace(id=DEFAULT_WORKSPACE, name="siyu", timezone=self.settings.timezone,
                               sandbox_mode="bot", settings={})
                s.add(ws)
            return ws

    def workspace_ids(self) -> list[int]:
        with self.tx() as s:
            return list(s.scalars(select(Workspace.id)))

    def close(self) -> None:
        self.engine.dispose()
