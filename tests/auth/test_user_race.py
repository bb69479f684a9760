"""A user created twice at once: one user and a 409 with a machine code, never a 500.

Two admins post the same username at the same moment. The first request is held inside its transaction right
after its INSERT until the second one is in flight too (on PostgreSQL: until the second waits on the unique
index), so both have passed the "does it exist?" look-up before either commits — the race a look-up followed by a
plain INSERT lost with an IntegrityError.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy import event, func, select

from siyu.app import create_app
from siyu.models import User
from siyu.runtime import Runtime
from tests.conftest import BACKEND, make_token


def _second_is_waiting(rt: Runtime, deadline: float) -> None:
    """Until the other transaction waits for a lock (PostgreSQL), or a moment has passed (SQLite, where the second
    writer queues for the database before its look-up)."""
    if BACKEND != "postgresql":
        time.sleep(0.3)
        return
    with rt.engine.connect() as conn:
        while time.monotonic() < deadline:
            waiting = conn.execute(sa.text("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                                           "AND datname = current_database()")).scalar()
            if waiting:
                return
            time.sleep(0.02)


def test_the_same_username_created_concurrently_gives_one_user_and_a_409(rt: Runtime) -> None:
    token = make_token(rt, "admin")
    first_inserted, release = threading.Event(), threading.Event()
    held = {"done": False}

    def hold_first(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        # After the first request's INSERT of "dup", before its commit: let the second request start, wait for it.
        # (Only the first INSERT of a user is held: the second request starts after it.)
        if held["done"] or not statement.lstrip().startswith("INSERT INTO users"):
            return
        held["done"] = True
        first_inserted.set()
        release.wait(10)

    event.listen(rt.engine, "after_cursor_execute", hold_first)
    results: dict[str, Any] = {}

    def create(name: str) -> None:
        with TestClient(create_app(runtime=rt)) as c:
            results[name] = c.post("/api/v1/users", headers={"Authorization": f"Bearer {token}"},
                                   json={"username": "dup", "password": "a long password", "role": "sales"})

    try:
        first = threading.Thread(target=create, args=("first",), name="first")
        second = threading.Thread(target=create, args=("second",), name="second")
        first.start()
        assert first_inserted.wait(10), "the first request never inserted"
        second.start()
        _second_is_waiting(rt, time.monotonic() + 5)
        release.set()
        first.join(20)
        second.join(20)
    finally:
        release.set()
        event.remove(rt.engine, "after_cursor_execute", hold_first)

    statuses = sorted(r.status_code for r in results.values())
    assert statuses == [201, 409], {k: (r.status_code, r.text) for k, r in results.items()}
    conflict = next(r for r in results.values() if r.status_code == 409)
    assert conflict.json()["code"] == "username_taken"
    with rt.tx() as s:
        assert s.scalar(select(func.count()).select_from(User).where(User.username == "dup")) == 1
