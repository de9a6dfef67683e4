"""End-to-end throughput of `synth run` (offline, both backends compiled, 2 workers) against the
seed pipeline's way — one Warp module per kernel, compiled one after another in one process —
on the same accepted kernels, in the same invocation.

    python benchmarks/run_throughput.py --n 400 --seed-sample 80

(a) `synth run --category CAT --n N --workers 2` (default `all`): accepted pairs/s over the run's whole wall time
    (candidate generation, screening, dedup, batched compile, writing);
(b) the seed's way on the first `--seed-sample` of the very kernels (a) accepted: one module per
    kernel with Warp's default compile options, as the seed compiled: pairs/s;
(b') the same with the engine's validation options (CPU -O0, CUDA -O3), isolating batching and
    parallelism from the choice of options.
All compile CPU object code and CUDA PTX; (b) and (b') only compile, they do no generation or
writing, which favours the seed side.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

from batch_vs_single import run_single  # noqa: E402

from warp_synth.shards import find_shards, iter_records  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=400)
    ap.add_argument("--seed-sample", type=int, default=80)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--category", default="all", help="category to run (default: all ten, balanced)")
    args = ap.parse_args()
    out = Path(tempfile.mkdtemp(prefix="bench-run-")) / args.category
    env = dict(os.environ)
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "warp_synth.synth.cli", "run", "--category", args.category, "--n", str(args.n),
                    "--seed", str(args.seed), "--workers", str(args.workers), "--offline", "--no-progress",
                    "--out", str(out)], check=True, env=env, cwd=ROOT)
    wall = time.perf_counter() - t0
    sources = [r.python_source for r in iter_records(find_shards([out]))]
    sample = sources[: args.seed_sample]
    seed_way = run_single(sample, low_opt=False)
    single = run_single(sample, low_opt=True)
    a, b, b2 = len(sources) / wall, len(sample) / seed_way, len(sample) / single
    print(f"(a)  synth run, {args.workers} workers: {len(sources)} pairs in {wall:.1f} s wall = {a:.2f} pairs/s")
    print(f"(b)  one module per kernel, Warp defaults (the seed), 1 process: {len(sample)} of the same kernels "
          f"in {seed_way:.1f} s = {b:.2f} pairs/s")
    print(f"(b') one module per kernel, validation options, 1 process: {single:.1f} s = {b2:.2f} pairs/s")
    print(f"ratio (a)/(b):  {a / b:.1f}x  (against the seed's way)")
    print(f"ratio (a)/(b'): {a / b2:.1f}x  (batching + {args.workers} workers alone)")


if __name__ == "__main__":
    from _scratch import scratch

    with scratch("bench-run-"):
        main()
