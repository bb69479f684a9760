"""Issue 8 §2, groups over the API: edit (name, owner, capacity) and close / reopen, with what an operator notices —
a new capacity makes the group full (or open) at once, a closed group gets no new member from a scan, and a
rename made here is not undone by an older rename fact arriving late."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from siyu.runtime import Runtime


def _scan(c: Any, state: str, who: str) -> dict[str, Any]:
    r = c.post(f"/api/v1/channel-codes/{state}/scan", json={"platform": "sandbox", "external_id": who,
                                                             "nickname": who})
    assert r.status_code == 200, r.text
    return dict(r.json())


def test_edit_capacity_close_and_reopen(api: Any, rt: Runtime) -> None:
    c = api("operator")
    cid = c.post("/api/v1/communities", json={"name": "会计圈", "default_capacity": 200}).json()["id"]
    g1 = c.post("/api/v1/groups", json={"name": "会计圈 1 群", "community_id": cid, "capacity": 200}).json()["id"]
    g2 = c.post("/api/v1/groups", json={"name": "会计圈 2 群", "community_id": cid, "capacity": 200}).json()["id"]
    c.post("/api/v1/channel-codes", json={"name": "海报", "community_id": cid, "state": "poster"})
    assert _scan(c, "poster", "m1")["group_id"] == g1
    assert _scan(c, "poster", "m2")["group_id"] == g1

    r = c.patch(f"/api/v1/groups/{g1}", json={"name": "会计圈 · 一群", "owner": "wang-op", "capacity": 2})
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["name"], body["owner"], body["capacity"], body["status"]) == ("会计圈 · 一群", "wang-op", 2, "full")
    assert _scan(c, "poster", "m3")["group_id"] == g2          # full now: the next member goes to group 2
    assert c.patch(f"/api/v1/groups/{g1}", json={"capacity": 10}).json()["status"] == "active"

    closed = c.post(f"/api/v1/groups/{g2}/close")
    assert closed.status_code == 200 and closed.json()["status"] == "archived"
    assert c.post(f"/api/v1/groups/{g2}/close").json()["status"] == "archived"   # closing twice changes nothing
    assert _scan(c, "poster", "m4")["group_id"] == g1          # nobody new is routed into a closed group
    c.patch(f"/api/v1/groups/{g1}", json={"capacity": 3})     # m1, m2, m4: full
    g3 = _scan(c, "poster", "m5")["group_id"]                 # the platform opens a new group, not the closed one
    assert g3 not in (g1, g2)
    reopened = c.post(f"/api/v1/groups/{g2}/reopen")
    assert reopened.status_code == 200 and reopened.json()["status"] == "active"
    assert _scan(c, "poster", "m6")["group_id"] == g2          # the oldest group with room again
    again = c.post(f"/api/v1/groups/{g2}/reopen")
    assert again.status_code == 409 and again.json()["code"] == "group_not_closed"


def test_bad_edits_are_refused_and_change_nothing(api: Any) -> None:
    c = api("operator")
    g = c.post("/api/v1/groups", json={"name": "一群"}).json()
    for bad in ({"capacity": 1}, {"capacity": 5000}, {"name": ""}, {"name": None}, {"color": "red"}):
        r = c.patch(f"/api/v1/groups/{g['id']}", json=bad)
        assert r.status_code == 422, (bad, r.text)
    r = c.patch(f"/api/v1/groups/{g['id']}", json={"name": "   "})
    assert r.status_code == 422 and r.json()["code"] == "invalid_name"
    assert c.patch("/api/v1/groups/999999", json={"name": "x"}).status_code == 404
    assert api("viewer").patch(f"/api/v1/groups/{g['id']}", json={"name": "x"}).status_code == 403
    listed = api("operator").get("/api/v1/groups").json()["items"]
    assert [(x["name"], x["capacity"]) for x in listed] == [("一群", 200)]


def test_a_rename_here_is_not_undone_by_an_older_platform_rename(api: Any, rt: Runtime) -> None:
    c = api("operator")
    g = c.post("/api/v1/groups", json={"name": "旧名", "platform": "sandbox", "external_id": "wx-g1"}).json()
    assert c.patch(f"/api/v1/groups/{g['id']}", json={"name": "运营改的名"}).status_code == 200
    earlier = (rt.clock.now() - timedelta(minutes=5)).isoformat()
    r = api("admin").post("/api/v1/events", json={"events": [{
        "type": "group.renamed", "group": {"platform": "sandbox", "external_id": "wx-g1"},
        "occurred_at": earlier, "source_key": "rename-late", "payload": {"name": "平台旧改名"}}]})
    assert r.status_code in (200, 207), r.text
    assert [x["status"] for x in r.json()["results"]] == ["stored"], r.text
    assert [x["name"] for x in c.get("/api/v1/groups").json()["items"]] == ["运营改的名"]
    later = (rt.clock.now() + timedelta(minutes=5)).isoformat()   # a newer platform rename still applies
    api("admin").post("/api/v1/events", json={"events": [{
        "type": "group.renamed", "group": {"platform": "sandbox", "external_id": "wx-g1"},
        "occurred_at": later, "source_key": "rename-new", "payload": {"name": "平台新改名"}}]})
    assert [x["name"] for x in api("operator").get("/api/v1/groups").json()["items"]] == ["平台新改名"]
