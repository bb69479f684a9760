"""The sandbox over REST: a member scans, posts and reads their feed, newest first, page by page."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select

from siyu.models import AuditEntry


def test_feed_pages_back_in_time_with_a_cursor(api: Any, rt: Any, clock: Any) -> None:
    c = api()
    cid = c.post("/api/v1/communities", json={"name": "会计圈", "welcome_text": "欢迎"}).json()["id"]
    gid = c.post("/api/v1/groups", json={"name": "会计圈 1 群", "community_id": cid}).json()["id"]
    state = c.post("/api/v1/channel-codes", json={"name": "文章", "community_id": cid}).json()["state"]
    member = c.post("/api/v1/sandbox/members", json={"nickname": "小王"}).json()["id"]
    scan = c.post(f"/api/v1/sandbox/members/{member}/scan", json={"state": state})
    assert scan.status_code == 200 and scan.json()["group_id"] == gid
    texts = []
    for i in range(4):
        if i % 2 == 0:  # two posts a minute: the id orders those of one moment
            clock.advance(timedelta(minutes=1))
        r = c.post(f"/api/v1/sandbox/members/{member}/post", json={"group_id": gid, "text": f"第 {i} 条"})
        assert r.status_code == 201, r.text
        texts.append(f"第 {i} 条")

    seen, cursor = [], None
    while True:
        page = c.get(f"/api/v1/sandbox/members/{member}/feed", params={"limit": 2, "cursor": cursor}).json()
        assert len(page["items"]) <= 2
        seen += [m["text"] for m in page["items"]]
        if not (cursor := page["next_cursor"]):
            break
    assert seen[:4] == texts[::-1]          # newest first, across pages
    assert len(seen) == len(set(seen)) and len(seen) >= 5  # the welcome too, nothing twice
    with rt.read() as s:
        actions = list(s.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))
    assert actions[-6:] == ["sandbox.create_member", "sandbox.scan"] + ["sandbox.post"] * 4
