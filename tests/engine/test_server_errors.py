"""A server error (a bug, the database gone) is answered in the documented error shape, never plain text."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from siyu.app import create_app
from siyu.contacts import service as contacts
from siyu.runtime import Runtime
from tests.conftest import make_token


def test_an_unexpected_error_is_a_json_500(rt: Runtime, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*_a: object, **_k: object) -> None:
        raise RuntimeError("db exploded: password=hunter2")

    monkeypatch.setattr(contacts, "search", broken)
    client = TestClient(create_app(runtime=rt), raise_server_exceptions=False)
    r = client.get("/api/v1/contacts", headers={"Authorization": f"Bearer {make_token(rt, 'viewer')}"})
    assert r.status_code == 500
    body = r.json()
    assert body["code"] == "internal_error" and "hunter2" not in r.text
