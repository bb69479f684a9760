from __future__ import annotations

from typing import Any


def test_create_search_tag_and_paginate(api: Any) -> None:
    c = api()
    ids = []
    for i in range(30):
        r = c.post("/api/v1/contacts", json={"display_name": f"客户{i:02d}",
                                             "identities": [{"platform": "phone", "external_id": f"1380000{i:04d}"}]})
        assert r.status_code == 201
        ids.append(r.json()["id"])
    dup = c.post("/api/v1/contacts", json={"identities": [{"platform": "phone", "external_id": "13800000000"}]})
    assert dup.status_code == 409 and dup.json()["detail"]["contact_id"] == ids[0]
    seen: list[int] = []
    cursor = None
    while True:  # newest first, 10 a page, nobody skipped or repeated
        page = c.get("/api/v1/contacts", params={"limit": 10, **({"cursor": cursor} if cursor else {})}).json()
        assert set(page) == {"items", "next_cursor"} and len(page["items"]) <= 10
        seen += [x["id"] for x in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == sorted(ids, reverse=True)
    assert c.get("/api/v1/contacts?q=客户07").json()["items"][0]["id"] == ids[7]
    assert c.get("/api/v1/contacts?q=13800000021").json()["items"][0]["id"] == ids[21]
    tagged = c.post(f"/api/v1/contacts/{ids[3]}/tags", json={"group": "意向", "name": "高"}).json()
    assert tagged["tags"] == ["意向:高"]
    tag_id = c.get("/api/v1/tags").json()["items"][0]["id"]
    assert [x["id"] for x in c.get(f"/api/v1/contacts?tag_id={tag_id}").json()["items"]] == [ids[3]]
    assert c.delete(f"/api/v1/contacts/{ids[3]}/tags/{tag_id}").json()["tags"] == []
    assert c.delete(f"/api/v1/contacts/{ids[3]}/tags/{tag_id}").status_code == 404


def test_two_identities_proving_one_person_merge(api: Any) -> None:
    c = api()
    a = c.post("/api/v1/contacts", json={"display_name": "王芳",
                                         "identities": [{"platform": "wecom", "external_id": "wmABC"}]}).json()
    b = c.post("/api/v1/contacts", json={"identities": [{"platform": "email", "external_id": "wf@x.cn"}]}).json()
    c.post(f"/api/v1/contacts/{b['id']}/tags", json={"group": "来源", "name": "官网"})
    merged = c.post(f"/api/v1/contacts/{a['id']}/identities", json={"platform": "email", "external_id": "wf@x.cn"})
    assert merged.status_code == 200
    body = merged.json()
    assert body["id"] == b["id"] or body["id"] == a["id"]
    assert {i["platform"] for i in body["identities"]} == {"wecom", "email"}
    assert body["tags"] == ["来源:官网"]
    listed = c.get("/api/v1/contacts").json()
    assert len(listed["items"]) == 1 and listed["next_cursor"] is None
    again = c.post(f"/api/v1/contacts/{a['id']}/merge", json={"absorb_contact_id": b["id"]})
    assert again.status_code in (409, 404)


def test_search_ignores_letter_case_on_every_backend(api: Any) -> None:
    c = api()
    wang = c.post("/api/v1/contacts", json={"display_name": "Wang Fang",
                                            "identities": [{"platform": "email", "external_id": "Li.Lei@Example.com"}]})
    assert wang.status_code == 201
    for q in ("wang", "WANG FANG", "li.lei@example", "EXAMPLE.COM"):
        assert [x["id"] for x in c.get("/api/v1/contacts", params={"q": q}).json()["items"]] == [wang.json()["id"]]


def test_search_finds_fragments_short_long_and_literal_wildcards(api: Any) -> None:
    """The indexed path (3+ characters) and the scan (shorter, or with % / _) find the same contacts; a % or _
    in the query matches itself, not anything."""
    c = api()
    made = {}
    for name, ext in (("王小明", "wx_wang01"), ("李小红", "li%hong"), ("Zhang San", "zs@example.com")):
        r = c.post("/api/v1/contacts", json={"display_name": name,
                                             "identities": [{"platform": "email", "external_id": ext}]})
        made[name] = r.json()["id"]

    def found(q: str) -> set[int]:
        return {x["id"] for x in c.get("/api/v1/contacts", params={"q": q}).json()["items"]}

    assert found("小明") == {made["王小明"]}            # two characters: the scan
    assert found("王小明") == {made["王小明"]}          # three: the trigram index
    assert found("小") == {made["王小明"], made["李小红"]}
    assert found("x_w") == {made["王小明"]}            # '_' is literal
    assert found("%") == {made["李小红"]}               # '%' is literal
    assert found("ZHANG s") == {made["Zhang San"]}
    assert found("example.co") == {made["Zhang San"]}
    assert found("nobody") == set()
    c.patch(f"/api/v1/contacts/{made['Zhang San']}", json={"display_name": "张三"})
    assert found("Zhang") == set() and found("张三") == {made["Zhang San"]}  # the index follows a rename


def test_a_tampered_cursor_is_a_clear_422(api: Any) -> None:
    c = api()
    for bad in ("nonsense", "W10", "WyJ4Il0", "WzEsMl0"):
        r = c.get("/api/v1/contacts", params={"cursor": bad})
        assert r.status_code == 422 and r.json()["code"] == "invalid_cursor", (bad, r.text)
