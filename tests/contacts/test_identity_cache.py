"""Identity lookups are cached per process; a merge anywhere, or a rollback, must never leave a stale id."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from siyu.contacts import identities
from siyu.events import service
from siyu.models import Contact, Event
from siyu.runtime import Runtime


def _event(rt: Any, key: str, email: str) -> int:
    with rt.tx() as s:
        res = service.ingest(s, 1, [{"type": "custom.seen", "source_key": key,
                                     "contact": {"platform": "email", "external_id": email}}], now=rt.clock.now())
        ev = s.get(Event, res[0].id)
        assert ev is not None and ev.contact_id is not None
        return ev.contact_id


def test_a_merge_in_another_process_reaches_this_processes_cache(rt: Any, settings: Any, clock: Any) -> None:
    first = _event(rt, "e1", "wang@example.com")
    assert _event(rt, "e2", "wang@example.com") == first  # now served from the cache
    other = Runtime(settings, clock=clock, immediate=True)  # another process: its own engine and cache
    try:
        with other.tx() as s:
            phone_owner, _ = identities.identify(s, 1, "phone", "13800000000", now=clock.now())
            identities.merge(s, 1, keep=phone_owner, absorb=first, now=clock.now())
    finally:
        other.close()
    assert _event(rt, "e3", "wang@example.com") == phone_owner


def test_a_rolled_back_new_contact_is_not_remembered(rt: Any) -> None:
    try:
        with rt.tx() as s:
            service.ingest(s, 1, [{"type": "custom.seen", "source_key": "r1",
                                   "contact": {"platform": "email", "external_id": "li@example.com"}}],
                           now=rt.clock.now())
            raise RuntimeError("crash before commit")
    except RuntimeError:
        pass
    cid = _event(rt, "r2", "li@example.com")
    with rt.tx() as s:
        assert s.scalar(select(Contact.id).where(Contact.id == cid)) == cid
