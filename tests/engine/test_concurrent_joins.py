"""Joins that race, on both backends (the race is real on PostgreSQL, where many `siyu serve` write at once).

Threads wait on one barrier and then scan as fast as they can, each scan in its own transaction, so the
routing of one scan really runs while others are between "count the group" and "insert the member".
"""

from __future__ import annotations

from sqlalchemy import func, select

from siyu.acquisition import service as acquisition
from siyu.acquisition.schemas import ChannelCodeIn
from siyu.communities import service as communities
from siyu.communities.schemas import CommunityIn, GroupIn
from siyu.models import Action, Group, Membership
from siyu.runtime import DEFAULT_WORKSPACE, Runtime
from tests.racing import race

WS = DEFAULT_WORKSPACE


def _community(rt: Runtime, capacity: int) -> tuple[int, str]:
    with rt.tx() as s:
        c = communities.create(s, WS, CommunityIn(name="抢位群", default_capacity=capacity))
        communities.create_group(s, WS, GroupIn(name="抢位群 1", community_id=c.id, capacity=capacity),
                                 now=rt.clock.now())
        code = acquisition.create(s, WS, ChannelCodeIn(name="海报", community_id=c.id))
        return c.id, code.state


def _scan(rt: Runtime, state: str, external_id: str, scan_id: str) -> None:
    with rt.tx() as s:
        acquisition.scan(s, rt.connectors, WS, state, platform="sandbox", external_id=external_id,
                         nickname=external_id, now=rt.clock.now(), scan_id=scan_id)


def test_500_concurrent_scans_never_overfill_a_group(rt: Runtime) -> None:
    capacity, threads, per_thread = 20, 25, 20
    cid, state = _community(rt, capacity)

    def work(n: int) -> None:
        for i in range(per_thread):
            _scan(rt, state, f"m{n}-{i}", f"s{n}-{i}")

    assert race(threads, work) == []
    with rt.tx() as s:
        groups = list(s.scalars(select(Group).where(Group.community_id == cid).order_by(Group.id)))
        occupancy = communities.occupancy(s, [g.id for g in groups])
        members = s.scalar(select(func.count()).select_from(Membership).where(Membership.left_at.is_(None)))
    assert members == threads * per_thread
    assert max(occupancy.values()) <= capacity, occupancy
    # Packed oldest first: exactly as many groups as needed, every one full, each flagged full.
    assert len(groups) == threads * per_thread // capacity
    assert all(occupancy[g.id] == capacity and g.status == "full" for g in groups)
    assert len({g.name for g in groups}) == len(groups), [g.name for g in groups]


def test_one_member_scanning_many_times_at_once_joins_once(rt: Runtime) -> None:
    _, state = _community(rt, 200)
    assert race(20, lambda n: _scan(rt, state, "same-person", f"s{n}")) == []
    with rt.tx() as s:
        stays = list(s.scalars(select(Membership).where(Membership.left_at.is_(None))))
        welcomes = s.scalar(select(func.count()).select_from(Action).where(Action.kind == "welcome"))
    assert len(stays) == 1 and welcomes == 1
