"""The event API as an integrator meets it: batches, retries, bad input, acknowledgement."""

from __future__ import annotations

import base64
from typing import Any

from sqlalchemy import func, select

from siyu.models import Contact, Event, Identity


def _ev(i: int, **kw: Any) -> dict[str, Any]:
    base = {"type": "link.clicked", "source_key": f"click-{i}",
            "contact": {"platform": "email", "external_id": f"user{i % 7}@example.com"},
            "payload": {"url": f"https://example.com/a/{i}"}}
    base.update(kw)
    return base


def _count(rt: Any, **where: Any) -> int:
    with rt.tx() as s:
        q = select(func.count()).select_from(Event)
        for k, v in where.items():
            q = q.where(getattr(Event, k) == v)
        return int(s.scalar(q) or 0)


def test_same_batch_posted_twice_is_stored_once(api: Any, rt: Any) -> None:
    c = api()
    batch = {"events": [_ev(i) for i in range(50)]}
    first = c.post("/api/v1/events", json=batch)
    assert first.status_code == 200, first.text
    assert first.json()["stored"] == 50
    again = c.post("/api/v1/events", json=batch)
    assert again.status_code == 200
    assert again.json()["duplicate"] == 50 and again.json()["stored"] == 0
    assert _count(rt, type="link.clicked") == 50
    # seven distinct people, each one contact with one identity
    with rt.tx() as s:
        assert s.scalar(select(func.count()).select_from(Identity).where(Identity.platform == "email")) == 7


def test_idempotency_key_header_makes_keyless_retry_a_noop(api: Any, rt: Any) -> None:
    c = api()
    batch = {"events": [{"type": "custom.video_watched", "payload": {"seconds": i}} for i in range(10)]}
    for _ in range(3):
        r = c.post("/api/v1/events", json=batch, headers={"Idempotency-Key": "import-2026-11-02"})
        assert r.status_code == 200
    assert _count(rt, type="custom.video_watched") == 10


def test_single_event_object_is_accepted(api: Any, rt: Any) -> None:
    r = api().post("/api/v1/events", json=_ev(1, type="order.paid", payload={"order_id": "A1", "amount": 99}))
    assert r.status_code == 200
    assert r.json()["results"][0]["status"] == "stored"
    with rt.tx() as s:
        ev = s.scalar(select(Event).where(Event.type == "order.paid"))
        assert ev is not None and ev.payload["amount"] == 99 and ev.payload["currency"] == "CNY"


def test_malformed_events_get_422_and_valid_ones_in_the_batch_are_kept(api: Any, rt: Any) -> None:
    c = api()
    batch = {"events": [
        _ev(1),
        {"type": "no.such.type", "source_key": "bad-1"},
        _ev(2, payload={"url": 42 * "x" * 100}),                       # url too long
        {"type": "order.paid", "source_key": "bad-3", "payload": {"amount": -5, "order_id": "X"}},
        {"type": "link.clicked", "source_key": "bad-4", "occurred_at": "2026-01-01T08:00:00", "payload": {"url": "u"}},
        {"type": "link.clicked", "source_key": "bad-5", "contact_id": 999999, "payload": {"url": "u"}},
        {"type": "link.clicked", "unexpected": True},
        _ev(3),
    ]}
    r = c.post("/api/v1/events", json=batch)
    assert r.status_code == 422
    body = r.json()
    assert body["code"] == "invalid_events"
    statuses = [x["status"] for x in body["results"]]
    assert statuses == ["stored", "rejected", "rejected", "rejected", "rejected", "rejected", "rejected", "stored"]
    codes = {x["index"]: x.get("code") for x in body["results"]}
    assert codes[1] == "unknown_event_type"
    assert codes[3] == "invalid_payload"
    assert codes[4] == "invalid_event" and "time zone" in body["results"][4]["reason"]
    assert codes[5] == "unknown_contact"
    assert _count(rt) == 2
    assert _count(rt, source_key="bad-3") == 0


