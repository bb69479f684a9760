"""Everything a process needs, built once from settings: engine, sessions, clock, queue, connectors.

Nothing here happens at import time, so tests can build several runtimes (SQLite and PostgreSQL, frozen clocks)
in one process.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from functools import partial
from typing import Any

from huey import Huey
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from siyu.auth.throttle import LoginThrottle
from siyu.config import Settings
from siyu.connectors.base import PlatformLink
from siyu.connectors.registry import ConnectorRegistry, default_registry
from siyu.delivery.service import PENDING_KEY
from siyu.kit import gc_tuning
from siyu.kit.clock import Clock, SystemClock
from siyu.kit.db import (
    AFTER_CLOSE,
    default_read_only,
    make_engine,
    make_read_sessionmaker,
    make_sessionmaker,
    transaction,
)
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
        # base_url: what links sent to members start with (share links DM'd by automations, `engagement/sop/gating`).
        self.sessions.configure(info={"connectors": self.connectors, "base_url": settings.base_url})
        self.read_sessions = make_read_sessionmaker(self.engine)
        self.read_sessions.configure(info={"connectors": self.connectors, "base_url": settings.base_url})
        self.connectors.bind(PlatformLink(self.sessions, self.read_sessions, self.report),
                             secret_key=settings.secret_key.get_secret_value())  # opens connector secrets
        self.huey = huey or make_huey(settings, immediate=immediate)
        self.tasks = register_tasks(self.huey, self)
        self.login_throttle = LoginThrottle()
        event.listen(self.sessions, "after_commit", self._after_commit)
        event.listen(self.sessions, "after_soft_rollback", self._after_rollback)
        gc_tuning.tune()

    @contextmanager
    def tx(self, *, write: bool | None = None) -> Iterator[Session]:
        """A unit of work. Writes by default, except inside a GET / HEAD request (`kit.db.ReadOnlySafeMethods`),
        where it reads unless `write=True`: pages and lookups never queue behind the writers."""
        read = (not write) if write is not None else default_read_only.get()
        with transaction(self.read_sessions if read else self.sessions) as s:
            yield s

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A read transaction: no write lock on SQLite, READ ONLY on PostgreSQL."""
        with transaction(self.read_sessions) as s:
            yield s

    @property
    def staleness(self) -> timedelta:
        return timedelta(seconds=self.settings.live_staleness_seconds)

    def report(self, workspace_id: int, items: list[dict[str, Any]], *, mode: str = "live") -> None:
        """Platform facts from a connector, ingested like the events API's (own transaction, same projection)."""
        from siyu.events import service as events

        with transaction(self.sessions) as s:
            results = events.ingest(s, workspace_id, items, now=self.clock.now(), mode=mode,  # type: ignore[arg-type]
                                    staleness=self.staleness)
        rejected = [r for r in results if r.status == "rejected"]
        if rejected:
            log.error("platform facts rejected: %s", [r.as_dict() for r in rejected])

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
        if session.in_nested_transaction():  # SQLAlchemy fires after_commit for a released savepoint too
            return
        pending: list[tuple[int, float]] = session.info.pop(PENDING_KEY, [])
        callbacks = session.info.setdefault(AFTER_CLOSE, [])
        for action_id, delay_s in pending:
            callbacks.append(partial(self.enqueue_delivery, [action_id], delay_s))

    def _after_rollback(self, session: Session, previous_transaction: Any) -> None:
        if previous_transaction.nested:  # a savepoint rolled back: the outer transaction's work stands
            return
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
