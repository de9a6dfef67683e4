"""The mining package's shape: imports go one way, only the adapter touches Warp internals."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import warp_synth.extract.mining as mining

pytestmark = pytest.mark.timeout(60)

PACKAGE = Path(mining.__file__).parent
PREFIX = "warp_synth.extract.mining."


def _imports(path: Path) -> set[str]:
    """Every module ``path`` imports, at module level or inside functions."""
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, f"{path.name}: relative import"
            out.add(node.module or "")
    return out


def test_mining_modules_import_each_other_one_way_only() -> None:
    graph = {p.stem: {m[len(PREFIX):] for m in _imports(p) if m.startswith(PREFIX)}
             for p in PACKAGE.glob("*.py")}
    assert all(dep in graph for deps in graph.values() for dep in deps), graph

    state: dict[str, str] = {}

    def visit(node: str, path: list[str]) -> None:
        if state.get(node) == "done":
            return
        assert state.get(node) != "open", f"import cycle: {' -> '.join([*path, node])}"
        state[node] = "open"
        for dep in sorted(graph[node]):
            visit(dep, [*path, node])
        state[node] = "done"

    for name in sorted(graph):
        visit(name, [])


def test_no_mining_module_imports_warp_internals_or_grows_past_500_lines() -> None:
    for p in sorted(PACKAGE.glob("*.py")):
        assert not any(m.startswith("warp._src") for m in _imports(p)), p.name
        assert len(p.read_text(encoding="utf-8").splitlines()) <= 500, p.name
