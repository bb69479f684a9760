"""kill -9 of `siyu serve` in the middle of an ingest stream.

The contract under test (events/endpoints.py): a batch is acknowledged only after its transaction committed. So
whatever a client got a 200 for survives a SIGKILL, a batch is stored entirely or not at all, and resending every
batch afterwards — acknowledged or not — leaves each source key exactly once.
"""

from __future__ import annotations

import signal
import threading
from collections import Counter
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from tests.durability.conftest import Procs, create_token, free_port, init_workspace, siyu_env, wait_until

THREADS = 3
BATCHES_PER_THREAD = 15
BATCH = 500
KILL_AFTER_ACKS = 6
PREFIX = "crash-ingest"


def batch_keys(batch: int) -> list[str]:
    return [f"{PREFIX}:b{batch:03d}:e{i:03d}" for i in range(BATCH)]


def batch_body(batch: int) -> dict[str, object]:
    return {"events": [{"type": "custom.crash_test", "source_key": key, "payload": {"batch": batch, "i": i}}
                       for i, key in enumerate(batch_keys(batch))]}


def stored_keys(engine: sa.Engine) -> Counter[str]:
    with engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT source_key FROM events WHERE source_key LIKE :p"),
                            {"p": f"{PREFIX}:%"}).scalars()
        return Counter(rows)


@pytest.mark.slow
def test_acknowledged_batches_survive_kill_9(db_url: str, tmp_path: Path, procs: Procs) -> None:
    env = siyu_env(db_url)
    folder = init_workspace(tmp_path / "ws", env)
    token = create_token(folder, env)
    port = free_port()
    server = procs.serve(folder, port, env, workers=0)
    base = f"http://127.0.0.1:{port}/api/v1/events"
    headers = {"Authorization": f"Bearer {token}"}

    acked: set[int] = set()
    failed: dict[int, str] = {}
    lock = threading.Lock()
    all_batches = list(range(THREADS * BATCHES_PER_THREAD))

    def post_stream(mine: list[int]) -> None:
        with httpx.Client(headers=headers, timeout=60) as client:
            for n, batch in enumerate(mine):
                try:
                    r = client.post(base, json=batch_body(batch))
                except httpx.HTTPError as exc:  # the server died under us: this one and the rest are unacked
                    with lock:
                        for b in mine[n:]:
                            failed[b] = type(exc).__name__
                    return
                body = r.json()
                with lock:
                    if r.status_code == 200 and body["stored"] + body["duplicate"] == BATCH:
                        acked.add(batch)
                    else:
                        failed[batch] = f"HTTP {r.status_code}: {str(body)[:200]}"

    threads = [threading.Thread(target=post_stream, args=(all_batches[t::THREADS],), daemon=True)
               for t in range(THREADS)]
    for t in threads:
        t.start()
    wait_until(lambda: len(acked) >= KILL_AFTER_ACKS or not any(t.is_alive() for t in threads),
               timeout=120, interval=0.005, what=f"{KILL_AFTER_ACKS} acknowledged batches")
    assert server.kill9() == -signal.SIGKILL
    for t in threads:
        t.join(timeout=60)
        assert not t.is_alive(), "a client thread hung after the server was killed"

    acked_at_kill = set(acked)
    assert len(acked_at_kill) >= KILL_AFTER_ACKS, failed
    # The kill must have landed mid-stream, or this test proves nothing.
    assert failed, "every batch was acknowledged before the kill; the crash missed the stream"
    assert acked_at_kill | set(failed) == set(all_batches)
    assert not any(reason.startswith("HTTP") for reason in failed.values()), failed

    server = procs.serve(folder, port, env, workers=0)  # "after restart"
    engine = sa.create_engine(db_url)
    try:
        keys = stored_keys(engine)
        missing = {b: sum(k not in keys for k in batch_keys(b)) for b in acked_at_kill}
        assert not any(missing.values()), f"acknowledged events lost in the crash: {missing}"
        # One batch is one transaction: after the crash each batch is there entirely or not at all.
        partial = {b: n for b in all_batches if 0 < (n := sum(k in keys for k in batch_keys(b))) < BATCH}
        assert not partial, f"batches half-stored by the crash: {partial}"
        assert all(c == 1 for c in keys.values())
        survived = sum(keys.get(batch_keys(b)[0], 0) for b in all_batches)
        print(f"\ningest crash: {len(acked_at_kill)} batches acknowledged before kill -9, {len(failed)} not; "
              f"{survived} batches in the database after restart")

        # Resend everything, acknowledged or not; all must come back 200 and nothing may be stored twice.
        results: dict[int, dict[str, int]] = {}

        def resend(mine: list[int]) -> None:
            with httpx.Client(headers=headers, timeout=60) as client:
                for batch in mine:
                    r = client.post(base, json=batch_body(batch))
                    assert r.status_code == 200, r.text[:500]
                    body = r.json()
                    with lock:
                        results[batch] = {"stored": body["stored"], "duplicate": body["duplicate"]}

        threads = [threading.Thread(target=resend, args=(all_batches[t::THREADS],), daemon=True)
                   for t in range(THREADS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
        assert set(results) == set(all_batches), "a resend thread failed (see its assertion above)"
        for batch in acked_at_kill:
            assert results[batch] == {"stored": 0, "duplicate": BATCH}, (batch, results[batch])
        for batch in all_batches:
            assert results[batch]["stored"] + results[batch]["duplicate"] == BATCH

        keys = stored_keys(engine)
        expected = {k for b in all_batches for k in batch_keys(b)}
        assert set(keys) == expected
        dupes = {k: c for k, c in keys.items() if c != 1}
        assert not dupes, f"source keys stored more than once: {list(dupes.items())[:10]}"
        with engine.connect() as conn:
            total = conn.execute(sa.text("SELECT count(*) FROM events WHERE source_key LIKE :p"),
                                 {"p": f"{PREFIX}:%"}).scalar_one()
        assert total == len(all_batches) * BATCH
        assert server.alive()
    finally:
        engine.dispose()
