"""REST: create per kind with validation (4xx machine codes), list, get with live results, close, draw, share
links, permissions and audit. Console: pages render in both languages, forms work, member text is escaped."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from sqlalchemy import select

from siyu.models import AuditEntry
from tests.console.conftest import Console
from tests.interaction.conftest import World

XSS = "<script>alert(1)</script>"
XSS_ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;"


def test_rest_create_validation_and_lifecycle(world: World, api: Any) -> None:
    c = api("operator")
    gid = world.group_id
    bad = [
        ({"group_id": gid, "kind": "quiz", "title": "q", "options": ["a", "b"]}, 422, "correct_required"),
        ({"group_id": gid, "kind": "poll", "title": "p", "options": ["a"]}, 422, "options_required"),
        ({"group_id": gid, "kind": "quiz", "title": "q", "options": ["a", "b"], "correct": 3}, 422,
         "correct_out_of_range"),
        ({"group_id": gid, "kind": "draw", "title": "d", "stock": 5}, 422, "field_not_for_kind"),
        ({"group_id": gid, "kind": "solitaire", "title": "s", "options": ["x", "y"]}, 422, "field_not_for_kind"),
        ({"group_id": gid, "kind": "solitaire", "title": "s",
          "closes_at": (world.rt.clock.now() - timedelta(hours=1)).isoformat()}, 422, "closes_at_past"),
        ({"group_id": gid, "kind": "solitaire", "title": "s", "closes_at": "2026-12-12T20:00:00"}, 422,
         "validation_error"),
        ({"group_id": gid, "kind": "lottery", "title": "x"}, 422, "validation_error"),
        ({"group_id": gid, "kind": "solitaire", "title": ""}, 422, "validation_error"),
        ({"group_id": gid, "kind": "solitaire", "title": "s", "stock": 0}, 422, "validation_error"),
        ({"group_id": 9999, "kind": "solitaire", "title": "s"}, 404, "group_not_found"),
    ]
    for body, status, code in bad:
        r = c.post("/api/v1/interactions", json=body)
        assert (r.status_code, r.json()["code"]) == (status, code), (body, r.text)

    r = c.post("/api/v1/interactions", json={"group_id": gid, "kind": "solitaire", "title": "面膜接龙", "stock": 3})
    assert r.status_code == 201, r.text
    sid = r.json()["id"]
    assert r.json()["live"] == {"count": 0, "stock": 3, "remaining": 3}
    dup = c.post("/api/v1/interactions", json={"group_id": gid, "kind": "solitaire", "title": "again"})
    assert dup.status_code == 409 and dup.json()["code"] == "interaction_already_open"
    # another slot in the same group is fine
    d = c.post("/api/v1/interactions", json={"group_id": gid, "kind": "draw", "title": "抽奖", "winners": 1,
                                             "seed": "s1"})
    assert d.status_code == 201
    did = d.json()["id"]
    assert "seed" not in d.json()["config"]          # not shown while the draw is open

    world.add("甲", "乙")
    world.post("甲", "接龙")
    world.post("甲", "抽奖")
    world.post("乙", "抽奖")
    got = c.get(f"/api/v1/interactions/{sid}").json()
    assert got["live"]["count"] == 1 and got["entries"][0]["display_name"] == "甲"
    assert [i["id"] for i in c.get("/api/v1/interactions?status=open").json()["items"]] == [did, sid]
    assert c.get(f"/api/v1/interactions?group_id={gid}&status=closed").json()["items"] == []

    link = c.post(f"/api/v1/interactions/{did}/share-links", json={"contact_id": world.contacts["乙"]})
    assert link.status_code == 201 and len(link.json()["token"]) >= 12 and link.json()["verified_at"] is None
    assert c.post(f"/api/v1/interactions/{did}/share-links", json={"contact_id": 424242}).json()["code"] == \
        "contact_not_found"

    assert c.post(f"/api/v1/interactions/{sid}/draw").json()["code"] == "not_a_draw"
    drawn = c.post(f"/api/v1/interactions/{did}/draw", json={}).json()
    assert drawn["status"] == "closed" and drawn["result"]["seed"] == "s1" and len(drawn["result"]["winners"]) == 1
    assert c.post(f"/api/v1/interactions/{did}/draw").json()["result"] == drawn["result"]
    closed = c.post(f"/api/v1/interactions/{sid}/close").json()
    assert closed["status"] == "closed" and closed["result"]["reason"] == "manual"
    assert c.post(f"/api/v1/interactions/{sid}/close").json()["closed_at"] == closed["closed_at"]
    assert c.get("/api/v1/interactions/4242").json()["code"] == "interaction_not_found"

    viewer = api("viewer")
    assert viewer.get("/api/v1/interactions").status_code == 200
    r = viewer.post("/api/v1/interactions", json={"group_id": gid, "kind": "dice", "title": "x"})
    assert (r.status_code, r.json()["code"]) == (403, "forbidden")
    assert api("sales").get("/api/v1/interactions").status_code == 403
    with world.rt.tx() as s:
        actions = set(s.scalars(select(AuditEntry.action)))
    assert {"interaction.create", "interaction.draw", "interaction.close", "interaction.share_link"} <= actions


def test_rest_alerts_list_and_acknowledge(world: World, api: Any) -> None:
    from siyu.engagement.alerts import service as alerts

    with world.rt.tx() as s:
        a = alerts.raise_alert(s, 1, kind="complaint", key="complaint:1", message="投诉：发货太慢",
                               now=world.rt.clock.now(), group_id=world.group_id)
        assert a is not None
        aid = a.id
    c = api("operator")
    got = c.get("/api/v1/alerts").json()["items"]
    assert [x["id"] for x in got] == [aid] and got[0]["kind"] == "complaint"
    assert c.get("/api/v1/alerts?kind=dead_group").json()["items"] == []
    assert api("viewer").post(f"/api/v1/alerts/{aid}/acknowledge").status_code == 403
    c = api("operator")
    r = c.post(f"/api/v1/alerts/{aid}/acknowledge")
    assert r.status_code == 200 and r.json()["acknowledged_at"] is not None
    assert c.get("/api/v1/alerts").json()["items"] == []
    assert len(c.get("/api/v1/alerts?status=all").json()["items"]) == 1
    assert c.post("/api/v1/alerts/999/acknowledge").json()["code"] == "alert_not_found"


def test_console_pages_forms_and_escaping(world: World, console: Callable[[str], Console]) -> None:
    world.add(XSS)
    c = console("operator")
    for kind in ("solitaire", "draw", "quiz", "poll", "dice"):
        page = c.get(f"/interactions/new?kind={kind}")
        assert page.status_code == 200 and "name=\"title\"" in page.text
    bad = c.post("/interactions", {"kind": "quiz", "group_id": str(world.group_id), "title": "q",
                                   "options": "a\nb"}, htmx=True)
    assert bad.status_code == 422 and "correct" in bad.text
    r = c.post("/interactions", {"kind": "solitaire", "group_id": str(world.group_id), "title": f"团购 {XSS}",
                                 "stock": "10", "announce_every": "1", "announce_interval_s": "60",
                                 "closes_at": "2026-12-12T20:00"})
    assert r.status_code == 303
    iid = int(r.headers["location"].rsplit("/", 1)[1])
    ia = world.get(iid)
    assert ia.closes_at is not None and ia.closes_at.isoformat().startswith("2026-12-12T12:00")  # 20:00 Shanghai
    world.post(XSS, f"#接龙 {XSS}")

    detail = c.get(f"/interactions/{iid}")
    assert detail.status_code == 200
    assert XSS not in detail.text and XSS_ESCAPED in detail.text
    assert 'hx-get="/interactions/' in detail.text and "/live" in detail.text
    live = c.get(f"/interactions/{iid}/live")
    assert XSS not in live.text and XSS_ESCAPED in live.text
    listing = c.get("/interactions")
    assert listing.status_code == 200 and XSS not in listing.text and "every 3s" in listing.text
    assert "剩余 9 / 10 份" in listing.text or "9 of 10 left" in listing.text
    rows = c.get("/interactions/rows?status=open")
    assert rows.status_code == 200 and XSS_ESCAPED in rows.text

    assert c.post(f"/interactions/{iid}/announce").status_code == 303
    assert c.post(f"/interactions/{iid}/close").status_code == 303
    assert world.get(iid).status == "closed"
    assert XSS not in c.get(f"/interactions/{iid}").text

    c.client.cookies.set("siyu_lang", "en")
    en = c.get("/interactions")
    c.client.cookies.delete("siyu_lang")
    assert "Solitaire" in en.text


def test_console_alerts_and_dashboard(world: World, console: Callable[[str], Console]) -> None:
    from siyu.engagement.alerts import service as alerts

    with world.rt.tx() as s:
        alerts.raise_alert(s, 1, kind="complaint", key="c:1", message=f"投诉 {XSS}", now=world.rt.clock.now(),
                           group_id=world.group_id)
    c = console("operator")
    dash = c.get("/")
    assert 'id="open-alerts"><span class="n">1</span>' in dash.text
    page = c.get("/alerts")
    assert page.status_code == 200 and XSS not in page.text and XSS_ESCAPED in page.text
    assert "投诉" in page.text and "/acknowledge" in page.text
    with world.rt.tx() as s:
        aid = alerts.open_alerts(s, 1)[0].id
    assert c.post(f"/alerts/{aid}/acknowledge").status_code == 303
    assert 'id="open-alerts"><span class="n">0</span>' in c.get("/").text
    assert "/acknowledge" not in c.get("/alerts").text
