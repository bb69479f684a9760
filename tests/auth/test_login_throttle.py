"""Password guessing is cut off: after 10 failures in 15 minutes the right password is refused too, until the
window has passed."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient

from tests.console.conftest import PASSWORD, Console, csrf_of


def test_ten_failures_block_the_account_for_the_window(app_client: TestClient, make_user: Any,
                                                       clock: Any) -> None:
    make_user("lina", "operator")
    c = Console(app_client)
    for _ in range(10):
        assert c.login("lina", "wrong password").status_code == 401
    blocked = c.login("lina", PASSWORD)
    assert blocked.status_code == 429 and "too_many_attempts" in blocked.text
    make_user("wang", "operator")  # the address is blocked as well
    assert c.login("wang", PASSWORD).status_code == 429
    clock.advance(timedelta(minutes=16))
    assert c.login("lina", PASSWORD).status_code == 303


def test_the_throttle_memory_is_bounded_and_forgets_expired_keys_first() -> None:
    """A flood of made-up usernames cannot grow the throttle without limit; a key under attack is kept."""
    from siyu.auth.throttle import LoginThrottle
    from tests.conftest import START

    t = LoginThrottle(max_failures=3, window=timedelta(minutes=15), max_keys=100)
    for _ in range(3):
        t.failed(["user:lina"], START)
    assert t.blocked_until(["user:lina"], START) == START + timedelta(minutes=15)
    later = START + timedelta(minutes=1)
    for i in range(10_000):
        t.failed([f"user:random-{i}"], later)
    assert len(t) <= 100
    assert t.blocked_until(["user:random-9999"], later) is None  # one failure each: not blocked, but counted
    # lina's failures are the oldest; evicting them would unblock her attacker, but only expired keys and then the
    # least recently failed go: a key that keeps failing stays.
    t2 = LoginThrottle(max_failures=3, window=timedelta(minutes=15), max_keys=100)
    for i in range(200):
        t2.failed(["user:lina"], START + timedelta(seconds=i))  # keeps failing, so it stays recent
        t2.failed([f"user:random-{i}"], START + timedelta(seconds=i))
    assert len(t2) <= 100 and t2.blocked_until(["user:lina"], START + timedelta(seconds=200)) is not None
    # Expired keys make room before live ones are evicted.
    t3 = LoginThrottle(max_failures=3, window=timedelta(minutes=15), max_keys=2)
    t3.failed(["a"], START)
    for _ in range(3):
        t3.failed(["b"], START + timedelta(minutes=10))
    t3.failed(["c"], START + timedelta(minutes=20))  # "a" expired: it goes, "b" (blocked) stays
    assert t3.blocked_until(["b"], START + timedelta(minutes=20)) is not None and len(t3) == 2


def test_x_forwarded_for_counts_only_behind_a_trusted_proxy(rt: Any, make_user: Any) -> None:
    """Without trusted proxies a client's own X-Forwarded-For is ignored: its connection's address is what the
    throttle counts. Behind a trusted proxy the forwarded client address counts, one address at a time."""
    from siyu.app import create_app

    for i in range(11):
        make_user(f"u{i}", "operator")

    def attempt(client: TestClient, forwarded: str, user: str) -> int:
        page = client.get("/login")
        return int(client.post("/login", data={"username": user, "password": "wrong", "next": "/",
                                               "csrf_token": csrf_of(page.text)},
                               headers={"X-Forwarded-For": forwarded}).status_code)

    attacker = TestClient(create_app(runtime=rt), client=("192.0.2.10", 40000))
    for i in range(10):  # ten users, each "from" another forged address
        assert attempt(attacker, f"203.0.113.{i}", f"u{i}") == 401
    assert attempt(attacker, "198.51.100.7", "u10") == 429  # the connection's address was counted

    rt.settings.trusted_proxies = ["10.0.0.0/8"]
    proxy = TestClient(create_app(runtime=rt), client=("10.1.2.3", 40000))
    for i in range(10):
        assert attempt(proxy, "198.51.100.1", f"u{i}") == 401
    assert attempt(proxy, "198.51.100.1", "u10") == 429  # that client is blocked …
    assert attempt(proxy, "198.51.100.2, 10.9.9.9", "u10") == 401  # … another one behind the same proxy is not
    # A client cannot pass itself off as another by prepending hops: the right-most untrusted hop counts.
    assert attempt(proxy, "198.51.100.2, 198.51.100.1", "u10") == 429
