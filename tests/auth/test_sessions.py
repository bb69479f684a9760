"""Console sessions end server-side: logout, changing one's password or being disabled logs out the other
browsers too, although their signed cookies are still valid."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from siyu.app import create_app
from siyu.models import User
from siyu.runtime import Runtime
from tests.console.conftest import HTML, PASSWORD, Console


def _browser(rt: Runtime) -> Console:
    """Another browser: its own cookie jar against the same server."""
    return Console(TestClient(create_app(runtime=rt)))


def _logged_in(c: Console) -> bool:
    r = c.get("/contacts", follow_redirects=False)
    return r.status_code == 200


def test_a_password_change_logs_out_the_other_sessions(rt: Runtime, make_user: Callable[[str, str], str],
                                                      clock: Any) -> None:
    make_user("lina", "operator")
    laptop, phone = _browser(rt), _browser(rt)
    assert laptop.login("lina").status_code == 303 and phone.login("lina").status_code == 303
    stolen_cookie = dict(phone.client.cookies)
    assert _logged_in(laptop) and _logged_in(phone)

    page = laptop.get("/account/password")
    assert page.status_code == 200 and 'name="current"' in page.text
    wrong = laptop.post("/account/password", {"current": "not it", "password": "a new secret 1",
                                              "confirm": "a new secret 1"})
    assert wrong.status_code == 422 and _logged_in(phone)
    r = laptop.post("/account/password", {"current": PASSWORD, "password": "a new secret 1",
                                          "confirm": "a new secret 1"})
    assert r.status_code == 303

    assert _logged_in(laptop), "the browser that changed the password stays in"
    r = phone.get("/contacts", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login")
    # Replaying the old cookie does not help: the session it names has ended.
    replay = TestClient(create_app(runtime=rt), cookies=stolen_cookie)
    assert replay.get("/contacts", headers=HTML, follow_redirects=False).status_code == 303
    assert _browser(rt).login("lina").status_code == 401
    assert _browser(rt).login("lina", "a new secret 1").status_code == 303


def test_logout_ends_that_session_only(rt: Runtime, make_user: Callable[[str, str], str]) -> None:
    make_user("wang", "viewer")
    a, b = _browser(rt), _browser(rt)
    a.login("wang")
    b.login("wang")
    kept = dict(a.client.cookies)
    assert a.post("/logout").status_code == 303
    assert not _logged_in(a) and _logged_in(b)
    replay = TestClient(create_app(runtime=rt), cookies=kept)
    assert replay.get("/contacts", headers=HTML, follow_redirects=False).status_code == 303


def test_disabling_a_user_ends_all_their_sessions(rt: Runtime, make_user: Callable[[str, str], str],
                                                 api: Any) -> None:
    make_user("boss", "admin")  # the last active admin could not be disabled; zhao is not it
    make_user("zhao", "sales")
    a, b = _browser(rt), _browser(rt)
    a.login("zhao")
    b.login("zhao")
    assert _logged_in(a) and _logged_in(b)
    with rt.tx() as s:
        uid = s.scalar(select(User.id).where(User.username == "zhao"))
    r = api("admin").patch(f"/api/v1/users/{uid}", json={"active": False})
    assert r.status_code == 200 and r.json()["active"] is False
    assert not _logged_in(a) and not _logged_in(b)
    # Enabling the user again does not revive the old sessions: they log in again.
    assert api("admin").patch(f"/api/v1/users/{uid}", json={"active": True}).status_code == 200
    assert not _logged_in(a)
    assert a.login("zhao").status_code == 303 and _logged_in(a)


def test_a_session_expires_after_its_max_age(rt: Runtime, make_user: Callable[[str, str], str], clock: Any) -> None:
    make_user("qian", "viewer")
    a = _browser(rt)
    a.login("qian")
    clock.advance(timedelta(days=13))
    assert _logged_in(a)
    clock.advance(timedelta(days=2))
    assert not _logged_in(a)
