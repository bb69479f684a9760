"""`python -m bench sop` end to end on SQLite, small: the figures are there and the rows landed."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_sop_bench_smoke(tmp_path: Path) -> None:
    out = subprocess.run([sys.executable, "-m", "bench", "sop", "--json", "--only", "sqlite", "--groups", "200",
                          "--workdir", str(tmp_path)], cwd=ROOT, capture_output=True, text=True, timeout=300,
                         check=False)
    assert out.returncode == 0, f"{out.stdout[-2000:]}\n{out.stderr[-2000:]}"
    r = json.loads(out.stdout)
    assert r["ok"] is True and r["failures"] == []
    assert r["sqlite.plan_week.occurrences"] == r["sqlite.raw.rows"] == r["sqlite.rows.occurrences"] == 200 * 11
    assert r["sqlite.plan_week.seconds"] > 0 and r["sqlite.plan_week.occurrences_per_s"] > 0
    assert r["sqlite.plan_week.ratio_to_raw"] == round(
        r["sqlite.plan_week.occurrences_per_s"] / r["sqlite.raw.rows_per_s"], 3)
    assert set(r["targets"]) == {"sqlite.plan_week.seconds"}
    assert "postgresql.plan_week.seconds" not in r
