"""Broadcast (C2 one-click send): kill -9 half-way through 2,000 groups, run it again, one copy per group."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

from sqlalchemy import func, insert, select

from siyu.communities import service as communities
from siyu.communities.schemas import CommunityIn, GroupIn
from siyu.contacts import service as contacts
from siyu.delivery import tasks as delivery_tasks
from siyu.engagement.sop import broadcast
from siyu.engagement.sop.schemas import BroadcastIn
from siyu.kit.clock import FrozenClock
from siyu.models import Action, Group, SandboxMessage
from siyu.runtime import DEFAULT_WORKSPACE as WS
from siyu.runtime import Runtime
from tests.durability.conftest import siyu_env

HERE = Path(__file__).parent
GROUPS = 2000


def _many_groups(rt: Runtime, n: int) -> int:
    now = rt.clock.now()
    with rt.tx() as s:
        c = communities.create(s, WS, CommunityIn(name="两千群"))
        s.execute(insert(Group), [{"workspace_id": WS, "community_id": c.id, "platform": "sandbox",
                                   "external_id": f"bc-g{i}", "name": f"群 {i}", "owner": "", "capacity": 200,
                                   "status": "active", "settings": {}, "created_at": now} for i in range(n)])
        return c.id


def _keys(rt: Runtime, bid: str) -> list[str]:
    with rt.tx() as s:
        return list(s.scalars(select(Action.idempotency_key).where(Action.idempotency_key.like(f"bc:{bid}:%"))))


def test_kill_9_mid_broadcast_then_rerun_gives_exactly_one_copy_per_group(settings: Any, clock: FrozenClock) -> None:
    rt = Runtime(settings, clock=clock)  # queued: delivery is driven by hand below
    rt.ensure_workspace()
    try:
        cid = _many_groups(rt, GROUPS)
        bid = "bc-kill9-test"
        child = subprocess.Popen(
            [sys.executable, str(HERE / "broadcast_child.py"), settings.db_url, str(settings.data_dir), bid,
             str(cid), clock.now().isoformat(), "3"],
            env={**siyu_env(settings.db_url), "PYTHONPATH": str(HERE.parents[1])},
            stdout=subprocess.PIPE, stdin=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            seen = []
            assert child.stdout is not None
            for line in child.stdout:
                seen.append(line.strip())
                if line.startswith("chunk 3 "):
                    break
            assert seen[-1:] == ["chunk 3 600"], (seen, child.stderr.read() if child.stderr else "")
            os.kill(child.pid, signal.SIGKILL)
            assert child.wait(timeout=60) == -signal.SIGKILL
        finally:
            if child.poll() is None:
                os.kill(child.pid, signal.SIGKILL)
                child.wait(timeout=60)

        half = _keys(rt, bid)
        assert len(half) == 600, "whole chunks only: the killed process left 3 committed chunks"

        # The operator presses the button again (same Idempotency-Key): only the missing 1,400 are created.
        out = broadcast.send(rt.sessions, WS, BroadcastIn(text="今晚 8 点直播，一键群发", community_ids=[cid]),
                             broadcast_id=bid, now=clock.now())
        assert (out.groups, out.created, out.existing) == (GROUPS, GROUPS - 600, 600)
        again = broadcast.send(rt.sessions, WS, BroadcastIn(text="今晚 8 点直播，一键群发", community_ids=[cid]),
                               broadcast_id=bid, now=clock.now())
        assert (again.created, again.existing) == (0, GROUPS)

        keys = _keys(rt, bid)
        assert len(keys) == len(set(keys)) == GROUPS
        with rt.tx() as s:
            per_group = dict(s.execute(select(Action.group_id, func.count()).where(
                Action.idempotency_key.like(f"bc:{bid}:%")).group_by(Action.group_id)).all())
            ids = list(s.scalars(select(Action.id).where(Action.state == "planned")))
        assert len(per_group) == GROUPS and set(per_group.values()) == {1}

        for action_id in ids:
            assert delivery_tasks.deliver(rt, action_id) == "sent"
        with rt.tx() as s:
            msgs = dict(s.execute(select(SandboxMessage.group_external_id, func.count())
                                  .group_by(SandboxMessage.group_external_id)).all())
            assert broadcast.status(s, WS, bid) == {"sent": GROUPS}
        assert len(msgs) == GROUPS and set(msgs.values()) == {1}
    finally:
        rt.close()


def test_broadcast_to_tags_sends_direct_messages(rt: Runtime, clock: FrozenClock) -> None:
    from siyu.sandbox import service as sandbox

    with rt.tx() as s:
        c = communities.create(s, WS, CommunityIn(name="标签群发"))
        g = communities.create_group(s, WS, GroupIn(name="g", community_id=c.id), now=clock.now())
        tag = contacts.ensure_tag(s, WS, "意向", "高")
        members = [sandbox.create_member(s, WS, f"m{i}", now=clock.now()) for i in range(3)]
        for m in members:
            sandbox.join(s, WS, m, g, now=clock.now())
        s.flush()
        from siyu.models import Identity

        cids = [s.scalar(select(Identity.contact_id).where(Identity.external_id == m.external_id)) for m in members]
        for cid in cids[:2]:
            assert cid is not None
            contacts.apply_tags(s, WS, cid, [tag.id], source="test", now=clock.now())
        tag_id = tag.id
        ext = [m.external_id for m in members]
    out = broadcast.send(rt.sessions, WS, BroadcastIn(text="专属优惠", tag_ids=[tag_id]), broadcast_id="tagged-1",
                         now=clock.now())
    assert (out.groups, out.contacts, out.created) == (0, 2, 2)
    with rt.tx() as s:
        got = sorted(m.recipient_external_id or "" for m in s.scalars(
            select(SandboxMessage).where(SandboxMessage.text == "专属优惠")))
    assert got == sorted(ext[:2])
