"""The same ``synth run`` with ``--executor local`` (process pool) and ``--executor ray`` (a local Ray).

    python benchmarks/ray_vs_local.py --n 200 --repeat 2

Each run is ``synth run --category all --n N --offline --seed S --workers W`` into a fresh
folder, so both executors make the very same kernels.  Prints, per run, the wall time of the
whole command (Python start, Ray start-up and shutdown included) and the ``pairs_per_s`` of its
``stats.json`` (generation + extraction only), then each executor's best figures and the Ray
overhead in per cent.  On one machine Ray can only add overhead; it pays on a multi-node
cluster, where ``--workers`` can exceed one machine's cores (docs/ray.md).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


@dataclass(slots=True)
class Result:
    executor: str
    wall_s: float
    pairs_per_s: float  # from stats.json
    records: int

    @property
    def wall_pairs_per_s(self) -> float:
        return self.records / self.wall_s


def one_run(executor: str, args: argparse.Namespace, out: Path) -> Result:
    cmd = [sys.executable, "-m", "warp_synth.synth.cli", "run", "--category", "all", "--n", str(args.n), "--offline",
           "--seed", str(args.seed), "--workers", str(args.workers), "--no-progress", "--executor", executor,
           "--out", str(out)]
    env = dict(os.environ)
    t0 = time.monotonic()
    r = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
    wall = time.monotonic() - t0
    if r.returncode != 0:
        sys.exit(f"{executor} run failed ({r.returncode}): {r.stderr.strip()[-2000:]}")
    stats = json.loads((out / "stats.json").read_text())
    return Result(executor, wall, float(stats["pairs_per_s"]), int(stats["records"]))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=200, help="records per run (default: 200)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--repeat", type=int, default=1, help="runs per executor, interleaved (default: 1)")
    args = p.parse_args()

    results: list[Result] = []
    with tempfile.TemporaryDirectory(prefix="wsynth-bench-") as tmp:
        for i in range(args.repeat):
            for executor in ("local", "ray"):
                res = one_run(executor, args, Path(tmp) / f"{executor}-{i}")
                results.append(res)
                print(f"{executor:5s} run {i + 1}: {res.records} pairs, wall {res.wall_s:6.1f} s "
                      f"({res.wall_pairs_per_s:5.2f} pairs/s), stats.json {res.pairs_per_s:5.2f} pairs/s",
                      flush=True)
    best = {e: max((r for r in results if r.executor == e), key=lambda r: r.pairs_per_s)
            for e in ("local", "ray")}
    loc, ray = best["local"], best["ray"]
    print(f"\nbest of {args.repeat}, N={args.n}, --workers {args.workers}, {os.cpu_count()} cores:")
    print(f"  local: {loc.pairs_per_s:.2f} pairs/s (stats.json), {loc.wall_pairs_per_s:.2f} pairs/s (wall)")
    print(f"  ray:   {ray.pairs_per_s:.2f} pairs/s (stats.json), {ray.wall_pairs_per_s:.2f} pairs/s (wall)")
    print(f"  ray overhead: {100 * (loc.pairs_per_s / ray.pairs_per_s - 1):+.1f}% (stats.json), "
          f"{100 * (ray.wall_s / loc.wall_s - 1):+.1f}% wall time, "
          f"{ray.wall_s - loc.wall_s:+.1f} s")


if __name__ == "__main__":
    main()
