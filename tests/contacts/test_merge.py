"""Two contacts found to be one person merge into one whole contact: one stay per group, one relationship per
staff member, the owner, the tags."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select

from siyu.communities import service as communities
from siyu.communities.schemas import CommunityIn, GroupIn
from siyu.contacts import owners
from siyu.models import ContactRelationship, Membership, User
from siyu.runtime import DEFAULT_WORKSPACE, Runtime

WS = DEFAULT_WORKSPACE


def test_merging_two_members_of_the_same_group_keeps_one_open_stay(rt: Runtime, api: Any) -> None:
    with rt.tx() as s:
        com = communities.create(s, WS, CommunityIn(name="读书会"))
        gid = communities.create_group(s, WS, GroupIn(name="读书会 1", community_id=com.id), now=rt.clock.now()).id
        sales = User(workspace_id=WS, username="xiao", password_hash="-", role="sales", locale="zh_CN", active=True)
        s.add(sales)
    at = (rt.clock.now() - timedelta(hours=1)).isoformat()
    events = []
    for key, who in (("a", "wmA"), ("b", "wf@x.cn")):
        platform = "wecom" if key == "a" else "email"
        person = {"platform": platform, "external_id": who}
        events += [{"type": "group.member_joined", "source_key": f"j{key}", "occurred_at": at, "group_id": gid,
                    "contact": person, "payload": {}},
                   {"type": "contact.added", "source_key": f"r{key}", "occurred_at": at, "contact": person,
                    "payload": {"staff": "zhangsan"}},
                   {"type": "contact.tagged", "source_key": f"t{key}", "occurred_at": at, "contact": person,
                    "payload": {"tags": [f"来源:{key}"]}}]
    c = api()
    assert c.post("/api/v1/events?mode=history", json={"events": events}).status_code == 200
    a = c.get("/api/v1/contacts", params={"q": "wmA"}).json()["items"][0]["id"]
    b = c.get("/api/v1/contacts", params={"q": "wf@x.cn"}).json()["items"][0]["id"]
    with rt.tx() as s:
        owners.set_owner(s, WS, b, s.scalar(select(User.id).where(User.username == "xiao")))

    r = c.post(f"/api/v1/contacts/{a}/identities", json={"platform": "email", "external_id": "wf@x.cn"})
    assert r.status_code == 200, r.text
    merged = r.json()
    assert merged["tags"] == ["来源:a", "来源:b"] and merged["owner_user_id"] is not None
    with rt.read() as s:
        stays = s.scalars(select(Membership).where(Membership.group_id == gid)).all()
        assert {m.contact_id for m in stays} == {merged["id"]}
        assert sum(m.left_at is None for m in stays) == 1
        rels = s.scalars(select(ContactRelationship).where(ContactRelationship.staff == "zhangsan")).all()
        assert [(x.contact_id, x.status) for x in rels] == [(merged["id"], "active")]
