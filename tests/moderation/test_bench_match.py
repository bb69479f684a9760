"""`python -m bench match` end to end, small: the figures are there and the automaton agrees with the naive loop."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_match_bench_smoke() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "bench", "match", "--json", "--messages", "3000", "--naive-messages", "300",
         "--similarity-messages", "200", "--sensitive-words", "2000", "--faq-keywords", "200", "--faq-entries", "200"],
        cwd=ROOT, capture_output=True, text=True, timeout=300, check=False,
    )
    assert out.returncode == 0, f"bench exit {out.returncode}:\n{out.stdout[-3000:]}\n{out.stderr[-3000:]}"
    result = json.loads(out.stdout)
    assert result["ok"] is True and result["failures"] == []
    assert result["keyword.messages"] == 3000 and result["naive.messages"] == 300
    assert result["agreement.mismatches"] == 0 and result["keyword.hits"] > 0
    for path in ("keyword", "naive", "similarity"):
        assert result[f"{path}.messages_per_s"] > 0
    assert result["speedup"] == round(result["keyword.messages_per_s"] / result["naive.messages_per_s"], 1)
    assert set(result["targets"]) == {"keyword.messages_per_s"} and isinstance(result["targets_met"], bool)
