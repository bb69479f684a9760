"""Live events act; history only counts.

A month of joins and messages imported as history must greet, answer and remove nobody, while memberships,
timelines and the dashboard's counts come out exactly as if it had happened live. The same messages sent live
do get answered and moderated, so the import's silence is not for lack of rules.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import func, select

from siyu.communities import service as communities
from siyu.communities.schemas import CommunityIn, GroupIn
from siyu.engagement.faq import service as faq
from siyu.engagement.faq.schemas import EntryIn
from siyu.events import rollup
from siyu.models import Action, Event, Identity, Membership
from siyu.runtime import DEFAULT_WORKSPACE, Runtime

WS = DEFAULT_WORKSPACE
QUESTION = "小规模一个季度多少以内免税？"
SPAM = "加我微信 abc123，兼职日结 https://spam.example.com"


def _setup(rt: Runtime) -> int:
    with rt.tx() as s:
        c = communities.create(s, WS, CommunityIn(name="会计圈", welcome_text="欢迎！"))
        gid = communities.create_group(s, WS, GroupIn(name="会计圈 1", community_id=c.id), now=rt.clock.now()).id
        faq.create_entry(s, WS, EntryIn(question="小规模纳税人季度免税额度是多少", answer="季度 30 万以内免征增值税。",
                                        variants=[QUESTION], keywords=["免税"]), now=rt.clock.now())
    return gid


def _month(gid: int, members: int = 20, days: int = 30) -> list[dict[str, Any]]:
    from tests.conftest import START

    out: list[dict[str, Any]] = []
    for m in range(members):
        who = {"platform": "sandbox", "external_id": f"h{m}", "display_name": f"老会员{m}"}
        joined = START - timedelta(days=days) + timedelta(hours=m)
        out.append({"type": "group.member_joined", "source_key": f"hj{m}", "occurred_at": joined.isoformat(),
                    "group_id": gid, "contact": who})
        for d in range(5):
            text = QUESTION if d == 0 else SPAM if d == 1 else f"第{d}天打卡"
            out.append({"type": "message.posted", "source_key": f"hm{m}-{d}", "group_id": gid, "contact": who,
                        "occurred_at": (joined + timedelta(days=d * 5, minutes=d)).isoformat(),
                        "payload": {"text": text}})
    return out


def test_a_month_imported_as_history_sends_nothing_and_counts_everything(rt: Runtime, api: Any) -> None:
    gid = _setup(rt)
    month = _month(gid)
    r = api().post("/api/v1/events?mode=history", json={"events": month})
    assert r.status_code == 200 and r.json()["stored"] == len(month) == 120
    with rt.tx() as s:
        assert s.scalar(select(func.count()).select_from(Action)) == 0
        assert not s.scalars(select(Event.type).where(Event.type.like("moderation.%"))).all()
        assert s.scalar(select(func.count()).select_from(Event).where(Event.live.is_(True))) == 0
        open_stays = s.scalar(select(func.count()).select_from(Membership).where(
            Membership.group_id == gid, Membership.left_at.is_(None)))
        assert open_stays == 20
        cid = s.scalar(select(Identity.contact_id).where(Identity.external_id == "h3"))
        assert cid is not None
    # The timeline and the day counts see the history.
    timeline = api().get(f"/api/v1/contacts/{cid}/timeline").json()["items"]
    assert [e["type"] for e in timeline] == ["message.posted"] * 5 + ["group.member_joined"]
    with rt.tx() as s:
        start = rt.clock.now() - timedelta(days=40)
        assert rollup.count_between(s, WS, start, rt.clock.now()) == 120


def test_the_same_messages_live_are_answered_and_moderated(rt: Runtime, api: Any) -> None:
    gid = _setup(rt)
    now = rt.clock.now()
    live = [{**e, "occurred_at": now.isoformat()} for e in _month(gid, members=1)[:3]]
    assert api().post("/api/v1/events", json={"events": live}).json()["stored"] == 3
    with rt.tx() as s:
        kinds = sorted(s.scalars(select(Action.kind)))
        moderated = s.scalars(select(Event.type).where(Event.type.like("moderation.%"))).all()
    assert kinds.count("welcome") == 1 and "post_to_group" in kinds  # the FAQ answer
    assert moderated, "the spam message was not moderated"


def test_a_live_event_that_arrives_too_late_is_history(rt: Runtime, api: Any) -> None:
    gid = _setup(rt)
    rt.settings.live_staleness_seconds = 600
    now = rt.clock.now()
    late = {"type": "group.member_joined", "source_key": "late", "group_id": gid,
            "occurred_at": (now - timedelta(minutes=11)).isoformat(),
            "contact": {"platform": "sandbox", "external_id": "late"}}
    fresh = {**late, "source_key": "fresh", "occurred_at": (now - timedelta(minutes=9)).isoformat(),
             "contact": {"platform": "sandbox", "external_id": "fresh"}}
    marked = {**fresh, "source_key": "marked", "mode": "history", "contact": {"platform": "sandbox",
                                                                             "external_id": "marked"}}
    assert api().post("/api/v1/events", json={"events": [late, fresh, marked]}).json()["stored"] == 3
    with rt.tx() as s:
        live = dict(s.execute(select(Event.source_key, Event.live)).all())
        welcomes = s.scalar(select(func.count()).select_from(Action).where(Action.kind == "welcome"))
        stays = s.scalar(select(func.count()).select_from(Membership).where(Membership.left_at.is_(None)))
    assert (live["late"], live["fresh"], live["marked"]) == (False, True, False)
    assert welcomes == 1 and stays == 3
