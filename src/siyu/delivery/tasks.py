"""Queue tasks of the delivery domain."""

from __future__ import annotations

from typing import TYPE_CHECKING

from siyu.delivery import service
from siyu.kit.db import transaction

if TYPE_CHECKING:
    from siyu.runtime import Runtime


def deliver(runtime: Runtime, action_id: int) -> str | None:
    return service.deliver(runtime.sessions, runtime.connectors, action_id, runtime.clock.now(),
                           max_attempts=runtime.settings.max_attempts)


def sweep(runtime: Runtime) -> dict[str, int]:
    """Re-queue due actions (retries, or ones stranded by a crash before their job ran) and reconcile stale sends."""
    now = runtime.clock.now()
    reconciled = service.reconcile_stale(runtime.sessions, runtime.connectors, now,
                                         lease_s=runtime.settings.sending_lease_seconds,
                                         max_attempts=runtime.settings.max_attempts)
    with transaction(runtime.sessions) as s:
        expired = service.expire_overdue(s, now)
        due = service.due_ids(s, now)
    runtime.enqueue_delivery(due)
    return {"reconciled": reconciled, "expired": expired, "requeued": len(due)}
