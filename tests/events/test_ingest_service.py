"""The in-process ingest path: what the API and connectors call."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from siyu.events import service
from siyu.models import Event


def test_duplicate_inside_one_batch_is_reported_as_duplicate(rt: Any) -> None:
    items = [{"type": "custom.x", "source_key": "k1"}, {"type": "custom.x", "source_key": "k1"}]
    with rt.tx() as s:
        res = service.ingest(s, 1, items, now=rt.clock.now())
    assert [r.status for r in res] == ["stored", "duplicate"]


def test_rolled_back_batch_stores_nothing(rt: Any) -> None:
    items = [{"type": "custom.x", "source_key": f"k{i}"} for i in range(5)]
    try:
        with rt.tx() as s:
            service.ingest(s, 1, items, now=rt.clock.now())
            raise RuntimeError("crash before commit")
    except RuntimeError:
        pass
    with rt.tx() as s:
        assert s.scalar(select(func.count()).select_from(Event)) == 0
        # and the retry after the failure stores all of them
        res = service.ingest(s, 1, items, now=rt.clock.now())
    assert {r.status for r in res} == {"stored"}


def test_merged_contact_events_land_on_the_survivor(rt: Any) -> None:
    from siyu.contacts import identities

    now = rt.clock.now()
    with rt.tx() as s:
        a, _ = identities.identify(s, 1, "email", "a@x.cn", now=now)
        b, _ = identities.identify(s, 1, "phone", "13800000000", now=now)
        keep = identities.add_identity(s, 1, b, "email", "a@x.cn", now=now)
        assert keep == a
        res = service.ingest(s, 1, [{"type": "custom.y", "contact_id": b, "source_key": "after-merge"}], now=now)
        ev = s.get(Event, res[0].id)
        assert ev is not None and ev.contact_id == a
        types = [e.type for e in service.timeline(s, 1, a)]
    assert "contact.merged" in types and "custom.y" in types


def test_bulk_path_stores_timestamps_exactly_as_the_orm_does(rt: Any) -> None:
    """A whole-second timestamp must match equality and range queries (it once lost its microseconds on SQLite)."""
    from datetime import UTC, datetime

    t = datetime(2026, 11, 2, 10, 0, 0, tzinfo=UTC)
    with rt.tx() as s:
        service.ingest(s, 1, [{"type": "custom.z", "source_key": "whole", "occurred_at": t.isoformat()}],
                       now=rt.clock.now())
    with rt.tx() as s:
        assert s.scalar(select(func.count()).select_from(Event).where(Event.occurred_at == t)) == 1
        assert s.scalar(select(func.count()).select_from(Event).where(Event.occurred_at >= t)) == 1
        ev = s.scalar(select(Event).where(Event.source_key == "whole"))
        assert ev is not None and ev.occurred_at == t and ev.received_at == rt.clock.now()
