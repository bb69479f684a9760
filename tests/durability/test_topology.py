"""The scale-out topology of docs/operations.md, as an operator would run it, driven only through its HTTP API.

PostgreSQL + Redis; two workspace folders stand for two hosts (the second made with `siyu init --secret-key`, as
the guide says); two `siyu serve --workers 0 --no-scheduler` on two ports, two `siyu worker`, one
`siyu scheduler`. Through both serves at once: a console login on one is accepted by the other (one secret key);
the same event batch posted to both is stored once; a tag created from both at once is one tag; 2 × SCANS
members scan one channel code into groups of CAPACITY, some of them on both serves at the same moment; every join
gets exactly one welcome, delivered by the workers.

The capacity race (two scans that both see room in a group's last place) belongs to `communities.service`; the
assertion `occupancy <= capacity` is here all the same, and the figures are printed.
"""

from __future__ import annotations

import re
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, func, select
from sqlalchemy.orm import Session

from siyu.models import Action, Group, Membership, SandboxMessage, Tag
from tests.conftest import BACKEND
from tests.durability.conftest import (
    DELIVERED,
    TOPOLOGY_REDIS_URL,
    Proc,
    Procs,
    create_token,
    free_port,
    init_workspace,
    redis_or_skip,
    run_siyu,
    siyu_env,
    wait_until,
)

pytestmark = pytest.mark.skipif(
    BACKEND != "postgresql", reason="the scale-out topology runs on PostgreSQL + Redis (SIYU_TEST_DB=postgresql)")

QUEUE_URL = TOPOLOGY_REDIS_URL
# What the load balancer answers to (SIYU_BASE_URL); http, because with https the session cookie is Secure and
# this test talks to the serves directly over http.
BASE_URL = "http://siyu.example.test"
SCANS = 100          # per serve
TWICE = 20           # members who scan on both serves at the same moment
CAPACITY = 20
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def _login_cookie(base: str, folder: Path) -> str:
    """Log in to the console of one serve as the first admin; the session cookie."""
    password = re.search(r"password: (\S+)", (folder / "initial-admin-password.txt").read_text())
    assert password
    with httpx.Client(base_url=base, timeout=30) as c:
        page = c.get("/login", headers={"Accept": "text/html"})
        token = CSRF.search(page.text)
        assert token, page.text[:500]
        r = c.post("/login", data={"username": "admin", "password": password.group(1), "next": "/",
                                   "csrf_token": token.group(1)}, headers={"Accept": "text/html"})
        assert r.status_code == 303, r.text[:500]
        cookie = c.cookies.get("siyu_session")
    assert cookie
    return cookie


def started_or_dead(proc: Proc) -> bool:
    return "worker started" in proc.log() or not proc.alive()


def _all_at_once(calls: list[Any], threads: int = 16) -> list[Any]:
    """Run the calls on `threads` threads; the first wave starts together on a barrier, so they really overlap."""
    parties = min(threads, len(calls))
    barrier = threading.Barrier(parties, timeout=60)

    def run(i: int) -> Any:
        if i < parties:
            barrier.wait()
        return calls[i]()

    with ThreadPoolExecutor(max_workers=threads) as pool:
        return list(pool.map(run, range(len(calls))))