def test_garbage_bodies_are_clear_errors(api: Any, rt: Any) -> None:
    c = api()
    r = c.post("/api/v1/events", content=b"{not json", headers={"Content-Type": "application/json"})
    assert r.status_code == 422 and r.json()["code"] == "invalid_json"
    r = c.post("/api/v1/events", json=[1, 2])
    assert r.status_code == 422 and r.json()["code"] == "invalid_events"
    r = c.post("/api/v1/events", json={"events": [_ev(i) for i in range(1001)]})
    assert r.status_code == 422 and r.json()["code"] == "batch_too_large"
    assert _count(rt) == 0


def test_events_need_a_token_with_ingest_rights(api: Any, app_client: Any) -> None:
    r = app_client.post("/api/v1/events", json=_ev(1))
    assert r.status_code == 401 and r.json()["code"] == "not_authenticated"
    r = app_client.post("/api/v1/events", json=_ev(1), headers={"Authorization": "Bearer siyu_wrong"})
    assert r.status_code == 401 and r.json()["code"] == "invalid_token"
    r = api("viewer").post("/api/v1/events", json=_ev(1))
    assert r.status_code == 403 and r.json()["code"] == "forbidden"


def test_timeline_shows_a_contacts_events_newest_first(api: Any, rt: Any) -> None:
    c = api()
    c.post("/api/v1/events", json={"events": [
        _ev(0, occurred_at="2026-11-01T08:00:00+08:00"),
        _ev(7, type="order.paid", occurred_at="2026-11-01T09:00:00+08:00",
            payload={"order_id": "B7", "amount": 10}),
    ]})
    with rt.tx() as s:
        cid = s.scalar(select(Identity.contact_id).where(Identity.external_id == "user0@example.com"))
        assert s.get(Contact, cid) is not None
    r = c.get(f"/api/v1/contacts/{cid}/timeline")
    assert r.status_code == 200
    assert [e["type"] for e in r.json()["items"]] == ["order.paid", "link.clicked"]
    assert c.get("/api/v1/contacts/424242/timeline").status_code == 404


def test_timeline_pages_by_when_it_happened_then_id(api: Any, rt: Any) -> None:
    """The cursor pages through (occurred_at, id) latest first: events imported out of order and events of the same
    moment are neither skipped nor repeated."""
    c = api()
    times = ["2026-11-01T10:00:00+08:00", "2026-11-01T08:00:00+08:00", "2026-11-01T10:00:00+08:00",
             "2026-11-01T09:00:00+08:00", "2026-11-01T10:00:00+08:00"]
    c.post("/api/v1/events", json={"events": [_ev(i * 7, occurred_at=at) for i, at in enumerate(times)]})
    with rt.tx() as s:
        cid = s.scalar(select(Identity.contact_id).where(Identity.external_id == "user0@example.com"))
    whole = c.get(f"/api/v1/contacts/{cid}/timeline").json()
    assert whole["next_cursor"] is None and len(whole["items"]) == 5
    assert [e["occurred_at"][11:13] for e in whole["items"]] == ["02", "02", "02", "01", "00"]  # UTC hours
    seen, cursor = [], None
    while True:
        page = c.get(f"/api/v1/contacts/{cid}/timeline", params={"limit": 2, **({"cursor": cursor} if cursor else {})})
        assert page.status_code == 200
        seen += [e["id"] for e in page.json()["items"]]
        cursor = page.json()["next_cursor"]
        if cursor is None:
            break
    assert seen == [e["id"] for e in whole["items"]]
    naive = base64.urlsafe_b64encode(b'[{"t":"2026-01-01T00:00:00"},1]').decode()  # a time without its zone
    for bad in ("bogus", naive):
        r = c.get(f"/api/v1/contacts/{cid}/timeline", params={"cursor": bad})
        assert r.status_code == 422 and r.json()["code"] == "invalid_cursor"
