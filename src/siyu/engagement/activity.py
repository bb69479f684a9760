"""Per-group activity (C9): member messages per local day, a baseline, and the quiet days that make a dead group.

A *member message* is a `message.posted` event with a contact who is not one of the community's vest accounts or
robots, and that siyu did not post itself (see `is_siyu_message`). Counting happens in SQL, one pass over the
window, bucketed by the workspace's local days (`sum(case …)` per day, grouped by group).

Quiet day `d` of a group: its member messages on `d` are below `max(dead_floor, dead_ratio × baseline(d))`, where
`baseline(d)` is the mean over the `BASELINE_DAYS` full days before `d` that the group existed. A group with fewer
than `MIN_BASELINE_DAYS` such days is *new*: only the absolute floor applies. A group is dead when its latest
`dead_after_days` complete days are all quiet; the streak starts at the first quiet day of that run, which names
the alert, so it is raised once per streak.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import and_, case, exists, func, select
from sqlalchemy.orm import Session

from siyu.communities.schemas import NOT_COUNTED
from siyu.models import Community, CommunityRole, Event, Group, Workspace

BASELINE_DAYS = 14
MIN_BASELINE_DAYS = 7
#: How far back a quiet streak is followed to find where it started (the alert's key).
MAX_STREAK_DAYS = 45
DEFAULTS: dict[str, Any] = {"dead_after_days": 3, "dead_ratio": 0.3, "dead_floor": 1, "dead_alerts": True}
SIYU_SENDERS = frozenset({"siyu"})


def is_siyu_message(payload: Mapping[str, Any]) -> bool:
    """Whether a `message.posted` payload is siyu's own post echoed back by a platform.

    Connectors mark such messages with `from_siyu: true` (or `sender: "siyu"`); a robot-role contact of the
    community is siyu too (see `not_counted`).
    """
    return bool(payload.get("from_siyu")) or str(payload.get("sender", "")) in SIYU_SENDERS


def not_counted(session: Session, group: Group, contact_id: int, roles: tuple[str, ...] = NOT_COUNTED) -> bool:
    """Vest accounts and robots of the group's community (A4) are not members for statistics."""
    if group.community_id is None:
        return False
    return session.scalar(select(CommunityRole.id).where(
        CommunityRole.community_id == group.community_id, CommunityRole.contact_id == contact_id,
        CommunityRole.role.in_(roles)).limit(1)) is not None


def settings_for(session: Session, group: Group) -> dict[str, Any]:
    """Dead-group settings: the group's own override the community's, which override the defaults."""
    merged = dict(DEFAULTS)
    if group.community_id is not None:
        c = session.get(Community, group.community_id)
        if c is not None:
            merged.update({k: v for k, v in (c.settings or {}).items() if k in DEFAULTS})
    merged.update({k: v for k, v in (group.settings or {}).items() if k in DEFAULTS})
    return merged


def workspace_zone(session: Session, ws: int) -> ZoneInfo:
    w = session.get(Workspace, ws)
    try:
        return ZoneInfo(w.timezone if w is not None else "Asia/Shanghai")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("Asia/Shanghai")


def local_midnight(day: date, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0, 0), tzinfo=tz)


def daily_member_messages(session: Session, ws: int, first: date, days: int, tz: ZoneInfo,
                          group_ids: list[int] | None = None) -> dict[int, list[int]]:
    """Member messages per group per local day from `first` for `days` days, in one pass over the range."""
    bounds = [local_midnight(first + timedelta(days=i), tz) for i in range(days + 1)]
    sums = [
        func.coalesce(func.sum(case((and_(Event.occurred_at >= bounds[i], Event.occurred_at < bounds[i + 1]), 1),
                                    else_=0)), 0)
        for i in range(days)
    ]
    excluded = exists().where(CommunityRole.community_id == Group.community_id,
                              CommunityRole.contact_id == Event.contact_id,
                              CommunityRole.role.in_(NOT_COUNTED))
    # Driven by the workspace's groups through the (group_id, occurred_at) index: the log has no index for a
    # time window over one type (models/event.py), and group ids are unique across workspaces.
    groups = (select(Group.id).where(Group.workspace_id == ws) if group_ids is None
              else select(Group.id).where(Group.workspace_id == ws, Group.id.in_(group_ids)))
    q = (select(Event.group_id, *sums).join(Group, Group.id == Event.group_id)
         .where(Event.group_id.in_(groups), Event.occurred_at >= bounds[0],
                Event.occurred_at < bounds[-1], Event.type == "message.posted", Event.contact_id.is_not(None),
                ~excluded)
         .group_by(Event.group_id))
    return {int(row[0]): [int(n or 0) for n in row[1:]] for row in session.execute(q).all()}


@dataclass
class Quiet:
    """The verdict for one group: whether it is dead now, since which day, and the numbers behind it."""

    group_id: int
    dead: bool
    streak_start: date | None
    streak_days: int
    baseline: float | None
    threshold: float
    recent: list[int] = field(default_factory=list)
    new_group: bool = False


def first_full_day(group: Group, tz: ZoneInfo) -> date:
    created = group.created_at.astimezone(tz)
    day = created.date()
    return day if created == local_midnight(day, tz) else day + timedelta(days=1)


def evaluate(group: Group, counts: list[int], first: date, last: date, tz: ZoneInfo,
             cfg: Mapping[str, Any]) -> Quiet:
    """Classify the days up to `last` (the latest complete local day); `counts[i]` is day `first + i`."""
    after = max(1, int(cfg["dead_after_days"]))
    ratio = float(cfg["dead_ratio"])
    floor = float(cfg["dead_floor"])
    born = first_full_day(group, tz)

    def count(d: date) -> int:
        i = (d - first).days
        return counts[i] if 0 <= i < len(counts) else 0

    def threshold(d: date) -> tuple[float, float | None, bool]:
        history = [count(d - timedelta(days=k)) for k in range(1, BASELINE_DAYS + 1)
                   if d - timedelta(days=k) >= born]
        if len(history) < MIN_BASELINE_DAYS:
            return floor, None, True
        base = sum(history) / len(history)
        return max(floor, ratio * base), base, False

    streak = 0
    start: date | None = None
    d = last
    while d >= born and streak < MAX_STREAK_DAYS:
        limit, _, _ = threshold(d)
        if count(d) >= limit:
            break
        streak += 1
        start = d
        d -= timedelta(days=1)
    limit, base, new = threshold(last)
    recent = [count(last - timedelta(days=k)) for k in range(after - 1, -1, -1)]
    return Quiet(group_id=group.id, dead=streak >= after, streak_start=start, streak_days=streak, baseline=base,
                 threshold=limit, recent=recent, new_group=new)


def quiet_groups(session: Session, ws: int, now: datetime) -> list[tuple[Group, Quiet, dict[str, Any]]]:
    """Every active group of the workspace with its verdict for the latest complete local day."""
    tz = workspace_zone(session, ws)
    last = now.astimezone(tz).date() - timedelta(days=1)
    groups = list(session.scalars(select(Group).where(Group.workspace_id == ws,
                                                      Group.status.in_(("active", "full"))).order_by(Group.id)))
    if not groups:
        return []
    span = MAX_STREAK_DAYS + BASELINE_DAYS + 1
    first = last - timedelta(days=span - 1)
    counts = daily_member_messages(session, ws, first, span, tz)
    out = []
    for g in groups:
        cfg = settings_for(session, g)
        if not cfg.get("dead_alerts", True) or first_full_day(g, tz) > last:
            continue
        out.append((g, evaluate(g, counts.get(g.id, [0] * span), first, last, tz, cfg), cfg))
    return out
