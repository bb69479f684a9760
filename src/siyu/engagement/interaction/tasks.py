"""Periodic work of engagement/interaction (called every minute from worker/queue.py): close what reached its
`closes_at` (drawing lucky draws) and post solitaire live lists that the throttle held back."""

from __future__ import annotations

from typing import TYPE_CHECKING

from siyu.engagement.interaction import service

if TYPE_CHECKING:
    from siyu.runtime import Runtime


def tick(runtime: Runtime) -> dict[str, int]:
    now = runtime.clock.now()
    closed = posted = 0
    for ws in runtime.workspace_ids():
        with runtime.tx() as s:
            closed += service.close_due(s, ws, now)
        with runtime.tx() as s:
            posted += service.flush_live(s, ws, now)
    return {"closed": closed, "live_posts": posted}
