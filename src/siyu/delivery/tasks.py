"""Queue tasks of the delivery domain."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from siyu.delivery import service
from siyu.kit.db import transaction

if TYPE_CHECKING:
    from siyu.runtime import Runtime


def deliver(runtime: Runtime, action_id: int) -> str | None:
    return service.deliver(runtime.sessions, runtime.connectors, action_id, runtime.clock.now(),
                           max_attempts=runtime.settings.max_attempts)


def sweep(runtime: Runtime) -> dict[str, int]:
    """Reconcile stale sends, expire overdue actions, and re-queue actions whose job must have been lost.

    Jobs are queued on commit (and retries at their backoff time), so an action still due a lease after its time
    lost its job (queue flushed, process killed before enqueueing): only those are queued again.
    """
    now = runtime.clock.now()
    grace = timedelta(seconds=runtime.settings.sending_lease_seconds)
    reconciled = service.reconcile_stale(runtime.sessions, runtime.connectors, now,
                                         lease_s=runtime.settings.sending_lease_seconds,
                                         max_attempts=runtime.settings.max_attempts)
    with transaction(runtime.sessions) as s:
        expired = service.expire_overdue(s, now)
        due = service.due_ids(s, now - grace)
    runtime.enqueue_delivery(due)
    return {"reconciled": reconciled, "expired": expired, "requeued": len(due)}
