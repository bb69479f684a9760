"""B4: a code per channel; scanning it tags, attributes and routes the member to a group with room."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from siyu.models import Event, Membership


def _setup(c: Any, capacity: int = 200) -> tuple[int, int, dict[str, Any]]:
    cid = c.post("/api/v1/communities", json={"name": "会计圈", "welcome_text": "欢迎来到会计圈",
                                              "rules": {"forbidden": "广告"},
                                              "default_capacity": capacity}).json()["id"]
    gid = c.post("/api/v1/groups", json={"name": "会计圈 1 群", "community_id": cid,
                                         "capacity": capacity}).json()["id"]
    code = c.post("/api/v1/channel-codes", json={"name": "门店-南山", "kind": "store", "community_id": cid,
                                                 "tags": ["渠道:门店", "门店:南山"]})
    assert code.status_code == 201, code.text
    return cid, gid, code.json()


def test_code_has_a_state_and_downloadable_qr(api: Any) -> None:
    c = api()
    _, _, code = _setup(c)
    assert len(code["state"]) <= 30 and code["scan_url"].endswith(code["state"])
    png = c.get(f"/api/v1/channel-codes/{code['id']}/qr.png")
    assert png.status_code == 200 and png.headers["content-type"] == "image/png"
    assert png.content[:8] == b"\x89PNG\r\n\x1a\n"
    svg = c.get(f"/api/v1/channel-codes/{code['id']}/qr.svg")
    assert svg.headers["content-type"].startswith("image/svg+xml") and b"<svg" in svg.content
    assert c.get(f"/api/v1/channel-codes/{code['id']}/qr.gif").status_code == 404


def test_state_over_30_characters_is_rejected(api: Any) -> None:
    c = api()
    cid = c.post("/api/v1/communities", json={"name": "X"}).json()["id"]
    r = c.post("/api/v1/channel-codes", json={"name": "n", "community_id": cid, "state": "s" * 31})
    assert r.status_code == 422
    ok = c.post("/api/v1/channel-codes", json={"name": "n", "community_id": cid, "state": "ch:store-1"})
    assert ok.status_code == 201
    dup = c.post("/api/v1/channel-codes", json={"name": "m", "community_id": cid, "state": "ch:store-1"})
    assert dup.status_code == 409 and dup.json()["code"] == "state_taken"


def test_scan_creates_tags_attributes_and_routes_the_member(api: Any, rt: Any) -> None:
    c = api()
    _, gid, code = _setup(c)
    r = c.post(f"/api/v1/channel-codes/{code['state']}/scan",
               json={"platform": "sandbox", "external_id": "wx-001", "nickname": "王会计"})
    assert r.status_code == 200, r.text
    scan = r.json()
    assert scan["contact_created"] and scan["joined"] and scan["group_id"] == gid
    assert sorted(scan["tags_added"]) == ["渠道:门店", "门店:南山"]
    contact = c.get(f"/api/v1/contacts/{scan['contact_id']}").json()
    assert contact["display_name"] == "王会计" and sorted(contact["tags"]) == ["渠道:门店", "门店:南山"]
    types = [e["type"] for e in c.get(f"/api/v1/contacts/{scan['contact_id']}/timeline").json()["items"]]
    assert {"contact.joined_via_channel", "group.member_joined", "contact.tagged", "action.sent"} <= set(types)
    with rt.tx() as s:
        m = s.scalar(select(Membership).where(Membership.contact_id == scan["contact_id"]))
        assert m is not None and m.state == code["state"] and m.channel_code_id == code["id"]
        ev = s.scalar(select(Event).where(Event.type == "contact.joined_via_channel"))
        assert ev is not None and ev.payload["state"] == code["state"]
    # scanning again identifies the same person and does not join twice
    again = c.post(f"/api/v1/channel-codes/{code['state']}/scan",
                   json={"platform": "sandbox", "external_id": "wx-001", "nickname": "王会计"}).json()
    assert again["contact_id"] == scan["contact_id"] and not again["contact_created"] and not again["joined"]


def test_full_group_routes_to_a_new_group(api: Any) -> None:
    c = api()
    cid, gid, code = _setup(c, capacity=2)
    groups = []
    for i in range(5):
        r = c.post(f"/api/v1/channel-codes/{code['state']}/scan",
                   json={"platform": "sandbox", "external_id": f"wx-{i}", "nickname": f"m{i}"}).json()
        groups.append(r["group_id"])
    assert groups[:2] == [gid, gid]
    assert len(set(groups)) == 3
    listed = c.get(f"/api/v1/groups?community_id={cid}").json()["items"]
    assert [g["members"] for g in listed] == [2, 2, 1]
    assert listed[0]["status"] == "full"
    assert listed[2]["name"] == "会计圈 3" and listed[2]["capacity"] == 2


def test_switched_off_code_refuses_scans(api: Any) -> None:
    c = api()
    _, _, code = _setup(c)
    assert c.patch(f"/api/v1/channel-codes/{code['id']}", json={"active": False}).json()["active"] is False
    r = c.post(f"/api/v1/channel-codes/{code['state']}/scan", json={"external_id": "wx-9"})
    assert r.status_code == 409 and r.json()["code"] == "channel_code_inactive"
    r = c.post("/api/v1/channel-codes/ch:nope/scan", json={"external_id": "wx-9"})
    assert r.status_code == 404 and r.json()["code"] == "channel_code_not_found"
