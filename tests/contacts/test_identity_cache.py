"""Identity lookups are cached per process; a merge anywhere, or a rollback, must never leave a stale id."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from siyu.contacts import identities
from siyu.events import service
from siyu.models import Contact, Event
from siyu.runtime import Runtime
from tests.conftest import BACKEND


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


@pytest.mark.skipif(BACKEND != "postgresql", reason="two writers at once: SQLite has one")
def test_a_released_savepoint_does_not_publish_a_contact_before_its_commit(rt: Any) -> None:
    """A savepoint released inside a transaction (routing, the automations) is no commit: until the transaction
    commits, another writer must not be handed its new contact from the cache (a concurrent scan of the same person
    then found no contact behind the id: tests/engine/test_concurrent_joins.py failed under load)."""
    key = ("email", "early@example.com")
    with rt.tx() as s:
        cid, created = identities.identify(s, 1, *key, now=rt.clock.now())
        assert created
        with s.begin_nested():
            pass  # released: SQLAlchemy fires after_commit for it
        other = rt.sessions()  # another writer (a concurrent scan of the same person)
        try:
            assert identities._lookup(other, 1, [key]) == {}
        finally:
            other.rollback()
            other.close()
    other = rt.sessions()
    try:  # committed now: found
        assert identities._lookup(other, 1, [key]) == {key: cid}
    finally:
        other.close()
