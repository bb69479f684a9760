"""State follows from platform facts by one path, whatever the source; replays and reordering change nothing."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from siyu.communities import service as communities
from siyu.communities.schemas import CommunityIn, GroupIn
from siyu.contacts import projection as relationships
from siyu.delivery import service as outbox
from siyu.models import Action, Event, Group, Identity, Membership
from siyu.runtime import DEFAULT_WORKSPACE, Runtime

WS = DEFAULT_WORKSPACE


def _group(rt: Runtime) -> int:
    with rt.tx() as s:
        c = communities.create(s, WS, CommunityIn(name="读书会", welcome_text="欢迎！"))
        return communities.create_group(s, WS, GroupIn(name="读书会 1", community_id=c.id), now=rt.clock.now()).id


def _fact(kind: str, key: str, at: datetime, group_id: int | None, who: str = "u1",
          **payload: Any) -> dict[str, Any]:
    return {"type": kind, "source_key": key, "occurred_at": at.isoformat(), "group_id": group_id,
            "contact": {"platform": "sandbox", "external_id": who, "display_name": who}, "payload": payload}


def _post(client: TestClient, *facts: dict[str, Any]) -> dict[str, Any]:
    r = client.post("/api/v1/events", json={"events": list(facts)})
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def _stays(rt: Runtime, group_id: int) -> list[tuple[datetime, datetime | None, str]]:
    with rt.tx() as s:
        rows = s.scalars(select(Membership).where(Membership.group_id == group_id).order_by(Membership.joined_at))
        return [(m.joined_at, m.left_at, m.join_scene) for m in rows]


def _welcomes(rt: Runtime) -> int:
    with rt.tx() as s:
        return int(s.scalar(select(func.count()).select_from(Action).where(Action.kind == "welcome")) or 0)


def test_an_ingested_join_is_a_membership_and_a_welcome_once(rt: Runtime, api: Any) -> None:
    gid, now = _group(rt), rt.clock.now()
    client = api()
    assert _post(client, _fact("group.member_joined", "wecom-cb-1", now, gid, join_scene="invite"))["stored"] == 1
    assert _stays(rt, gid) == [(now, None, "invite")]
    assert _welcomes(rt) == 1
    # The same callback again, and the same join told by a second source (a sync) under its own key.
    assert _post(client, _fact("group.member_joined", "wecom-cb-1", now, gid))["duplicate"] == 1
    assert _post(client, _fact("group.member_joined", "sync-1", now, gid))["stored"] == 1
    assert _stays(rt, gid) == [(now, None, "invite")]
    assert _welcomes(rt) == 1


def test_a_leave_that_arrives_before_its_join_ends_outside_the_group(rt: Runtime, api: Any) -> None:
    gid, t = _group(rt), rt.clock.now()
    client = api()
    joined, left = t - timedelta(minutes=3), t - timedelta(minutes=1)
    _post(client, _fact("group.member_left", "left-1", left, gid, quit_scene="left"))
    assert _stays(rt, gid) == [(left, left, "unseen")]
    _post(client, _fact("group.member_joined", "joined-1", joined, gid, join_scene="qr"))
    assert _stays(rt, gid) == [(joined, left, "qr")]
    assert _welcomes(rt) == 0  # the member is gone: nobody to greet
    # Replays change nothing.
    _post(client, _fact("group.member_left", "left-1", left, gid),
          _fact("group.member_joined", "joined-1", joined, gid))
    assert _stays(rt, gid) == [(joined, left, "qr")]
    # Coming back later is a new stay, and is welcomed.
    _post(client, _fact("group.member_joined", "joined-2", t, gid, join_scene="qr"))
    assert _stays(rt, gid) == [(joined, left, "qr"), (t, None, "qr")]
    assert _welcomes(rt) == 1
    with rt.tx() as s:
        group = s.get(Group, gid)
        assert group is not None and communities.occupancy(s, [gid]) == {gid: 1}


def test_group_facts_keep_the_group_and_a_dismissal_empties_it(rt: Runtime, api: Any) -> None:
    t = rt.clock.now()
    client = api()
    _post(client, {"type": "group.created", "source_key": "gc-1", "occurred_at": (t - timedelta(hours=2)).isoformat(),
                   "payload": {"platform": "sandbox", "external_id": "wr-1", "name": "客户群", "owner": "zhang"}})
    with rt.tx() as s:
        gid = s.scalar(select(Group.id).where(Group.external_id == "wr-1"))
    assert gid is not None
    _post(client, _fact("group.member_joined", "j1", t - timedelta(hours=1), gid, who="a"),
          _fact("group.member_joined", "j2", t - timedelta(hours=1), gid, who="b"))
    # Renames arrive newest first: the older one must not win.
    _post(client, {"type": "group.renamed", "source_key": "rn-2", "occurred_at": t.isoformat(), "group_id": gid,
                   "payload": {"name": "VIP 客户群"}},
          {"type": "group.renamed", "source_key": "rn-1", "occurred_at": (t - timedelta(minutes=30)).isoformat(),
           "group_id": gid, "payload": {"name": "客户群 旧名"}})
    _post(client, {"type": "group.dismissed", "source_key": "gd-1", "occurred_at": t.isoformat(), "group_id": gid})
    with rt.tx() as s:
        group = s.get(Group, gid)
        assert group is not None and group.name == "VIP 客户群" and group.status == "dismissed"
        assert communities.occupancy(s, [gid]) == {}
        assert {m.quit_scene for m in s.scalars(select(Membership).where(Membership.group_id == gid))} == {"dismissed"}


def test_staff_relationships_follow_the_newest_fact(rt: Runtime, api: Any) -> None:
    t = rt.clock.now()
    client = api()

    def rel(kind: str, key: str, at: datetime, **payload: Any) -> dict[str, Any]:
        return {"type": kind, "source_key": key, "occurred_at": at.isoformat(),
                "contact": {"platform": "wecom", "external_id": "wm-1"}, "payload": {"staff": "zhang", **payload}}

    _post(client, rel("contact.removed", "del-1", t - timedelta(minutes=1), by="contact"))
    _post(client, rel("contact.added", "add-1", t - timedelta(minutes=5), state="poster"))  # late callback
    with rt.tx() as s:
        cid = s.scalar(select(Identity.contact_id).where(Identity.external_id == "wm-1"))
        assert cid is not None
        [r] = relationships.of_contact(s, cid)
        assert (r.status, r.removed_by) == ("removed", "contact")
    _post(client, rel("contact.added", "add-2", t, state="poster"))
    with rt.tx() as s:
        [r] = relationships.of_contact(s, cid)
        assert (r.status, r.channel_state, r.since) == ("active", "poster", t)


def test_a_removal_on_the_platform_comes_back_as_a_leave_event(rt: Runtime, api: Any) -> None:
    gid, t = _group(rt), rt.clock.now()
    _post(api(), _fact("group.member_joined", "j1", t, gid, who="spammer"))
    with rt.tx() as s:
        cid = s.scalar(select(Identity.contact_id).where(Identity.external_id == "spammer"))
        outbox.plan(s, WS, key="remove:1", kind="remove_member", connector="sandbox", now=t, group_id=gid,
                    contact_id=cid)
    with rt.tx() as s:
        assert outbox.counts_by_state(s, WS).get("sent", 0) == 2  # the welcome, then the removal
        left = s.scalars(select(Event).where(Event.type == "group.member_left")).all()
        stay = s.scalar(select(Membership).where(Membership.group_id == gid))
    assert [e.payload["quit_scene"] for e in left] == ["removed"]
    assert stay is not None and stay.left_at == t and stay.leave_event_id == left[0].id


def test_facts_may_name_their_group_by_its_platform_id_in_any_order(rt: Runtime, api: Any) -> None:
    """A connector knows the chat id, not siyu's: the join is kept although the group's own callback is late."""
    client, t = api(), rt.clock.now()
    chat = {"platform": "wecom", "external_id": "wrOgQhDgAAMYQiS5ol9G7gK9JVAAAA"}
    join = {"type": "group.member_joined", "source_key": "cb-join", "occurred_at": t.isoformat(), "group": chat,
            "contact": {"platform": "wecom", "external_id": "wmA"}, "payload": {"join_scene": "qr"}}
    assert _post(client, join)["stored"] == 1
    with rt.read() as s:
        g = s.scalars(select(Group).where(Group.external_id == chat["external_id"])).one()
        assert g.name == chat["external_id"] and len(_stays(rt, g.id)) == 1
    earlier = (t - timedelta(minutes=1)).isoformat()
    created = {"type": "group.created", "source_key": "cb-create", "occurred_at": earlier, "group": chat,
               "payload": {**chat, "name": "深圳宝妈群", "owner": "zhangsan"}}
    assert _post(client, created)["stored"] == 1
    with rt.read() as s:
        g = s.get(Group, g.id)
        assert (g.name, g.owner) == ("深圳宝妈群", "zhangsan")
        assert s.scalar(select(func.count()).select_from(Group)) == 1
    both = {**join, "source_key": "x", "group_id": g.id}
    r = client.post("/api/v1/events", json={"events": [both]})
    assert r.status_code == 422 and r.json()["results"][0]["code"] == "invalid_event"
