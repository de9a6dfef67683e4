"""The per-kernel compile floor: what one more kernel costs inside Warp's compilers once every
fixed cost is paid, and so the best ratio *any* batching engine could reach against the seed's
one-module-per-kernel way on this machine.

    python benchmarks/compile_floor.py --kernels templates --n 60

Compiles the first N kernels through the extraction worker as one batch, then the first 2N as one
batch, timing Warp's CPU compiler (Clang, -O0), NVRTC (PTX, -O3) and
the Warp codegen/loading step, each the best of `--repeat` rounds (the machine is shared, and a
difference of two timings is noise-prone).  The marginal cost per kernel is (t(2N) - t(N)) / N: the
part that batching cannot remove, because every kernel's own forward and backward code must go
through both compilers.  It then times the seed's way (one Warp module per kernel, Warp's default
options) on the N kernels that make the difference, and prints

    ceiling per core = seed-way seconds per kernel / marginal seconds per kernel

which an engine with zero overhead would reach; twice that is the ceiling for two workers on two
cores against the seed's single process.  The workloads are those of `batch_vs_single.py`.

The kernels are the project's own templates/benchmark kernels (trusted), so the worker runs in
this process here; `synth run` always uses isolated worker processes.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from batch_vs_single import kernel_source, run_single, workload  # noqa: E402


def _timed(counter: Counter[str], label: str, fn: Callable[..., Any]) -> Callable[..., Any]:
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        t0 = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            counter[label] += time.perf_counter() - t0
    return wrapper


def marginal_costs(sources: list[str], n: int, repeat: int) -> tuple[dict[str, float], list[str]]:
    """Seconds per kernel for each phase, from a batch of the first n good kernels and a batch of
    the first 2n (each phase's best of ``repeat`` rounds); also returns the n kernels that make the
    difference (the kernels differ, so t(n) - n * marginal is no estimate of the fixed cost)."""
    from extract import worker as worker_mod

    os.chdir(tempfile.mkdtemp(prefix="bench-floor-"))
    w = worker_mod.Worker()
    spent: Counter[str] = Counter()
    w._load = _timed(spent, "codegen", w._load)  # type: ignore[method-assign]
    w.wa.compile_cpu = _timed(spent, "cpu", w.wa.compile_cpu)
    w.wa.compile_cuda = _timed(spent, "cuda", w.wa.compile_cuda)
    w.process([{"key": "warm", "source": kernel_source(10**6)}], False, 128)  # precompiled headers
    # keep only kernels that compile, so no bisection or re-check muddies the timings
    first = w.process([{"key": str(i), "source": s} for i, s in enumerate(sources)], False, 128)
    good = [s for s, o in zip(sources, first, strict=True) if o.get("reason") is None][: 2 * n]
    if len(good) < 2 * n:
        raise SystemExit(f"only {len(good)} of {len(sources)} kernels compile; lower --n")
    phases = ("codegen", "cpu", "cuda")
    best = [dict.fromkeys(phases, float("inf")) for _ in range(2)]
    for _ in range(repeat):  # alternate the two sizes so that a slow spell hits both alike
        for j, batch in enumerate((good[:n], good)):
            spent.clear()
            out = w.process([{"key": str(i), "source": s} for i, s in enumerate(batch)], False, 128)
            assert all(o.get("reason") is None for o in out), "a kernel failed on a later pass"
            best[j] = {k: min(best[j][k], spent[k]) for k in phases}
    return {k: (best[1][k] - best[0][k]) / n for k in phases}, good[n:]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--kernels", choices=("templates", "synthetic", "seed"), default="templates")
    ap.add_argument("--category", default="all", help="template category for --kernels templates (default all)")
    ap.add_argument("--n", type=int, default=60, help="batch sizes N and 2N (default 60)")
    ap.add_argument("--repeat", type=int, default=3,
                    help="rounds; each timing is the best of them, the machine being shared (default 3)")
    args = ap.parse_args()
    sources = workload(args.kernels, int(args.n * 2.2) + 2, args.category)
    per, good = marginal_costs(sources, args.n, args.repeat)
    seed_s = min(run_single(good, low_opt=False) for _ in range(args.repeat)) / len(good)
    floor = per["cpu"] + per["cuda"] + per["codegen"]
    what = f"{args.kernels} ({args.category})" if args.kernels == "templates" else args.kernels
    print(f"kernels: {what}; marginal cost per kernel (batch of {args.n} vs {2 * args.n}, best of {args.repeat}):")
    for k in ("cpu", "cuda", "codegen"):
        print(f"  {k:8s} {1000 * per[k]:6.1f} ms")
    print(f"  floor    {1000 * floor:6.1f} ms  -> at most {1 / floor:5.1f} pairs/s per core")
    print(f"seed's way (one module per kernel, Warp defaults): {1000 * seed_s:6.1f} ms/kernel = "
          f"{1 / seed_s:5.2f} pairs/s")
    print(f"ceiling: {seed_s / floor:4.1f}x per core, {2 * seed_s / floor:4.1f}x with 2 workers on 2 cores")


if __name__ == "__main__":
    main()
