"""Issue 3's diversity bar, measured on 1,000 accepted records (balanced over every category) of a real run."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from itertools import combinations
from pathlib import Path

import pytest

from warp_synth.extract import kernel_builtin_names
from warp_synth.identity import code_tokens, normalized_source, skeleton
from warp_synth.records import CATEGORIES

pytestmark = [pytest.mark.timeout(1800), pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
N = 1000


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> list[dict]:
    out = tmp_path_factory.mktemp("div") / "all"
    env = dict(os.environ)
    r = subprocess.run([sys.executable, "-m", "warp_synth.synth.cli", "run", "--category", "all", "--n", str(N), "--seed", "7",
                        "--offline", "--no-progress", "--out", str(out)], cwd=ROOT, env=env, capture_output=True,
                       text=True, timeout=1700)
    assert r.returncode == 0, r.stderr
    rows = []
    for shard in sorted(out.glob("shard-*.jsonl")):
        rows += [json.loads(line) for line in shard.read_text().splitlines()]
    return rows


def called_builtins(source: str, registry: set[str]) -> set[str]:
    """``wp.X(...)`` calls inside function bodies (annotations and decorators do not count)."""
    out: set[str] = set()
    for fn in ast.walk(ast.parse(source)):
        if isinstance(fn, ast.FunctionDef):
            for stmt in fn.body:
                for node in ast.walk(stmt):
                    if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                            and isinstance(node.func.value, ast.Name) and node.func.value.id == "wp"
                            and node.func.attr in registry):
                        out.add(node.func.attr)
    return out


def shingles(source: str, n: int = 5) -> set[tuple[str, ...]]:
    toks = code_tokens(source)
    return {tuple(toks[i : i + n]) for i in range(max(0, len(toks) - n + 1))}


def test_balanced_and_exactly_n(dataset):
    assert len(dataset) == N
    counts: dict[str, int] = {}
    for r in dataset:
        counts[r["kernel_type"]] = counts.get(r["kernel_type"], 0) + 1
    assert set(counts) == set(CATEGORIES)
    assert set(counts.values()) <= {N // len(CATEGORIES), N // len(CATEGORIES) + 1}


def test_no_duplicates_after_renaming(dataset):
    assert len({normalized_source(r["python_source"]) for r in dataset}) == N


def test_distinct_skeletons_at_least_half(dataset):
    ratio = len({skeleton(r["python_source"]) for r in dataset}) / N
    print(f"distinct skeleton ratio: {ratio:.3f}")
    assert ratio >= 0.5


def test_at_least_80_distinct_builtins(dataset):
    registry = set(kernel_builtin_names())
    used: set[str] = set()
    for r in dataset:
        used |= called_builtins(r["python_source"], registry)
    print(f"distinct builtins called: {len(used)}")
    assert len(used) >= 80


def test_near_duplicates_at_most_ten_percent(dataset):
    sh = [shingles(r["python_source"]) for r in dataset]
    near = [False] * N
    for i, j in combinations(range(N), 2):
        a, b = sh[i], sh[j]
        if not a or not b or (near[i] and near[j]):
            continue
        small, large = (a, b) if len(a) < len(b) else (b, a)
        if len(small) < 0.9 * len(large):  # Jaccard <= |small|/|large| < 0.9
            continue
        inter = len(a & b)
        if inter / (len(a) + len(b) - inter) >= 0.9:
            near[i] = near[j] = True
    rate = sum(near) / N
    print(f"near-duplicate rate (5-gram Jaccard >= 0.9): {rate:.3f}")
    assert rate <= 0.10
