"""Hand-made kernels and datasets whose every metric is known (see the comments for each value)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from types import ModuleType

import pytest

# A small builtin universe stands in for Warp's list, so coverage ratios are known exactly.
# 15 names; the main dataset uses 12 of them (all but abs, exp, floor).
BUILTINS = ["abs", "array", "atomic_add", "cos", "exp", "float32", "floor", "int32", "max", "min", "sin", "sqrt",
            "tid", "tile_load", "vec3"]

# K1: arithmetic.  builtins: array, float32, tid, sin, sqrt; features: none.
K1 = '''import warp as wp


@wp.kernel
def scale_add(a: wp.array(dtype=wp.float32), b: wp.array(dtype=wp.float32), out: wp.array(dtype=wp.float32)):
    """Docstrings and comments never matter."""
    tid = wp.tid()
    x = a[tid] * 2.0 + b[tid]  # a comment
    y = wp.sin(x) - wp.sqrt(b[tid] * b[tid] + 1.0)
    out[tid] = x * y + 3.0
'''

# K1 with every user identifier renamed and different comments/layout: an alpha copy of K1.
K1_RENAMED = '''import warp as wp

@wp.kernel
def blend(p: wp.array(dtype=wp.float32), q: wp.array(dtype=wp.float32), r: wp.array(dtype=wp.float32)):
    i = wp.tid()
    s = p[i] * 2.0 + q[i]
    t = wp.sin(s) - wp.sqrt(q[i] * q[i] + 1.0)
    r[i] = s * t + 3.0
'''

# K2: loop.  builtins: array, float32, int32, tid, max, min; dtypes float32, int32;
# features: for, if, elif, break, continue, scalar_param (``n: int``).
K2 = '''import warp as wp


@wp.kernel
def clipped_running_sum(values: wp.array(dtype=wp.float32), limits: wp.array(dtype=wp.int32),
                        out: wp.array(dtype=wp.float32), n: int):
    tid = wp.tid()
    total = float(0.0)
    lo = float(-5.0)
    for i in range(n):
        v = values[(tid + i) % n]
        if v > 100.0:
            break
        elif v < -100.0:
            continue
        if limits[i] > 0:
            total = total + wp.max(v, lo)
        else:
            total = total - wp.min(v, 7.0)
        lo = lo * 0.5 + 1.0
    out[tid] = total * 0.25 + 2.0
'''

# K2 with one constant changed (7.0 -> 9.0): same skeleton, not an alpha copy; it changes 5 of the
# 5-gram shingles of K2's normalised tokens, so its Jaccard with K2 is ~0.95 (a near copy).
K2_NEAR = K2.replace("wp.min(v, 7.0)", "wp.min(v, 9.0)")

# K3: conditional.  builtins: array, float32, tid, cos; dtypes float32, int32 (``int(0)``) and vec3 (vec3 also a
# builtin here); features: while, if, bool_op, aug_assign, wp_func_call, struct.
K3 = '''import warp as wp


@wp.struct
class Params:
    gain: float
    offset: wp.vec3


@wp.func
def damp(x: float, k: float) -> float:
    return x / (1.0 + k * x * x)


@wp.kernel
def settle(p: Params, xs: wp.array(dtype=wp.float32)):
    tid = wp.tid()
    x = xs[tid]
    steps = int(0)
    while x > 0.01 and steps < 16:
        x = damp(x, p.gain) + wp.cos(p.offset[0])
        steps += 1
    if steps == 16:
        x = 0.0
    xs[tid] = x
'''

# K4: atomic.  builtins: array, float32, tid, atomic_add, tile_load (tile feature); features: atomic, tile.
K4 = '''import warp as wp


@wp.kernel
def histogram_tiles(data: wp.array(dtype=wp.float32), bins: wp.array(dtype=wp.float32)):
    tid = wp.tid()
    t = wp.tile_load(data, shape=8)
    w = data[tid]
    wp.atomic_add(bins, 0, w)
'''

# Reference: builtins array, vec3, float32, float64 (outside BUILTINS), tid, cos, exp; dtypes vec3,
# float32, float64, int32; features while, ternary, aug_assign.  The main dataset lacks exp, float64 and ternary.
REF = '''import warp as wp


@wp.kernel
def spin(v: wp.array(dtype=wp.vec3), s: wp.array(dtype=wp.float32), w: wp.array(dtype=wp.float64)):
    tid = wp.tid()
    a = v[tid]
    k = int(0)
    while k < 3:
        a = wp.vec3(wp.cos(a[1]), wp.exp(a[2]), a[0])
        k += 1
    s[tid] = a[0] if a[0] > 0.0 else a[1]
'''


def record(i: int, src: str, kernel_type: str, origin: str, fwd: int = 10, bwd: int = 20) -> dict:
    ir = {"forward": "x;\n" * fwd, "backward": "y;\n" * bwd}
    return {"id": f"r{i}", "kernel_name": "k", "kernel_type": kernel_type, "python_source": src,
            "ir": {"cpu": dict(ir), "cuda": {"forward": "x;\n" * (2 * fwd), "backward": "y;\n" * bwd}},
            "origin": origin, "generated_at": "2026-01-01T00:00:00+00:00", "metadata": {}, "parent_id": None}


# (source, category, origin, cpu forward lines, cpu backward lines)
MAIN_ROWS = [
    (K1, "arithmetic", "template", 10, 30),        # 1
    (K1, "arithmetic", "template", 10, 30),        # 2 exact copy of 1
    (K1_RENAMED, "arithmetic", "mutation", 10, 30),  # 3 alpha copy of 1 (another origin)
    (K2, "loop", "template", 40, 100),             # 4
    (K2_NEAR, "loop", "mutation", 40, 100),        # 5 near copy of 4 (same skeleton)
    (K3, "conditional", "llm", 25, 50),            # 6
    (K4, "atomic", "mined", 15, 15),               # 7
]


def write_jsonl(path: Path, lines: list[str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")


@pytest.fixture
def main_dataset(tmp_path: Path) -> Path:
    """7 valid records in two shards, plus 2 corrupt lines and a blank line (not counted)."""
    rows = [json.dumps(record(i, *r)) for i, r in enumerate(MAIN_ROWS)]
    missing_field = record(99, K1, "arithmetic", "template")
    del missing_field["python_source"]
    d = tmp_path / "main"
    write_jsonl(d / "shard-000.jsonl", rows[:4] + ['{"id": "broken", "kernel_name": '])
    write_jsonl(d / "shard-001.jsonl", rows[4:] + ["", json.dumps(missing_field)])
    (d / "stats.json").write_text("{}", encoding="utf-8")
    return d


@pytest.fixture
def reference_dataset(tmp_path: Path) -> Path:
    d = tmp_path / "mined"
    write_jsonl(d / "shard-00000.jsonl", [json.dumps(record(0, REF, "mined", "mined")),
                                   json.dumps(record(1, K4, "atomic", "mined"))])
    return d


@pytest.fixture
def k() -> ModuleType:
    """This module: the kernels and the builtin universe above, for the tests to read."""
    return sys.modules[__name__]


@pytest.fixture(scope="session")
def atomic_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """20 real records: ``synth run --category atomic --n 20 --offline`` (compiled by Warp, ~15 s)."""
    import subprocess

    out = tmp_path_factory.mktemp("atomic") / "run"
    subprocess.run([sys.executable, "-m", "warp_synth.synth.cli", "run", "--category", "atomic", "--n", "20",
                    "--offline", "--out", str(out)], check=True, capture_output=True, timeout=280)
    return out
