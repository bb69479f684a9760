"""Solitaire (接龙) end to end in the sandbox: members post, siyu keeps one entry per member, re-posts the live
list with the remaining stock (throttled), and closes itself when sold out."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from siyu.engagement.interaction import service
from siyu.engagement.interaction import tasks as interaction_tasks
from siyu.models import Event
from siyu.runtime import DEFAULT_WORKSPACE as WS
from tests.interaction.conftest import World

NAMES = [f"会员{i:02d}" for i in range(1, 14)]


def _live_posts(world: World) -> list[str]:
    return [t for t in world.siyu_texts() if t.startswith("【接龙】") and "已接龙" in t]


def test_solitaire_counts_lists_updates_counts_down_and_closes_when_sold_out(world: World) -> None:
    world.add(*NAMES)
    iid = world.create(kind="solitaire", title="双12 面膜 接龙下单", stock=12, announce_every=5,
                       announce_interval_s=3600)
    opening = [t for t in world.siyu_texts() if t.startswith("【接龙】双12 面膜 接龙下单")]
    assert opening and "限量 12 份" in opening[0]

    world.post("会员01", "接龙")
    world.post("会员02", "+1")
    world.post("会员03", "接龙+1")
    world.post("会员04", "#接龙 两盒 送闺蜜")
    world.post("会员01", "接龙")            # again: no double count
    world.post("会员05", "接龙了吗？")      # a question, not a join
    assert world.live(iid)["count"] == 4
    assert _live_posts(world) == []         # throttled: fewer than 5 new entries, interval not passed

    world.post("会员01", "#接龙 要3盒")      # updates the note, not the count
    world.post("会员05", "＋１")             # full-width +1 joins
    assert world.live(iid) == {"count": 5, "stock": 12, "remaining": 7}
    posts = _live_posts(world)
    assert len(posts) == 1
    assert "已接龙 5 人 · 仅剩 7 份" in posts[0]
    assert "1. 会员01（要3盒）" in posts[0] and "4. 会员04（两盒 送闺蜜）" in posts[0]

    for name in NAMES[5:10]:
        world.post(name, "接龙")
    posts = _live_posts(world)
    assert len(posts) == 2 and "已接龙 10 人 · 仅剩 2 份" in posts[1]

    world.post("会员11", "接龙")
    world.post("会员12", "+1")               # the 12th unit: sold out, closes itself
    ia = world.get(iid)
    assert ia.status == "closed" and ia.result["reason"] == "sold_out" and ia.result["remaining"] == 0
    assert len(ia.result["roster"]) == 12
    world.post("会员13", "接龙")             # too late
    assert world.live(iid)["count"] == 12
    final = [t for t in world.siyu_texts() if t.startswith("【接龙结束】")]
    assert len(final) == 1 and "已售罄，共 12 人接龙" in final[0] and "12. 会员12" in final[0]

    with world.rt.tx() as s:
        joined = s.scalars(select(Event).where(Event.type == "interaction.joined")).all()
        closed = s.scalars(select(Event).where(Event.type == "interaction.closed")).all()
        assert len([e for e in joined if not e.payload["updated"]]) == 12
        assert any(e.payload["updated"] and e.payload["note"] == "要3盒" for e in joined)
        assert len(closed) == 1 and closed[0].payload["entries"] == 12 and closed[0].payload["reason"] == "sold_out"
        # closing again is a no-op
        service.close(s, WS, iid, now=world.rt.clock.now())
    assert len([t for t in world.siyu_texts() if t.startswith("【接龙结束】")]) == 1


def test_live_list_after_the_interval_and_by_tick(world: World) -> None:
    world.add("甲", "乙", "丙")
    iid = world.create(kind="solitaire", title="团购", announce_every=50, announce_interval_s=60)
    world.post("甲", "接龙")
    assert _live_posts(world) == []
    world.rt.clock.advance(timedelta(seconds=61))
    world.post("乙", "接龙")                  # the interval passed: posted with this entry
    assert len(_live_posts(world)) == 1 and "已接龙 2 人" in _live_posts(world)[0]
    world.post("丙", "接龙")
    assert len(_live_posts(world)) == 1
    assert interaction_tasks.tick(world.rt)["live_posts"] == 0   # held back: interval not passed yet
    world.rt.clock.advance(timedelta(seconds=61))
    assert interaction_tasks.tick(world.rt)["live_posts"] == 1   # the tick flushes the stale list
    assert "已接龙 3 人" in _live_posts(world)[-1]
    assert interaction_tasks.tick(world.rt)["live_posts"] == 0
    assert "仅剩" not in _live_posts(world)[-1]                   # no stock, no countdown
    with world.rt.tx() as s:
        assert service.announce_live(s, WS, iid, now=world.rt.clock.now()) is False  # nothing new


def test_closes_at_by_tick_is_idempotent(world: World) -> None:
    world.add("甲")
    iid = world.create(kind="solitaire", title="限时", closes_at=world.rt.clock.now() + timedelta(hours=1))
    world.post("甲", "接龙")
    assert interaction_tasks.tick(world.rt)["closed"] == 0
    world.rt.clock.advance(timedelta(hours=1))
    assert interaction_tasks.tick(world.rt)["closed"] == 1
    assert interaction_tasks.tick(world.rt)["closed"] == 0
    ia = world.get(iid)
    assert ia.status == "closed" and ia.result["reason"] == "time" and ia.result["entries"] == 1
    final = [t for t in world.siyu_texts() if t.startswith("【接龙结束】")]
    assert len(final) == 1 and "已截止，共 1 人接龙" in final[0]


def test_a_join_after_closes_at_closes_instead_of_counting(world: World) -> None:
    world.add("甲")
    iid = world.create(kind="solitaire", title="限时", closes_at=world.rt.clock.now() + timedelta(minutes=5))
    world.rt.clock.advance(timedelta(minutes=6))
    world.post("甲", "接龙")
    ia = world.get(iid)
    assert ia.status == "closed" and ia.result["entries"] == 0


def test_concurrent_joins_never_oversell(world: World) -> None:
    """Eight members post at once for the last three units: the row lock keeps the stock exact."""
    import threading

    names = [f"抢购{i}" for i in range(8)]
    world.add(*names)
    iid = world.create(kind="solitaire", title="秒杀", stock=3, announce_every=100)
    barrier = threading.Barrier(len(names))
    errors: list[BaseException] = []

    def go(name: str) -> None:
        try:
            barrier.wait()
            world.post(name, "接龙")
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=go, args=(n,)) for n in names]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    ia = world.get(iid)
    assert ia.status == "closed" and ia.result["reason"] == "sold_out" and len(ia.result["roster"]) == 3
    assert world.live(iid)["count"] == 3
    with world.rt.tx() as s:
        closed = s.scalars(select(Event).where(Event.type == "interaction.closed")).all()
    assert len(closed) == 1
