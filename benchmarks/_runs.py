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
