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


def test_offsets_are_stored_as_the_same_utc_instant(rt: Any) -> None:
    from datetime import UTC, datetime

    with rt.tx() as s:
        service.ingest(s, 1, [{"type": "custom.z", "source_key": "cn", "occurred_at": "2026-11-02T18:00:00.25+08:00"},
                              {"type": "custom.z", "source_key": "ny", "occurred_at": "2026-11-02T05:00:00.25-05:00"}],
                       now=rt.clock.now())
    t = datetime(2026, 11, 2, 10, 0, 0, 250000, tzinfo=UTC)
    with rt.tx() as s:
        assert s.scalar(select(func.count()).select_from(Event).where(Event.occurred_at == t)) == 2


def test_a_hash_collision_is_rejected_not_taken_for_a_duplicate(rt: Any, monkeypatch: Any) -> None:
    """Two different source keys that hash alike (forced here; ~never in life): the second event is not silently
    dropped as a duplicate, the sender is told to use another key, and the first stays a true duplicate."""
    from siyu.events import keys

    real = keys.source_hashes

    def colliding(ws: int, source_keys: list[str]) -> list[int]:
        return [42 if k.startswith("clash-") else h for k, h in zip(source_keys, real(ws, source_keys), strict=True)]

    monkeypatch.setattr(service, "source_hashes", colliding)
    with rt.tx() as s:
        first = service.ingest(s, 1, [{"type": "custom.x", "source_key": "clash-a"}], now=rt.clock.now())
    with rt.tx() as s:
        res = service.ingest(s, 1, [{"type": "custom.x", "source_key": "clash-a"},
                                    {"type": "custom.x", "source_key": "clash-b"},
                                    {"type": "custom.x", "source_key": "plain"}], now=rt.clock.now())
    assert first[0].status == "stored"
    assert [(r.status, r.code) for r in res] == [("duplicate", None), ("rejected", "source_key_collision"),
                                                 ("stored", None)]
    with rt.tx() as s:  # two colliding keys inside one batch: the later one is reported too
        res = service.ingest(s, 1, [{"type": "custom.x", "source_key": "plain-2"},
                                    {"type": "custom.x", "source_key": "clash-c"},
                                    {"type": "custom.x", "source_key": "clash-d"}], now=rt.clock.now())
    assert [r.code for r in res] == [None, "source_key_collision", "source_key_collision"]
    with rt.tx() as s:
        assert sorted(s.scalars(select(Event.source_key))) == ["clash-a", "plain", "plain-2"]


def test_a_naive_timestamp_from_code_is_refused_not_stored_as_utc(rt: Any) -> None:
    from datetime import datetime

    import pytest

    with pytest.raises(ValueError, match="naive"), rt.tx() as s:
        service.record(s, 1, "custom.z", now=rt.clock.now(), occurred_at=datetime(2026, 11, 2, 18, 0))
    with rt.tx() as s:
        assert s.scalar(select(func.count()).select_from(Event)) == 0
