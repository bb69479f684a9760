"""Batches that name the same new people in different orders, at the same moment.

On PostgreSQL each batch inserts its new identities under a unique index; in batch order, two batches over the
same addresses, one reversed, each held a key the other needed and one died with DeadlockDetected (every time).
"""

from __future__ import annotations

from sqlalchemy import func, select

from siyu.events import service as events
from siyu.models import Contact, Event, Identity
from siyu.runtime import DEFAULT_WORKSPACE, Runtime
from tests.racing import race

WS = DEFAULT_WORKSPACE


def _batch(addresses: list[str], tag: str) -> list[dict[str, object]]:
    return [{"type": "custom.visit", "source_key": f"{tag}-{a}",
             "contact": {"platform": "email", "external_id": a}} for a in addresses]


def test_reversed_batches_over_the_same_new_contacts_do_not_deadlock(rt: Runtime) -> None:
    rounds, size = 3, 1000
    errors: list[BaseException] = []
    for r in range(rounds):
        addresses = [f"r{r}-{i}@example.com" for i in range(size)]
        batches = [_batch(addresses, f"a{r}"), _batch(list(reversed(addresses)), f"b{r}")]

        def post(n: int, batches: list[list[dict[str, object]]] = batches) -> None:
            with rt.tx() as s:
                results = events.ingest(s, WS, batches[n], now=rt.clock.now())
            assert {x.status for x in results} == {"stored"}

        errors.extend(race(2, post))
    assert errors == []
    with rt.tx() as s:
        assert s.scalar(select(func.count()).select_from(Event)) == 2 * rounds * size
        assert s.scalar(select(func.count()).select_from(Identity)) == rounds * size
        # The race's losers leave no spare contacts behind.
        assert s.scalar(select(func.count()).select_from(Contact)) == rounds * size
        per_contact = s.execute(select(Event.contact_id, func.count()).group_by(Event.contact_id)).all()
    assert {n for _, n in per_contact} == {2}
