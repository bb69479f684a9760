"""What a person does to the outbox, from the REST API or the console: one function per act, each auditing itself
(`edge/work.py`).

Completing an owner task calls the platform, which must not happen inside a transaction (a slow platform would
hold the database): it runs on a route that is no unit of work (`delivery/endpoints.py`, `platform`) and
opens `w.unit()` itself, briefly, for the audit entry once the task's outcome is stored.
"""

from __future__ import annotations

from siyu.delivery import service
from siyu.edge.work import Work
from siyu.models import Action


def complete_task(w: Work, action_id: int) -> Action:
    """Mark an owner task done (on WeCom: the owner confirmed the mass message in the client). The task is taken
    first, so two clicks complete it once (409 `not_an_open_task` for the second). Call it outside the request's
    unit of work; the action is returned detached."""
    a = service.complete_task(w.rt.sessions, w.rt.connectors, w.ws, action_id, w.now)
    with w.unit():
        w.audit("action.complete", "action", a.id)
    return a
