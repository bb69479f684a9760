"""Events per UTC hour, added up as events are stored, so the console's day charts read a few hundred rows
instead of scanning the log (1.6 s for 310,000 events on SQLite before; docs/events.md).

Hours, not days: each workspace's own local day is a sum of hours (to the hour for time zones with half-hour
offsets). A batch adds to one of SHARDS rows per hour, picked by the writing thread, and in hour order, so
concurrent PostgreSQL writers neither queue on one hot row nor deadlock.
"""

from __future__ import annotations

import os
import threading
from collections import Counter
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from siyu.kit.db import driver_cursor, placeholder, sqlite_utc
from siyu.models import EventHour

SHARDS = 8


def _hour(t: datetime) -> datetime:
    return t.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def add(session: Session, ws: int, occurred: list[datetime]) -> None:
    """Count these stored events in their hours (same transaction as the events)."""
    if not occurred:
        return
    # Whole hours since the epoch: timestamp() is the cheapest exact way from an aware datetime to its UTC hour.
    counts = Counter(int(t.timestamp() // 3600) for t in occurred)
    per_hour = [(datetime.fromtimestamp(h * 3600, UTC), n) for h, n in sorted(counts.items())]
    conn = session.connection()
    ph = placeholder(conn.dialect)
    sqlite = conn.dialect.name == "sqlite"
    shard = hash((os.getpid(), threading.get_ident())) % SHARDS
    cur = driver_cursor(conn)
    try:
        cur.executemany(
            f"INSERT INTO event_hours (workspace_id, hour, shard, events) VALUES ({ph}, {ph}, {ph}, {ph}) "
            "ON CONFLICT (workspace_id, hour, shard) DO UPDATE SET events = event_hours.events + excluded.events",
            [(ws, sqlite_utc(h) if sqlite else h, shard, n) for h, n in per_hour])
    finally:
        cur.close()


def count_between(session: Session, ws: int, start: datetime, end: datetime) -> int:
    """Events that occurred in [start, end), to the hour."""
    return int(session.scalar(select(func.coalesce(func.sum(EventHour.events), 0)).where(
        EventHour.workspace_id == ws, EventHour.hour >= _ceil_hour(start), EventHour.hour < _ceil_hour(end))) or 0)


def per_range(session: Session, ws: int, bounds: list[datetime]) -> list[int]:
    """Events per consecutive range [bounds[i], bounds[i+1]), to the hour, in one query."""
    first, last = _ceil_hour(bounds[0]), _ceil_hour(bounds[-1])
    rows = session.execute(select(EventHour.hour, func.sum(EventHour.events)).where(
        EventHour.workspace_id == ws, EventHour.hour >= first, EventHour.hour < last).group_by(EventHour.hour)).all()
    edges = [_ceil_hour(b) for b in bounds]
    out = [0] * (len(bounds) - 1)
    for hour, n in rows:
        for i in range(len(out)):
            if edges[i] <= hour < edges[i + 1]:
                out[i] += int(n or 0)
                break
    return out


def _ceil_hour(t: datetime) -> datetime:
    """The hour bucket a boundary falls on: hours that start at or after it belong to the range it opens."""
    h = _hour(t)
    return h if h == t.astimezone(UTC) else h + timedelta(hours=1)
