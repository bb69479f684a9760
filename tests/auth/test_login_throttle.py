"""Password guessing is cut off: after 10 failures in 15 minutes the right password is refused too, until the
window has passed."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient

from tests.console.conftest import PASSWORD, Console, make_user  # noqa: F401


def test_ten_failures_block_the_account_for_the_window(app_client: TestClient, make_user: Any,  # noqa: F811
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
