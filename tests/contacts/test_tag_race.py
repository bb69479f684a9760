"""Concurrent tag creation: many requests that create the same tag at once make one tag, and none of them fails.

On SQLite writers take turns, so this only bites on PostgreSQL with several `siyu serve` processes: each request
looked the tag up, found nothing, inserted, and all but one hit the unique constraint (HTTP 500). Every request
here waits on a barrier, then calls the real endpoint through its own HTTP connection, so the lookups and inserts
really overlap.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from siyu.app import create_app
from siyu.models import Tag, TagGroup
from siyu.runtime import Runtime
from tests.conftest import make_token

N = 50


def _all_at_once(n: int, call: Callable[[int], httpx.Response]) -> list[httpx.Response]:
    barrier = threading.Barrier(n, timeout=60)

    def one(i: int) -> httpx.Response:
        barrier.wait()
        return call(i)

    with ThreadPoolExecutor(max_workers=n) as pool:
        return list(pool.map(one, range(n)))


def _client(rt: Runtime) -> TestClient:
    # A failing request must come back as the 500 an operator would see, not as an exception in the test thread.
    client = TestClient(create_app(runtime=rt), raise_server_exceptions=False)
    client.headers["Authorization"] = f"Bearer {make_token(rt, 'operator')}"
    return client


def _counts(rt: Runtime) -> tuple[int, int]:
    with rt.tx() as s:
        groups = int(s.scalar(select(func.count()).select_from(TagGroup)) or 0)
        tags = int(s.scalar(select(func.count()).select_from(Tag)) or 0)
    return groups, tags


def test_fifty_concurrent_requests_for_one_new_tag_make_one_tag(rt: Runtime) -> None:
    with _client(rt) as client:
        responses = _all_at_once(N, lambda i: client.post("/api/v1/tags", json={"group": "渠道", "name": "抖音"}))
    statuses = sorted({r.status_code for r in responses})
    assert statuses == [201], [r.text for r in responses if r.status_code != 201][:3]
    assert len({r.json()["id"] for r in responses}) == 1, "every request answers with the same tag"
    assert _counts(rt) == (1, 1)


def test_concurrent_requests_for_different_tags_of_one_new_group_make_one_group(rt: Runtime) -> None:
    with _client(rt) as client:
        responses = _all_at_once(N, lambda i: client.post("/api/v1/tags", json={"group": "城市", "name": f"c{i}"}))
    bad: list[Any] = [r.text for r in responses if r.status_code != 201]
    assert not bad, bad[:3]
    assert len({r.json()["id"] for r in responses}) == N
    assert _counts(rt) == (1, N)
