"""Compile the same N kernels (a) one Warp module per kernel, as the seed pipeline did, and
(b) through the batched extraction engine; both backends (CPU object code + CUDA PTX) each way.

    python benchmarks/batch_vs_single.py --n 120 --workers 1

Prints pairs/s for each and the ratio.  Both sides use the same validation compile options
(CPU -O0, CUDA -O1, sm_75 PTX) so the ratio measures batching, not optimisation levels.
(a) runs sequentially in one process (one core); compare it with (b) at --workers 1 for the
per-core figure.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from extract.engine import ExtractOptions, Extractor  # noqa: E402
from extract.records import Accepted, Unit  # noqa: E402

UNARY = ["wp.sin", "wp.cos", "wp.exp", "wp.sqrt", "wp.abs", "wp.tanh", "wp.log", "wp.floor", "wp.ceil"]


def kernel_source(i: int) -> str:
    r = random.Random(i)
    f1, f2, f3 = r.sample(UNARY, 3)
    c = r.uniform(0.5, 3.0)
    return textwrap.dedent(f'''\
        import warp as wp

        @wp.func
        def shape_{i}(x: float) -> float:
            return {f1}(x) * {c:.3f} + {f2}(x * x)

        @wp.kernel
        def bench_{i}(a: wp.array(dtype=float), b: wp.array(dtype=wp.vec3), out: wp.array(dtype=float)):
            tid = wp.tid()
            v = shape_{i}(a[tid]) + wp.length(b[tid])
            if v > {c:.2f}:
                v = {f3}(v)
            for j in range({r.randint(2, 9)}):
                v = v + float(j) * {r.uniform(0.1, 1.0):.3f}
            out[tid] = v
        ''')


_SINGLE = r"""
import importlib.util, json, os, sys, tempfile, time
import warp as wp
wp.config.quiet = True
wp.init()
paths = json.load(sys.stdin)
t0 = time.perf_counter()
for n, path in enumerate(paths):
    name = f"single_{n}"
    spec = importlib.util.spec_from_file_location(name, path)
    m = importlib.util.module_from_spec(spec); sys.modules[name] = m; spec.loader.exec_module(m)
    wm = wp.get_module(name)
    wm.options["optimization_level"] = 0  # CPU -O0; Warp raises CUDA to -O1 itself (CUDA >= 13.1)
    wp.compile_aot_module(wm, device="cpu", arch=[75], module_dir=tempfile.mkdtemp(), use_ptx=True)
print(json.dumps({"seconds": time.perf_counter() - t0}))
"""


def run_single(sources: list[str]) -> float:
    d = tempfile.mkdtemp(prefix="bench-single-")
    paths = []
    for i, s in enumerate(sources):
        p = os.path.join(d, f"k{i}.py")
        Path(p).write_text(s)
        paths.append(p)
    env = dict(os.environ, WARP_CACHE_PATH=os.path.join(d, "cache"))
    # one warm-up module first so both sides start with precompiled headers in place
    warm = os.path.join(d, "warm.py")
    Path(warm).write_text(kernel_source(10**6))
    subprocess.run([sys.executable, "-c", _SINGLE], input=json.dumps([warm]), text=True, env=env,
                   capture_output=True, check=True)
    out = subprocess.run([sys.executable, "-c", _SINGLE], input=json.dumps(paths), text=True, env=env,
                         capture_output=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])["seconds"]


def run_batched(sources: list[str], workers: int, batch_size: int) -> tuple[float, int]:
    with Extractor(ExtractOptions(workers=workers, batch_size=batch_size)) as ex:
        ex.extract([Unit(f"warm{w}", kernel_source(10**6 + w)) for w in range(workers)])  # start + PCH
        t0 = time.perf_counter()
        outs = ex.extract([Unit(str(i), s) for i, s in enumerate(sources)])
        return time.perf_counter() - t0, sum(isinstance(o, Accepted) for o in outs)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=120)
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--batch-size", type=int, default=40)
    args = ap.parse_args()
    sources = [kernel_source(i) for i in range(args.n)]
    single = run_single(sources)
    batched, ok = run_batched(sources, args.workers, args.batch_size)
    assert ok == args.n, f"only {ok}/{args.n} kernels accepted by the engine"
    a, b = args.n / single, args.n / batched
    print(f"kernels: {args.n} (CPU object code + CUDA PTX each)")
    print(f"(a) one module per kernel: {single:8.1f} s  {a:6.2f} pairs/s  (1 process)")
    print(f"(b) batched engine:        {batched:8.1f} s  {b:6.2f} pairs/s  ({args.workers} worker(s), "
          f"batch {args.batch_size})")
    print(f"ratio (b)/(a): {b / a:.1f}x" + (" per core" if args.workers == 1 else f" with {args.workers} workers"))


if __name__ == "__main__":
    main()
