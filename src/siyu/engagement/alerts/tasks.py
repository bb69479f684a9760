"""Periodic work of engagement/alerts (called hourly from worker/queue.py): the dead-group check (C9)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from siyu.engagement import activity
from siyu.engagement.alerts import service
from siyu.events import schemas as event_schemas
from siyu.events import service as events

if TYPE_CHECKING:
    from siyu.runtime import Runtime


class WentQuiet(event_schemas.Payload):
    alert_id: int
    days: int
    since: str
    baseline: float | None = None
    threshold: float


event_schemas.register("group.went_quiet", WentQuiet)


def check_dead_groups(session: Session, ws: int, now: datetime) -> int:
    """Raise one `dead_group` alert per group and quiet streak; returns how many were raised now."""
    raised = 0
    for group, q, cfg in activity.quiet_groups(session, ws, now):
        if not q.dead or q.streak_start is None:
            continue
        key = f"dead_group:{group.id}:{q.streak_start.isoformat()}"
        base = f"{q.baseline:.1f}" if q.baseline is not None else "—"
        message = (f"群「{group.name}」已连续 {q.streak_days} 天冷清（自 {q.streak_start.isoformat()} 起）："
                   f"最近每天成员发言 {q.recent}，低于 {q.threshold:g}（基线 {base} 条/天）。"
                   f"请群主 {group.owner or '—'} 跟进。")
        detail = {"owner": group.owner, "since": q.streak_start.isoformat(), "days": q.streak_days,
                  "recent": q.recent, "baseline": q.baseline, "threshold": q.threshold, "new_group": q.new_group,
                  "dead_after_days": cfg["dead_after_days"], "dead_ratio": cfg["dead_ratio"]}
        alert = service.raise_alert(session, ws, kind="dead_group", key=key, message=message, now=now,
                                    group_id=group.id, detail=detail)
        if alert is None:
            continue
        raised += 1
        events.record(session, ws, "group.went_quiet", now=now, source_key=key, group_id=group.id,
                      payload={"alert_id": alert.id, "days": q.streak_days, "since": q.streak_start.isoformat(),
                               "baseline": q.baseline, "threshold": q.threshold})
    return raised


def tick(runtime: Runtime) -> dict[str, int]:
    now = runtime.clock.now()
    raised = 0
    for ws in runtime.workspace_ids():
        with runtime.tx() as s:
            raised += check_dead_groups(s, ws, now)
    return {"dead_groups": raised}