@pytest.mark.slow
def test_the_documented_topology_posts_scans_and_delivers_once(db_url: str, tmp_path: Path, procs: Procs) -> None:
    queue = redis_or_skip(QUEUE_URL)
    queue.flushdb()
    env = siyu_env(db_url, queue_url=QUEUE_URL, SIYU_BASE_URL=BASE_URL)

    # Host 1 creates the installation; host 2 joins it with host 1's secret key.
    host1 = init_workspace(tmp_path / "host1", env)
    key = re.search(r'secret_key = "([^"]+)"', (host1 / "siyu.toml").read_text())
    assert key
    host2 = tmp_path / "host2"
    run_siyu(["init", str(host2), "--secret-key", key.group(1)], env)
    token = create_token(host1, env, role="admin")

    t0 = time.monotonic()
    ports = [free_port(), free_port()]
    serves = [procs.serve(host1, ports[0], env, workers=0, scheduler=False),
              procs.serve(host2, ports[1], env, workers=0, scheduler=False)]
    workers = [procs.worker(host1, env, threads=4), procs.worker(host2, env, threads=4)]
    scheduler = procs.scheduler(host2, env)
    for w in workers:
        wait_until(partial(started_or_dead, w), timeout=60, what=f"worker {w.pid} to start")
        assert w.alive(), w.log()
    wait_until(lambda: "is the leader" in scheduler.log() or not scheduler.alive(), timeout=60,
               what="the scheduler to lead")
    print(f"\ntopology: 2 serve + 2 worker + 1 scheduler up in {time.monotonic() - t0:.1f} s")
    for serve in serves:
        banner = serve.log()
        assert "Delivery: none in this process" in banner and "Scheduler: off" in banner, banner
        assert f"QR codes and links point at {BASE_URL}" in banner, banner

    bases = [f"http://127.0.0.1:{p}" for p in ports]
    auth = {"Authorization": f"Bearer {token}"}
    api = [httpx.Client(base_url=b, headers=auth, timeout=60) for b in bases]
    try:
        # A console session from serve 1 is good on serve 2: both sign with the installation's key.
        cookie = _login_cookie(bases[0], host1)
        me = httpx.get(f"{bases[1]}/api/v1/me", cookies={"siyu_session": cookie}, timeout=30)
        assert me.status_code == 200 and "admin" in me.text, me.text

        # The same batch posted to both serves at once is stored once.
        batch = {"events": [{"type": "link.clicked", "source_key": f"topo-click-{i}",
                             "contact": {"platform": "email", "external_id": f"u{i}@example.com"},
                             "payload": {"url": f"https://example.com/{i}"}} for i in range(100)]}
        answers = _all_at_once([partial(c.post, "/api/v1/events", json=batch) for c in api], threads=2)
        assert [a.status_code for a in answers] == [200, 200], [a.text[:300] for a in answers]
        assert sum(a.json()["stored"] for a in answers) == 100
        assert sum(a.json()["duplicate"] for a in answers) == 100

        # One tag, however many requests on however many serves create it at once.
        tags = _all_at_once([partial(api[i % 2].post, "/api/v1/tags", json={"group": "渠道", "name": "拓扑"})
                             for i in range(40)])
        assert {t.status_code for t in tags} == {201}, [t.text[:200] for t in tags if t.status_code != 201][:3]
        assert len({t.json()["id"] for t in tags}) == 1

        community = api[0].post("/api/v1/communities", json={"name": "拓扑社群", "default_capacity": CAPACITY,
                                                             "welcome_text": "欢迎！"})
        assert community.status_code == 201, community.text
        cid = community.json()["id"]
        g = api[1].post("/api/v1/groups", json={"name": "拓扑 1", "community_id": cid, "capacity": CAPACITY})
        assert g.status_code == 201, g.text
        code = api[1].post("/api/v1/channel-codes", json={"name": "topology", "community_id": cid,
                                                          "tags": ["渠道:拓扑"]})
        assert code.status_code == 201, code.text
        state = code.json()["state"]
        assert code.json()["scan_url"].startswith(BASE_URL), "QR links point at SIYU_BASE_URL, not a serve"
        assert api[0].get("/api/v1/channel-codes").json()["items"][0]["scan_url"] == code.json()["scan_url"]

        members = [api[i % 2].post("/api/v1/sandbox/members", json={"nickname": f"成员{i}"})
                   for i in range(2 * SCANS)]
        assert {m.status_code for m in members} == {201}
        ids = [m.json()["id"] for m in members]

        def scan(client: httpx.Client, member_id: int) -> httpx.Response:
            return client.post(f"/api/v1/sandbox/members/{member_id}/scan", json={"state": state})

        calls = [partial(scan, api[i % 2], m) for i, m in enumerate(ids)]
        calls += [partial(scan, api[1], m) for m in ids[:2 * TWICE:2]]  # scanned on serve 1 as well
        t_scan = time.monotonic()
        scans = _all_at_once(calls, threads=16)
        scan_s = time.monotonic() - t_scan
        errors = Counter(s.status_code for s in scans if s.status_code != 200)
        print(f"topology: {len(scans)} scans through 2 serves in {scan_s:.1f} s; non-200: {dict(errors)} "
              f"{[s.text[:200] for s in scans if s.status_code != 200][:3]}")
        assert not [s for s in scans if s.status_code >= 500], "no scan fails with a server error"

        engine = create_engine(db_url)
        try:
            def welcomes_settled() -> bool:
                with Session(engine) as s:
                    return not s.scalar(select(func.count()).select_from(Action).where(
                        Action.kind == "welcome", Action.state.in_(("planned", "retry", "sending"))))

            t_deliver = time.monotonic()
            wait_until(welcomes_settled, timeout=180, interval=0.5, what="every welcome to be delivered")
            print(f"topology: welcomes settled {time.monotonic() - t_deliver:.1f} s after the last scan")

            with Session(engine) as s:
                joins = s.execute(select(Membership.id, Membership.group_id, Membership.contact_id)
                                  .join(Group, Group.id == Membership.group_id)
                                  .where(Group.community_id == cid)).all()
                actives = s.execute(select(Membership.group_id, Membership.contact_id)
                                    .join(Group, Group.id == Membership.group_id)
                                    .where(Group.community_id == cid, Membership.left_at.is_(None))).all()
                capacity = dict(s.execute(select(Group.id, Group.capacity).where(Group.community_id == cid)).all())
                welcomes = s.execute(select(Action.id, Action.idempotency_key, Action.state, Action.attempts)
                                     .where(Action.kind == "welcome")).all()
                on_platform: Counter[str | None] = Counter(s.scalars(select(SandboxMessage.idempotency_key).where(
                    SandboxMessage.idempotency_key.like("welcome:%"))))
                tag_count = s.scalar(select(func.count()).select_from(Tag).where(Tag.name == "拓扑"))
        finally:
            engine.dispose()
    finally:
        for c in api:
            c.close()

    # Memberships: nobody twice in one group; each member in the community; occupancy against capacity.
    per_pair = Counter(actives)
    assert not [p for p, n in per_pair.items() if n > 1], "a member holds two active memberships of one group"
    contacts_in = Counter(contact for _, contact in actives)
    assert len(contacts_in) == 2 * SCANS, "every member who scanned is in the community"
    in_two_groups = sum(1 for n in contacts_in.values() if n > 1)
    occupancy = Counter(group for group, _ in actives)
    worst = max(occupancy.values())
    overfull = {gid: n for gid, n in occupancy.items() if n > capacity[gid]}
    print(f"topology: {len(joins)} joins into {len(occupancy)} groups of capacity {CAPACITY}; max occupancy "
          f"{worst}; overfull groups: {len(overfull)} {overfull}; members in two groups of the community: "
          f"{in_two_groups}")

    # Welcomes: one per join, sent once, each key on the platform once, delivered by the workers.
    assert len(welcomes) == len(joins)
    assert {f"welcome:{m}" for m, _, _ in joins} == {k for _, k, _, _ in welcomes}
    assert {st for _, _, st, _ in welcomes} == {"sent"} and {a for _, _, _, a in welcomes} == {1}
    assert set(on_platform) == {k for _, k, _, _ in welcomes} and set(on_platform.values()) == {1}
    def sent_by() -> Counter[int]:
        counts: Counter[int] = Counter()
        for p in (*workers, scheduler):  # the scheduler has a delivery thread of its own
            counts.update(int(a) for a, outcome in DELIVERED.findall(p.log()) if outcome == "sent")
        return counts

    # A job logs its outcome just after the commit the test saw: wait for the last lines.
    welcome_ids = {a for a, _, _, _ in welcomes}
    wait_until(lambda: welcome_ids <= set(sent_by()), timeout=30, what="every delivery to be logged")
    jobs = sent_by()
    assert all(jobs[a] == 1 for a in welcome_ids), "each welcome sent by exactly one job"
    assert all(DELIVERED.search(w.log()) for w in workers), "both workers delivered"
    assert tag_count == 1

    for p in (*serves, *workers, scheduler):
        assert p.alive(), f"{p.name} {p.pid} died:\n{p.log()[-3000:]}"
        assert "Traceback" not in p.log(), f"{p.name} {p.pid} logged an error:\n{p.log()[-3000:]}"
    assert "Enqueueing periodic task" in scheduler.log(), "the scheduler runs the periodic jobs"
    queue.flushdb()
    queue.close()

    assert not overfull, f"groups over capacity {CAPACITY}: {overfull} (max occupancy {worst})"
