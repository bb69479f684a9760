"""Connectors over REST (admin): add, read, change, test, remove — secrets are write-only, never in an answer."""

from __future__ import annotations

from typing import Any

from siyu.runtime import Runtime
from tests.connectors.receiver import receiver

SECRET = "whsec-api-0123456789abcdef"
OUT_SECRET = "whsec-out-0123456789abcdef"


def test_secrets_never_come_back_and_settings_round_trip(api: Any, rt: Runtime) -> None:
    c = api("admin")
    kinds = c.get("/api/v1/connector-kinds").json()
    (webhook,) = kinds
    props = webhook["settings_schema"]["properties"]
    assert props["secret"]["writeOnly"] is True and props["secret"]["format"] == "password"

    r = c.post("/api/v1/connectors", json={"kind": "webhook", "name": "tg", "settings": {
        "secret": SECRET, "outbound_secret": OUT_SECRET, "outbound_url": "https://bot.example.com/siyu"}})
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["secrets"] == {"secret": True, "outbound_secret": True}
    assert body["settings"]["outbound_url"] == "https://bot.example.com/siyu"
    assert body["capabilities"]["post_to_group"] == "auto"
    assert body["capabilities_text"].startswith("group posts: automatic")
    assert body["callback_url"] == "http://testserver/callbacks/webhook/tg"

    r = c.patch("/api/v1/connectors/tg", json={"settings": {"outbound_secret": None, "tolerance_seconds": 60}})
    assert r.status_code == 200 and r.json()["settings"]["tolerance_seconds"] == 60
    assert r.json()["secrets"] == {"secret": True, "outbound_secret": True}  # null keeps the stored secret
    listed = c.get("/api/v1/connectors")
    one = c.get("/api/v1/connectors/tg")
    for answer in (listed.text, one.text, r.text, c.get("/api/v1/connector-kinds").text):
        assert SECRET not in answer and OUT_SECRET not in answer
    assert [x["name"] for x in listed.json()["items"]] == ["tg"] and listed.json()["next_cursor"] is None


def test_bad_settings_and_names_are_4xx_with_codes(api: Any) -> None:
    c = api("admin")
    r = c.post("/api/v1/connectors", json={"kind": "webhook", "name": "tg", "settings": {"secret": "tiny-key"}})
    assert r.status_code == 422 and r.json()["code"] == "validation_error"
    assert r.json()["detail"][0]["loc"] == ["secret"] and "tiny-key" not in r.text
    r = c.post("/api/v1/connectors", json={"kind": "fax", "name": "tg", "settings": {}})
    assert r.status_code == 422 and r.json()["code"] == "unknown_connector_kind"
    r = c.post("/api/v1/connectors", json={"kind": "webhook", "name": "../x", "settings": {"secret": SECRET}})
    assert r.status_code == 422 and r.json()["code"] == "invalid_connector_name"
    assert c.post("/api/v1/connectors", json={"kind": "webhook", "name": "tg",
                                               "settings": {"secret": SECRET}}).status_code == 201
    r = c.post("/api/v1/connectors", json={"kind": "webhook", "name": "tg", "settings": {"secret": SECRET}})
    assert r.status_code == 409 and r.json()["code"] == "connector_name_taken"
    assert c.get("/api/v1/connectors/nope").json()["code"] == "unknown_connector"


def test_test_and_remove(api: Any) -> None:
    c = api("admin")
    with receiver([503]) as hook:
        c.post("/api/v1/connectors", json={"kind": "webhook", "name": "tg",
                                           "settings": {"secret": SECRET, "outbound_url": hook.url}})
        refused = c.post("/api/v1/connectors/tg/test").json()
        assert refused == {"ok": False, "outcome": "refused", "message": "the outbound URL answered 503",
                           "detail": {"status": 503}}
        ok = c.post("/api/v1/connectors/tg/test").json()
        assert ok["ok"] is True and ok["outcome"] == "reachable"
    health = c.get("/api/v1/connectors/tg").json()["health"]
    assert (health["calls_last_hour"], health["errors_last_hour"], health["error_rate_last_hour"]) == (2, 1, 0.5)
    assert "503" in health["last_error"] and health["last_outbound_at"] is not None
    assert c.delete("/api/v1/connectors/tg").status_code == 204
    assert c.get("/api/v1/connectors").json()["items"] == []


def test_only_admins(api: Any) -> None:
    c = api("operator")
    assert c.get("/api/v1/connectors").status_code == 403
    assert c.post("/api/v1/connectors", json={"kind": "webhook", "name": "tg",
                                               "settings": {"secret": SECRET}}).status_code == 403
