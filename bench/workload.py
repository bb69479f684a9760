"""Realistic event batches, as an integrator would post them (JSON-shaped dicts), from a seeded generator.

Mix: link.clicked 35 %, page.viewed 35 %, order.paid 10 %, custom.* 20 %; every event names its person by
an email identity drawn from a pool (default 5,000), so after the warm-up every event resolves to an existing
contact; every event carries a unique source key (`PHASE-<24 hex>`), so nothing is a duplicate.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

CAMPAIGNS = ["double11", "spring-sale", "vip-week", "newcomer", None]
PAGES = ["", "products", "products/tea", "products/ware", "cart", "checkout", "about", "blog/brewing-guide"]
CUSTOM = ["custom.video_watched", "custom.coupon_claimed", "custom.live_joined", "custom.survey_opened"]


def person_email(i: int) -> str:
    return f"user{i:05d}@example.com"


class Workload:
    def __init__(self, phase: str, *, people: int, seed: int) -> None:
        self.phase = phase
        self.people = people
        self.rnd = random.Random(f"{seed}:{phase}")
        self.base = datetime.now(UTC).replace(microsecond=0)

    def _contact(self, person: int) -> dict[str, Any]:
        ref: dict[str, Any] = {"platform": "email", "external_id": person_email(person)}
        if self.rnd.random() < 0.1:
            ref["display_name"] = f"Customer {person}"
        return ref

    def event(self, person: int | None = None) -> dict[str, Any]:
        r = self.rnd
        if person is None:
            person = r.randrange(self.people)
        roll = r.random()
        payload: dict[str, Any]
        if roll < 0.35:
            etype = "link.clicked"
            payload = {"url": f"https://shop.example.com/p/{r.randrange(2000)}?utm_source=wechat&utm_medium=group"}
            campaign = r.choice(CAMPAIGNS)
            if campaign:
                payload["campaign"] = campaign
        elif roll < 0.70:
            etype = "page.viewed"
            payload = {"url": f"https://shop.example.com/{r.choice(PAGES)}", "referrer": "wechat"}
        elif roll < 0.80:
            etype = "order.paid"
            payload = {"order_id": f"SO{r.getrandbits(40):012d}", "amount": round(r.uniform(9, 999), 2),
                       "currency": "CNY", "items": r.randint(1, 5)}
        else:
            etype = r.choice(CUSTOM)
            payload = {"source": "miniprogram", "value": r.randint(1, 600),
                       "label": f"item-{r.randrange(300)}"}
        occurred = self.base - timedelta(seconds=r.randrange(7 * 86400), microseconds=r.randrange(1_000_000))
        return {
            "type": etype,
            "source_key": f"{self.phase}-{r.getrandbits(96):024x}",
            "occurred_at": occurred.isoformat(),
            "contact": self._contact(person),
            "payload": payload,
        }

    def batch(self, size: int) -> list[dict[str, Any]]:
        return [self.event() for _ in range(size)]

    def batches(self, total: int, size: int) -> Iterator[list[dict[str, Any]]]:
        done = 0
        while done < total:
            n = min(size, total - done)
            yield self.batch(n)
            done += n

    def warmup_batches(self, size: int) -> Iterator[list[dict[str, Any]]]:
        """Every person of the pool once, so the timed phases meet existing contacts."""
        for start in range(0, self.people, size):
            yield [self.event(p) for p in range(start, min(start + size, self.people))]
