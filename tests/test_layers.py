"""Who may import whom (docs/design.md): kit depends on nothing above it, connectors on kit, models and their own
package only (the engine calls them, not the other way), and domain code below the edge never sees a request's
unit of work — services take a Session."""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parent.parent / "src" / "siyu"
#: Modules that are the edge (or build it): they may use `siyu.edge`.
EDGE = ("endpoints.py", "commands.py", "cli.py", "app.py")


def _imports(path: Path) -> set[str]:
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.add(node.module)
        elif isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
    return {m for m in out if m == "siyu" or m.startswith("siyu.")}


def _offenders(folder: str, allowed: tuple[str, ...]) -> dict[str, set[str]]:
    found = {}
    for path in sorted((SRC / folder).rglob("*.py")):
        bad = {m for m in _imports(path) if not m.startswith(allowed)}
        if bad:
            found[str(path.relative_to(SRC))] = bad
    return found


def test_kit_imports_nothing_above_it() -> None:
    assert _offenders("kit", ("siyu.kit",)) == {}


def test_connectors_import_only_kit_models_and_themselves() -> None:
    assert _offenders("connectors", ("siyu.kit", "siyu.models", "siyu.connectors")) == {}


def test_only_the_edge_uses_the_unit_of_work() -> None:
    below = {}
    for path in sorted(SRC.rglob("*.py")):
        rel = path.relative_to(SRC)
        if rel.parts[0] in ("edge", "console") or path.name in EDGE:
            continue
        if any(m.startswith("siyu.edge") for m in _imports(path)):
            below[str(rel)] = "imports siyu.edge"
    assert below == {}
