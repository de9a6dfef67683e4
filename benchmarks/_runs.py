"""One timed offline `synth run`, the way the end-to-end benchmarks measure it."""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def _children_cpu() -> float:
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)  # every finished (and waited-for) descendant
    return ru.ru_utime + ru.ru_stime


def timed_synth_run(args: argparse.Namespace, out: Path, *extra: str, **run_kw: Any) -> tuple[float, float, dict]:
    """Run `synth run --offline` with ``args``' category, n, seed and workers (plus ``extra`` flags)
    into ``out``: (wall seconds, CPU seconds of the run and every process it started, its stats.json)."""
    cpu0 = _children_cpu()
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "warp_synth.synth.cli", "run", "--category", args.category, "--n", str(args.n),
                    "--seed", str(args.seed), "--workers", str(args.workers), "--offline", "--no-progress",
                    *extra, "--out", str(out)], check=True, cwd=ROOT, **run_kw)
    wall = time.perf_counter() - t0
    cpu = _children_cpu() - cpu0
    return wall, cpu, json.loads((out / "stats.json").read_text())


def ab_arguments(doc: str | None) -> argparse.Namespace:
    """The options every A/B benchmark takes: category, n, repeat, workers, seed."""
    ap = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--category", default="all")
    ap.add_argument("--n", type=int, default=300)
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--seed", type=int, default=1)
    return ap.parse_args()


def ab_rounds(args: argparse.Namespace, prefix: str, sides: dict[str, list[str]]) -> dict[str, tuple[float, float]]:
    """``args.repeat`` rounds of the same offline run once per side (``{label: extra flags}``; the
    order alternates between rounds, so a machine that gets busier favours no side); prints each
    run and returns the best (wall s, CPU s) per side."""
    import tempfile

    best = {label: (float("inf"), float("inf")) for label in sides}
    labels = list(sides)
    for r in range(args.repeat):
        for label in (labels if r % 2 == 0 else labels[::-1]):
            out = Path(tempfile.mkdtemp(prefix=prefix)) / "run"
            wall, cpu, stats = timed_synth_run(args, out, *sides[label], stderr=subprocess.DEVNULL)
            # CPU seconds per phase: the workers' (stats.json engine) and the parent's
            secs = {k: v for k, v in (stats.get("engine") or {}).items() if k.endswith("_s")}
            secs.update({k: stats[k] for k in ("generate_s", "commit_s", "parent_cpu_s") if k in stats})
            print(f"round {r + 1}, {label}: {args.n} pairs in {wall:.1f} s = {args.n / wall:.2f} pairs/s, "
                  f"{1000 * cpu / args.n:.0f} CPU ms/pair; "
                  + ", ".join(f"{k} {1000 * v / args.n:.1f} ms/pair" for k, v in sorted(secs.items())), flush=True)
            best[label] = (min(wall, best[label][0]), min(cpu, best[label][1]))
    return best
