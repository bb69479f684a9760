"""`python -m bench ingest` end to end on SQLite, small: the figures are there and the events landed."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EVENTS = 2000
BATCH = 500
PEOPLE = 300
CONCURRENCY = 2


@pytest.mark.timeout(600)
def test_ingest_bench_smoke(tmp_path: Path) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "bench", "ingest", "--json", "--only", "sqlite", "--events", str(EVENTS),
         "--batch", str(BATCH), "--people", str(PEOPLE), "--concurrency", str(CONCURRENCY),
         "--workdir", str(tmp_path)],
        cwd=ROOT, capture_output=True, text=True, timeout=540, check=False,
    )
    assert out.returncode == 0, f"bench exit {out.returncode}:\n{out.stdout[-3000:]}\n{out.stderr[-3000:]}"
    result = json.loads(out.stdout)

    assert result["ok"] is True and result["failures"] == []
    for path in ("inprocess", "http", "raw"):
        assert result[f"sqlite.{path}.events"] == EVENTS
        assert result[f"sqlite.{path}.events_per_s"] > 0
    for path in ("inprocess", "http"):
        assert result[f"sqlite.{path}.ratio_to_raw"] == pytest.approx(
            result[f"sqlite.{path}.events_per_s"] / result["sqlite.raw.events_per_s"], rel=0.01)
    assert result["sqlite.http.serve_peak_rss_mb"] > 10
    assert isinstance(result["targets_met"], bool)
    assert set(result["targets"]) == {"sqlite.inprocess.events_per_s", "sqlite.http.events_per_s"}
    assert "postgresql.raw.events_per_s" not in result

    # Count the rows ourselves, in the workspace the bench kept.
    db = Path(result["meta.workdir"]) / "sqlite" / "siyu.db"
    with sqlite3.connect(db) as conn:
        def count(sql: str) -> int:
            return int(conn.execute(sql).fetchone()[0])

        assert count("SELECT count(*) FROM events WHERE source_key LIKE 'ip-%'") == EVENTS
        assert count("SELECT count(*) FROM events WHERE source_key LIKE 'http-%'") == EVENTS
        assert count("SELECT count(*) FROM bench_raw_events") == EVENTS
        assert count("SELECT count(*) FROM events WHERE source_key LIKE 'ip-%' AND contact_id IS NULL") == 0
        # The pool's people became contacts once each (the warm-up), never once per event.
        assert count("SELECT count(*) FROM contacts") == PEOPLE
        assert count("SELECT count(DISTINCT type) FROM events WHERE source_key LIKE 'http-%'") >= 4
