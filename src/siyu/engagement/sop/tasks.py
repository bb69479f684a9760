"""Periodic work of engagement/sop (called every minute from worker/queue.py as `engagement.sop_tick`).

Each tick keeps the next 14 days planned (idempotent) and hands due occurrences to the outbox in batches, each
batch its own transaction (see scheduler.py for the once-only guarantees).
"""

from __future__ import annotations

import logging
import weakref
from typing import TYPE_CHECKING

from siyu.engagement.sop import planner, scheduler
from siyu.models import Workspace

if TYPE_CHECKING:
    from siyu.runtime import Runtime

log = logging.getLogger("siyu.sop")
_MEMOS: weakref.WeakKeyDictionary[Runtime, dict[int, planner.PlannerMemo]] = weakref.WeakKeyDictionary()
MAX_BATCHES = 100


def tick(runtime: Runtime) -> dict[str, int]:
    now = runtime.clock.now()
    memos = _MEMOS.setdefault(runtime, {})
    totals = {"planned": 0, "claimed": 0, "queued": 0, "late": 0, "skipped_missed": 0, "cancelled": 0}
    for ws in runtime.workspace_ids():
        memo = memos.setdefault(ws, planner.PlannerMemo())
        grace = scheduler.DEFAULT_GRACE
        try:
            with runtime.tx() as s:
                w = s.get(Workspace, ws)
                grace = scheduler.grace_for(w.settings if w is not None else None)
                totals["planned"] += planner.plan_ahead(s, ws, now, memo).get("inserted", 0)
        except Exception:
            memos.pop(ws, None)  # plan everything again next time
            log.exception("SOP planning failed for workspace %s", ws)
        for _ in range(MAX_BATCHES):
            with runtime.tx() as s:
                res = scheduler.run_due(s, ws, now, grace=grace)
            for k, v in res.items():
                totals[k] = totals.get(k, 0) + v
            if res["claimed"] < scheduler.BATCH:
                break
    return totals
