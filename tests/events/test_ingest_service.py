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
