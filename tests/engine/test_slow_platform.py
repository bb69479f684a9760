"""A platform that takes its time (WeCom answers in 100 ms – 5 s) must not hold up anything else.

The slow connector's `perform` blocks until the test lets it go (at most 5 s). While it is blocked, an ingest
batch, a console page and an API read must all complete: "done while the send is still in flight" is the
measure, not a time threshold. Before the platform call left the database transaction, SQLite's write lock was
held for the whole call and the ingest waited the full 5 s.
"""

from __future__ import annotations

import threading
from datetime import datetime
from typing import Any

from fastapi.testclient import TestClient

from siyu.auth import service as auth
from siyu.connectors.base import ActionSnapshot, Capabilities, Outcome, PlatformLink
from siyu.delivery import service as outbox
from siyu.runtime import DEFAULT_WORKSPACE, Runtime
from tests.conftest import make_token
from tests.console.conftest import PASSWORD, Console

WS = DEFAULT_WORKSPACE
HOLD_S = 5.0


class SlowConnector:
    name = "slow"

    def __init__(self) -> None:
        self.entered = threading.Event()
        self.release = threading.Event()
        self.returned = threading.Event()
        self.snapshots: list[ActionSnapshot] = []

    def bind(self, link: PlatformLink) -> None:
        self.link = link

    def capabilities(self, config: dict[str, Any]) -> Capabilities:
        return Capabilities()

    def perform(self, action: ActionSnapshot, now: datetime) -> Outcome:
        self.snapshots.append(action)
        self.entered.set()
        self.release.wait(HOLD_S)
        self.returned.set()
        return Outcome("sent", {"platform_id": "slow-1"})

    def reconcile(self, action: ActionSnapshot) -> Outcome | None:
        return None

    def complete_task(self, action: ActionSnapshot, now: datetime) -> Outcome:
        return Outcome("failed", error="no tasks")


def test_a_slow_send_does_not_hold_up_ingest_or_pages(rt: Runtime, app_client: TestClient) -> None:
    slow = SlowConnector()
    rt.connectors.register(slow)
    with rt.tx() as s:
        auth.create_user(s, WS, "ops", PASSWORD, "operator")
        action_id = outbox.plan(s, WS, key="slow-1", kind="direct_message", connector="slow", now=rt.clock.now(),
                                payload={"text": "您好"})
        s.info.pop(outbox.PENDING_KEY, None)  # delivered by hand below
    assert action_id is not None
    console = Console(app_client)
    assert console.login("ops").status_code == 303
    token = make_token(rt, "operator")

    sender = threading.Thread(target=outbox.deliver, args=(rt.sessions, rt.connectors, action_id, rt.clock.now()))
    sender.start()
    try:
        assert slow.entered.wait(10), "the send never started"
        ingest = app_client.post("/api/v1/events", headers={"Authorization": f"Bearer {token}"},
                                 json={"events": [{"type": "custom.visit", "source_key": f"v{i}",
                                                   "contact": {"platform": "web", "external_id": f"u{i}",
                                                               "display_name": f"访客{i}"}}
                                                  for i in range(100)]})
        page = console.get("/contacts")
        listed = app_client.get("/api/v1/contacts", headers={"Authorization": f"Bearer {token}"})
        in_flight = not slow.returned.is_set()
    finally:
        slow.release.set()
        sender.join()
    assert ingest.status_code == 200 and ingest.json()["stored"] == 100
    assert page.status_code == 200 and "访客99" in page.text
    assert listed.status_code == 200
    assert in_flight, "ingest or a page waited for the platform call"
    with rt.tx() as s:
        assert outbox.counts_by_state(s, WS) == {"sent": 1}
    assert slow.snapshots[0].payload == {"text": "您好"} and slow.snapshots[0].idempotency_key == "slow-1"


def test_reads_do_not_wait_for_a_writer(rt: Runtime, app_client: TestClient) -> None:
    """A page and a token check while another transaction holds the write lock (a long ingest batch)."""
    token = make_token(rt, "viewer")
    holding, done, released = threading.Event(), threading.Event(), threading.Event()

    def writer() -> None:
        with rt.tx(write=True) as s:
            s.connection().exec_driver_sql("UPDATE workspaces SET name = name")
            holding.set()
            done.wait(HOLD_S)
        released.set()

    t = threading.Thread(target=writer)
    t.start()
    try:
        assert holding.wait(10)
        listed = app_client.get("/api/v1/contacts", headers={"Authorization": f"Bearer {token}"})
        still_holding = not released.is_set()
    finally:
        done.set()
        t.join()
    assert listed.status_code == 200
    assert still_holding
