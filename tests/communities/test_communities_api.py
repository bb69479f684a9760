from __future__ import annotations

from typing import Any

RULES = {"name_card": "城市-行业-姓名", "offers": "每日早报", "how_to_ask": "先搜后问",
         "forbidden": "广告、外链", "allowed": "专业讨论", "penalties": "一次提醒，两次移出"}


def test_create_read_update_community_with_profile_and_rules(api: Any) -> None:
    c = api()
    r = c.post("/api/v1/communities", json={
        "name": "会计圈", "type": "content", "rules": RULES, "welcome_text": "欢迎",
        "profile": {"purpose": "retain", "north_star": "每周提问人数", "scale": "small", "fee": "paid",
                    "fee_amount": 99, "target_users": {"kind": "decision_makers", "region": "广东"}},
    })
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["profile"]["target_users"]["region"] == "广东"
    assert body["rules_preview"]["fits_one_screen"] is True
    assert "【禁止】广告、外链" in body["rules_preview"]["text"]
    cid = body["id"]
    r = c.patch(f"/api/v1/communities/{cid}", json={"activities": "周四直播"})
    assert r.status_code == 200 and r.json()["activities"] == "周四直播"
    assert r.json()["rules"]["penalties"] == RULES["penalties"]  # untouched fields stay


def test_bad_community_input_is_a_clear_error_and_changes_nothing(api: Any) -> None:
    c = api()
    assert c.post("/api/v1/communities", json={"name": "A"}).status_code == 201
    dup = c.post("/api/v1/communities", json={"name": "A"})
    assert dup.status_code == 409 and dup.json()["code"] == "community_name_taken"
    bad = c.post("/api/v1/communities", json={"name": "B", "type": "megagroup"})
    assert bad.status_code == 422 and bad.json()["code"] == "validation_error"
    assert [x["name"] for x in c.get("/api/v1/communities").json()["items"]] == ["A"]
    assert c.get("/api/v1/communities/999").json()["code"] == "community_not_found"


def test_rules_that_overflow_a_phone_screen_are_flagged(api: Any) -> None:
    long_rules = dict(RULES, forbidden="禁止发广告。" * 80)
    r = api().post("/api/v1/rules/preview", json=long_rules)
    assert r.status_code == 200
    assert r.json()["fits_one_screen"] is False
    assert r.json()["lines"] > r.json()["max_lines"]


def test_vest_accounts_and_robots_are_not_counted_as_members(api: Any, rt: Any) -> None:
    from siyu.communities import service
    from siyu.contacts import identities

    c = api()
    cid = c.post("/api/v1/communities", json={"name": "闪购群"}).json()["id"]
    gid = c.post("/api/v1/groups", json={"name": "闪购 1 群", "community_id": cid}).json()["id"]
    with rt.tx() as s:
        people = [identities.identify(s, 1, "sandbox", f"u{i}", now=rt.clock.now())[0] for i in range(4)]
        group = service.get_group(s, 1, gid)
        for p in people:
            service.join(s, 1, group, p, now=rt.clock.now())
    for person, role in ((people[0], "vest"), (people[1], "robot"), (people[2], "kol")):
        r = c.post(f"/api/v1/communities/{cid}/roles", json={"contact_id": person, "role": role})
        assert r.status_code == 201
    bad = c.post(f"/api/v1/communities/{cid}/roles", json={"contact_id": people[3], "role": "king"})
    assert bad.status_code == 422
    with rt.tx() as s:
        community = service.get(s, 1, cid)
        assert service.member_counts(s, community) == {gid: 2}      # KOL counts, vest and robot do not
        assert service.occupancy(s, [gid]) == {gid: 4}              # but all four take a seat
    assert {r["role"] for r in c.get(f"/api/v1/communities/{cid}/roles").json()["items"]} == {"vest", "robot", "kol"}


def test_communities_groups_and_members_page_with_a_cursor(api: Any, rt: Any) -> None:
    from siyu.communities import service
    from siyu.contacts import identities

    c = api()
    ids = [c.post("/api/v1/communities", json={"name": f"社群 {i}"}).json()["id"] for i in range(3)]
    first = c.get("/api/v1/communities", params={"limit": 2}).json()
    assert [x["id"] for x in first["items"]] == ids[:2] and first["next_cursor"]
    rest = c.get("/api/v1/communities", params={"limit": 2, "cursor": first["next_cursor"]}).json()
    assert [x["id"] for x in rest["items"]] == ids[2:] and rest["next_cursor"] is None
    bad = c.get("/api/v1/communities", params={"cursor": "not-a-cursor"})
    assert bad.status_code == 422 and bad.json()["code"] == "invalid_cursor"

    gids = [c.post("/api/v1/groups", json={"name": f"群 {i}", "community_id": ids[0]}).json()["id"] for i in range(3)]
    c.post("/api/v1/groups", json={"name": "别的群", "community_id": ids[1]})
    page = c.get("/api/v1/groups", params={"community_id": ids[0], "limit": 2}).json()
    more = c.get("/api/v1/groups", params={"community_id": ids[0], "cursor": page["next_cursor"]}).json()
    assert [g["id"] for g in page["items"] + more["items"]] == gids and more["next_cursor"] is None

    with rt.tx() as s:
        group = service.get_group(s, 1, gids[0])
        people = [identities.identify(s, 1, "sandbox", f"p{i}", now=rt.clock.now())[0] for i in range(3)]
        for p in people:
            service.join(s, 1, group, p, now=rt.clock.now())
    seen, cursor = [], None
    while True:
        r = c.get(f"/api/v1/groups/{gids[0]}/members", params={"limit": 2, "cursor": cursor}).json()
        seen += [m["contact_id"] for m in r["items"]]
        if not (cursor := r["next_cursor"]):
            break
    assert seen == people[::-1]  # the latest to join first
