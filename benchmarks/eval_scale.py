"""Scale benchmark of ``synth eval``: N synthetic-but-realistic records, then ``evaluate()``.

    python benchmarks/eval_scale.py --records 100000 [--keep DIR] [--workers 2]

Kernels are assembled from random parts (families, statements, builtins, dtypes, constants,
names) so they are not all alike; about 3% are exact copies and 5% renamed copies of earlier
ones.  The IR is C++-looking text of 2-4 KB per backend.  Prints the wall time of
``evaluate()`` and the peak resident memory of the main process and of its workers.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import sys
import tempfile
import time
from pathlib import Path

from warp_synth.eval.report import evaluate  # noqa: E402

FAMILIES = ("arithmetic", "conditional", "loop", "math", "vector", "atomic", "nested", "multi_cond", "combined",
            "scalar_param")
ORIGINS = ("template", "template", "template", "mutation", "mutation", "llm", "llm-repair", "mined")
UNARY = ("sin", "cos", "exp", "sqrt", "abs", "floor", "ceil", "tanh", "log", "sign", "round", "trunc")
BINARY = ("max", "min", "pow", "atan2", "mod")
OPS = ("+", "-", "*", "/")
SCALARS = ("float32", "float64", "int32")
NAMES = ("x", "y", "z", "acc", "val", "tmp", "res", "s", "t", "u", "w", "q", "a", "b", "c", "d")


def _expr(rng: random.Random, vars_: list[str], depth: int = 0) -> str:
    r = rng.random()
    if depth > 1 or r < 0.35:
        return rng.choice(vars_) if rng.random() < 0.7 else f"{rng.uniform(-9, 9):.{rng.randint(1, 3)}f}"
    if r < 0.55:
        return f"wp.{rng.choice(UNARY)}({_expr(rng, vars_, depth + 1)})"
    if r < 0.7:
        return f"wp.{rng.choice(BINARY)}({_expr(rng, vars_, depth + 1)}, {_expr(rng, vars_, depth + 1)})"
    return f"({_expr(rng, vars_, depth + 1)} {rng.choice(OPS)} {_expr(rng, vars_, depth + 1)})"


def _body(rng: random.Random, family: str, vars_: list[str], indent: str, depth: int = 0) -> list[str]:
    lines: list[str] = []
    for _ in range(rng.randint(1, 3) if depth else rng.randint(2, 4)):
        v = rng.choice(NAMES)
        lines.append(f"{indent}{v} = {_expr(rng, vars_)}")
        if v not in vars_:
            vars_.append(v)
    nest = 2 if family == "nested" else 1
    if depth < nest and family in ("conditional", "multi_cond", "nested", "combined") and rng.random() < 0.8:
        lines.append(f"{indent}if {rng.choice(vars_)} > {rng.uniform(-1, 1):.2f}:")
        lines += _body(rng, family, list(vars_), indent + "    ", depth + 1)
        if rng.random() < 0.5:
            lines.append(f"{indent}elif {rng.choice(vars_)} < {rng.uniform(-1, 1):.2f}:")
            lines += _body(rng, family, list(vars_), indent + "    ", depth + 1)
        lines.append(f"{indent}else:")
        lines += _body(rng, family, list(vars_), indent + "    ", depth + 1)
    if depth < nest and family in ("loop", "nested", "combined") and rng.random() < 0.8:
        i = rng.choice(("i", "j", "k"))
        lines.append(f"{indent}for {i} in range({rng.randint(2, 16)}):")
        lines += _body(rng, family, [*vars_, i], indent + "    ", depth + 1)
        if rng.random() < 0.3:
            lines.append(f"{indent}    if {rng.choice(vars_)} > 100.0:")
            lines.append(f"{indent}        break")
    return lines


def make_kernel(rng: random.Random, idx: int) -> tuple[str, str]:
    family = rng.choice(FAMILIES)
    dt = rng.choice(SCALARS)
    name = f"{family}_kernel_{idx}"
    params = ["inp", "out"] + (["scale"] if family == "scalar_param" else [])
    sig = [f"inp: wp.array(dtype=wp.{dt})", f"out: wp.array(dtype=wp.{dt})"]
    if family == "scalar_param":
        sig.append("scale: float")
    if family == "vector":
        sig[0] = f"inp: wp.array(dtype=wp.vec{rng.randint(2, 4)})"
    lines = ["import warp as wp", "", "", "@wp.kernel", f"def {name}({', '.join(sig)}):", "    tid = wp.tid()"]
    vars_ = ["tid", *params[2:]]
    if family == "vector":
        lines.append("    v = inp[tid]")
        lines.append(f"    x = wp.length(v) + wp.dot(v, v) * {rng.uniform(0, 2):.2f}")
    else:
        lines.append(f"    x = float(inp[tid]) * {rng.uniform(0.1, 4):.3f}")
    vars_.append("x")
    lines += _body(rng, family, vars_, "    ")
    res = rng.choice(vars_[1:])
    if family == "atomic":
        lines.append(f"    wp.atomic_add(out, 0, wp.{dt}({res}))")
    else:
        lines.append(f"    out[tid] = wp.{dt}({res})")
    return "\n".join(lines) + "\n", family


def _rename(src: str, rng: random.Random) -> str:
    for old in ("acc", "val", "tmp", "res"):
        src = src.replace(f"{old} ", f"{old}_{rng.randint(0, 9)} ")
    return src.replace("_kernel_", "_k_")


def make_ir(rng: random.Random, src: str, backend: str) -> dict[str, str]:
    n = rng.randint(60, 120)
    ty = "float32" if backend == "cpu" else "wp::float32"
    fwd = [f"    {ty} var_{i} = wp::{rng.choice(UNARY)}(var_{max(0, i - rng.randint(1, 3))});  // line {i}"
           for i in range(n // 2)]
    bwd = [f"    wp::adj_{rng.choice(UNARY)}(var_{i}, adj_{i}, adj_{i + 1});" for i in range(n // 2 + n // 4)]
    head = f"static void kernel_{abs(hash(src)) % 10**8}_{backend}_kernel_forward(wp::launch_bounds_t dim)\n{{\n"
    return {"forward": head + "\n".join(fwd) + "\n}\n", "backward": head.replace("forward", "backward")
            + "\n".join(bwd) + "\n}\n"}


def write_dataset(d: Path, n: int, seed: int = 0, shard_size: int = 10_000) -> int:
    rng = random.Random(seed)
    d.mkdir(parents=True, exist_ok=True)
    recent: list[str] = []
    size = 0
    f = None
    for i in range(n):
        if i % shard_size == 0:
            if f:
                f.close()
            f = (d / f"shard-{i // shard_size:05d}.jsonl").open("w", encoding="utf-8")
        r = rng.random()
        if recent and r < 0.03:
            src = rng.choice(recent)
            family = "arithmetic"
        elif recent and r < 0.08:
            src, family = _rename(rng.choice(recent), rng), "arithmetic"
        else:
            src, family = make_kernel(rng, i)
            recent = (recent + [src])[-200:]
        rec = {"id": f"{i:016x}", "kernel_name": f"k{i}", "kernel_type": family, "python_source": src,
               "ir": {"cpu": make_ir(rng, src, "cpu"), "cuda": make_ir(rng, src, "cuda")},
               "origin": rng.choice(ORIGINS), "generated_at": "2026-01-01T00:00:00+00:00",
               "metadata": {"num_params": 2, "num_lines": src.count("\n")}, "parent_id": None}
        line = json.dumps(rec) + "\n"
        size += len(line)
        f.write(line)
    if f:
        f.close()
    (d / "stats.json").write_text(json.dumps({"records": n}))
    return size


def _cpu_seconds() -> float:
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--records", type=int, default=100_000)
    ap.add_argument("--keep", type=Path, default=None,
                    help="write the dataset and report here (kept; a dataset of the same size there is reused)")
    ap.add_argument("--workers", type=int, default=None)
    ap.add_argument("--vendi-sample", type=int, default=1000)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        base = args.keep or Path(tmp)
        data = base / "dataset"
        stats = data / "stats.json"
        if stats.exists() and json.loads(stats.read_text()).get("records") == args.records:
            print(f"reusing the {args.records} records in {data}", flush=True)
        else:
            t0 = time.perf_counter()
            size = write_dataset(data, args.records)
            print(f"wrote {args.records} records ({size / 1e6:.0f} MB) in {time.perf_counter() - t0:.1f} s",
                  flush=True)
        cpu0 = _cpu_seconds()
        rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        load = os.getloadavg()
        t0 = time.perf_counter()
        report = evaluate([data], None, base / "report", vendi_sample=args.vendi_sample, workers=args.workers)
        wall = time.perf_counter() - t0
        cpu = _cpu_seconds() - cpu0
    main_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    child_rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"evaluate(): {report['records']} records in {wall:.1f} s ({report['records'] / wall:.0f} records/s), "
          f"CPU {cpu:.0f} s (main + workers), load average before: {load[0]:.1f}")
    print(f"peak RSS: main process {main_rss:.0f} MB (before evaluate {rss_before / 1024:.0f} MB), "
          f"largest worker {child_rss:.0f} MB")
    print(f"exact {report['exact_dup_rate']:.4f}  alpha {report['alpha_dup_rate']:.4f}  "
          f"near {report['near_dup_rate']:.4f}  skeleton-unique {report['skeleton_unique_ratio']:.4f}  "
          f"vendi {report['vendi']:.2f}  distinct-4 {report['distinct_n']['4']:.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
