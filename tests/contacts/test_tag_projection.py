"""Tags follow from `contact.tagged` / `contact.untagged` facts, whatever reports them: the events API (a
platform's tag callback, an import) gives the same tags as the console, and late or reordered facts end right."""

from __future__ import annotations

from typing import Any


def _tags(c: Any, cid: int) -> list[str]:
    return list(c.get(f"/api/v1/contacts/{cid}").json()["tags"])


def _post(c: Any, *events: dict[str, Any], mode: str = "live") -> None:
    r = c.post(f"/api/v1/events?mode={mode}", json={"events": list(events)})
    assert r.status_code == 200, r.text
    assert all(x["status"] in ("stored", "duplicate") for x in r.json()["results"]), r.text


def _ev(kind: str, at: str, tags: list[str], key: str) -> dict[str, Any]:
    return {"type": kind, "occurred_at": at, "source_key": key, "contact": {"platform": "wecom", "external_id": "wmT1"},
            "payload": {"tags": tags, "source": "wecom"}}


def test_platform_tag_facts_set_the_contacts_tags(api: Any) -> None:
    c = api()
    _post(c, _ev("contact.tagged", "2026-11-01T08:00:00+08:00", ["意向:高", "来源：展会"], "t1"))
    cid = c.get("/api/v1/contacts", params={"q": "wmT1"}).json()["items"][0]["id"]
    assert _tags(c, cid) == ["意向:高", "来源:展会"]   # new tags are created; a full-width colon is a colon
    _post(c, _ev("contact.tagged", "2026-11-01T08:00:00+08:00", ["意向:高", "来源：展会"], "t1"))  # replay
    assert _tags(c, cid) == ["意向:高", "来源:展会"]
    _post(c, _ev("contact.untagged", "2026-11-02T08:00:00+08:00", ["意向:高"], "u1"))
    assert _tags(c, cid) == ["来源:展会"]


def test_reordered_tag_facts_end_in_the_newest_state(api: Any) -> None:
    c = api()
    # The untag (newer) arrives before the tag (older): the contact ends without the tag.
    _post(c, _ev("contact.untagged", "2026-11-03T08:00:00+08:00", ["意向:高"], "u2"), mode="history")
    _post(c, _ev("contact.tagged", "2026-11-02T08:00:00+08:00", ["意向:高"], "t2"), mode="history")
    cid = c.get("/api/v1/contacts", params={"q": "wmT1"}).json()["items"][0]["id"]
    assert _tags(c, cid) == []
    # A newer tag wins over the older untag; an even older untag arriving late leaves it.
    _post(c, _ev("contact.tagged", "2026-11-04T08:00:00+08:00", ["意向:高"], "t3"))
    _post(c, _ev("contact.untagged", "2026-11-01T08:00:00+08:00", ["意向:高"], "u3"), mode="history")
    assert _tags(c, cid) == ["意向:高"]


def test_a_malformed_tag_is_rejected_and_nothing_else_is_lost(api: Any) -> None:
    c = api()
    r = c.post("/api/v1/events", json={"events": [
        _ev("contact.tagged", "2026-11-01T08:00:00+08:00", ["no-colon"], "bad"),
        _ev("contact.tagged", "2026-11-01T08:00:00+08:00", ["意向:中"], "good")]})
    assert r.status_code == 422 and r.json()["code"] == "invalid_events"
    results = r.json()["results"]
    assert [x["status"] for x in results] == ["rejected", "stored"] and results[0]["code"] == "invalid_payload"
    cid = c.get("/api/v1/contacts", params={"q": "wmT1"}).json()["items"][0]["id"]
    assert _tags(c, cid) == ["意向:中"]
