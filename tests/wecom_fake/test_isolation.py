"""The fake stands alone: it imports nothing of siyu but itself, so it can run (or move) without the engine."""

from __future__ import annotations

import ast
from pathlib import Path

FAKE = Path(__file__).resolve().parents[2] / "src" / "siyu" / "wecom_fake"


def test_the_fake_imports_only_itself() -> None:
    found = {}
    for path in sorted(FAKE.rglob("*.py")):
        mods = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                mods.add(node.module)
            elif isinstance(node, ast.Import):
                mods.update(a.name for a in node.names)
        bad = {m for m in mods if (m == "siyu" or m.startswith("siyu.")) and not m.startswith("siyu.wecom_fake")}
        if bad:
            found[path.name] = bad
    assert found == {}
