"""Console fixtures: users of each role and a logged-in TestClient (session cookie + CSRF token)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

from siyu.auth import service as auth
from siyu.runtime import DEFAULT_WORKSPACE, Runtime

PASSWORD = "correct horse battery"
CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')
HTML = {"Accept": "text/html"}


def csrf_of(html: str) -> str:
    m = CSRF_RE.search(html)
    assert m, "no CSRF token on the page"
    return m.group(1)


class Console:
    """A TestClient logged in as one user, that posts forms with the session's CSRF token."""

    def __init__(self, client: TestClient) -> None:
        self.client = client
        self.csrf = ""

    def login(self, username: str, password: str = PASSWORD) -> Any:
        page = self.client.get("/login", headers=HTML)
        r = self.client.post("/login", data={"username": username, "password": password, "next": "/",
                                             "csrf_token": csrf_of(page.text)},
                             headers=HTML, follow_redirects=False)
        if r.status_code == 303:
            self.csrf = csrf_of(self.client.get("/", headers=HTML).text)
        return r

    def get(self, url: str, **kw: Any) -> Any:
        return self.client.get(url, headers={**HTML, **kw.pop("headers", {})}, **kw)

    def post(self, url: str, data: dict[str, Any] | None = None, *, csrf: bool = True, htmx: bool = False,
             **kw: Any) -> Any:
        body = dict(data or {})
        if csrf:
            body["csrf_token"] = self.csrf
        headers = {**HTML, **kw.pop("headers", {})}
        if htmx:
            headers["HX-Request"] = "true"
        return self.client.post(url, data=body, headers=headers, follow_redirects=False, **kw)


@pytest.fixture
def make_user(rt: Runtime) -> Callable[[str, str], str]:
    def make(username: str, role: str) -> str:
        with rt.tx() as s:
            auth.create_user(s, DEFAULT_WORKSPACE, username, PASSWORD, role)
        return username

    return make


@pytest.fixture
def console(app_client: TestClient, make_user: Callable[[str, str], str]) -> Callable[[str], Console]:
    """`console(role)` → a Console logged in as a fresh user of that role (one client: call it once per test)."""

    def make(role: str = "admin") -> Console:
        name = make_user(f"{role}-user", role)
        c = Console(app_client)
        r = c.login(name)
        assert r.status_code == 303, r.text
        return c

    return make
