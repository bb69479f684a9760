"""The hourly event counts behind the console's day charts agree with the log itself."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from siyu.console import queries
from siyu.events import service
from siyu.models import Event

SHANGHAI = ZoneInfo("Asia/Shanghai")


def test_day_counts_match_the_log_across_local_midnight_and_duplicates(rt: Any) -> None:
    today = date(2026, 11, 2)
    midnight = datetime(2026, 11, 2, tzinfo=SHANGHAI)
    times = [midnight - timedelta(minutes=1), midnight, midnight + timedelta(hours=23, minutes=59),
             midnight - timedelta(days=3, hours=5), midnight + timedelta(days=1)]  # the last is tomorrow
    items = [{"type": "custom.t", "source_key": f"t{i}", "occurred_at": t.isoformat()} for i, t in enumerate(times)]
    with rt.tx() as s:
        service.ingest(s, 1, items, now=rt.clock.now())
    with rt.tx() as s:  # re-sent: duplicates, not counted again; and one event recorded by siyu itself
        service.ingest(s, 1, items, now=rt.clock.now())
        service.record(s, 1, "custom.t", now=rt.clock.now(), occurred_at=midnight + timedelta(hours=2))

    def truth(lo: datetime, hi: datetime) -> int:
        with rt.tx() as s:
            return int(s.scalar(select(func.count()).select_from(Event).where(
                Event.occurred_at >= lo, Event.occurred_at < hi)) or 0)

    with rt.tx() as s:
        per_day = dict(queries.events_per_day(s, 1, today, SHANGHAI, days=7))
        today_n = queries.events_between(s, 1, midnight, midnight + timedelta(days=1))
    assert per_day[today] == truth(midnight, midnight + timedelta(days=1)) == today_n == 3
    assert per_day[today - timedelta(days=1)] == 1 and per_day[today - timedelta(days=4)] == 1
    assert sum(per_day.values()) == truth(midnight - timedelta(days=6), midnight + timedelta(days=1)) == 5
