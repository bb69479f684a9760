"""Periodic work of engagement/alerts (called from worker/queue.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from siyu.runtime import Runtime


def tick(runtime: Runtime) -> dict[str, int]:
    return {}
