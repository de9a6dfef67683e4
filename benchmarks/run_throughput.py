"""End-to-end throughput of `synth run` (offline, 2 workers) against one-Warp-module-per-kernel
baselines run on the same accepted kernels, in the same invocation.

    python benchmarks/run_throughput.py --category seed --n 300 --seed-sample 80 [--cuda-check both]

(a)  `synth run --category CAT --n N --workers 2 --cuda-check LEVEL` (default `frontend`, the
     default level; `both` runs `frontend` and then `ptx` on the same seed, i.e. the same kernels):
     accepted pairs/s over the run's whole wall time (candidate generation, screening, dedup, batched
     compile: a CPU object, and the CUDA unit through NVRTC's front end or to PTX; writing);
(b)  the seed's way on the first `--seed-sample` of the very kernels (a) accepted: one module per
     kernel, Warp's default options, a full CPU compile plus CUDA *codegen only* (no NVRTC): pairs/s;
(b2) the same with a CUDA compile to PTX added (Warp's defaults: CPU -O2, CUDA -O3, sm_75 PTX);
(b') (b2) with the engine's validation options (CPU -O0, CUDA -O3), isolating batching and
     parallelism from the choice of options.
(a) is compile-only (`--no-execute`), as the seed's way is, unless `--execute`.
(b), (b2) and (b') only compile (one process, one core); they do no generation or writing, which
favours them.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

from _runs import timed_synth_run  # noqa: E402
from batch_vs_single import run_single  # noqa: E402

from warp_synth.extract import CUDA_CHECKS  # noqa: E402
from warp_synth.shards import find_shards, iter_records  # noqa: E402


def synth_run(args: argparse.Namespace, level: str) -> tuple[list[str], float, dict]:
    base = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="bench-run-"))
    out = base / f"{args.category}-{level}"
    if out.exists():
        raise SystemExit(f"run_throughput: {out} exists; give --keep a new folder")
    wall, cpu, stats = timed_synth_run(args, out, "--cuda-check", level, *([] if args.execute else ["--no-execute"]))
    stats["run_cpu_s"] = cpu  # the whole run: synth, its pool and every worker
    stats["out"] = str(out)
    return [r.python_source for r in iter_records(find_shards([out]))], wall, stats


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=400)
    ap.add_argument("--seed-sample", type=int, default=80)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--category", default="seed",
                    help="synth run's --category (default: seed, the seed's ten categories, balanced)")
    ap.add_argument("--keep", metavar="DIR", help="write the runs to DIR/<category>-<level> and keep them "
                    "(e.g. for compile_floor.py --from); default: a scratch folder, removed")
    ap.add_argument("--cuda-check", choices=(*CUDA_CHECKS, "both"), default="frontend",
                    help="the level of (a), or both levels in turn (default: frontend, synth run's default)")
    ap.add_argument("--execute", action="store_true",
                    help="(a) also runs every kernel and checks its adjoint (synth run's default); without it (a) "
                         "is compile-only, --no-execute, the work the seed's way does (b)")
    args = ap.parse_args()
    levels = CUDA_CHECKS if args.cuda_check == "both" else (args.cuda_check,)
    runs = {level: synth_run(args, level) for level in levels}
    sources = runs[levels[0]][0]
    sample = sources[: args.seed_sample]
    seed_way = run_single(sample, mode="seed")
    seed_ptx = run_single(sample, mode="defaults")
    single = run_single(sample, mode="validation")
    b, b2, b3 = len(sample) / seed_way, len(sample) / seed_ptx, len(sample) / single
    rates = {}
    for level, (srcs, wall, stats) in runs.items():
        eng = stats.get("engine", {})
        rates[level] = len(srcs) / wall
        cpu = {k: eng.get(f"{k}_s", 0.0) for k in ("cpu_compile", "cuda_compile", "codegen")}
        print(f"(a)  synth run --cuda-check {level}, {args.workers} workers: {len(srcs)} pairs in {wall:.1f} s wall = "
              f"{rates[level]:.2f} pairs/s  (worker CPU s: clang {cpu['cpu_compile']:.1f}, nvrtc "
              f"{cpu['cuda_compile']:.1f}, codegen {cpu['codegen']:.1f})")
        n = max(1, len(srcs))
        print(f"     CPU per accepted pair: {1000 * stats['run_cpu_s'] / n:.1f} ms in all (the run and every process it "
              f"started); this process (parent) {1000 * stats.get('parent_cpu_s', 0.0) / n:.1f} ms, of which "
              f"generating candidates {1000 * stats.get('generate_s', 0.0) / n:.1f} ms and committing "
              f"{1000 * stats.get('commit_s', 0.0) / n:.1f} ms" + (f"; kept in {stats['out']}" if args.keep else ""))
    print(f"(b)  one module per kernel, Warp defaults, CPU object + CUDA codegen only (the seed's way), 1 process: "
          f"{len(sample)} of the same kernels in {seed_way:.1f} s = {b:.2f} pairs/s")
    print(f"(b2) one module per kernel, Warp defaults, CPU object + CUDA PTX, 1 process: {seed_ptx:.1f} s = "
          f"{b2:.2f} pairs/s")
    print(f"(b') one module per kernel, validation options (CPU -O0, CUDA -O3 PTX), 1 process: {single:.1f} s = "
          f"{b3:.2f} pairs/s")
    for level, a in rates.items():
        print(f"ratio (a:{level})/(b):  {a / b:.1f}x  (against the seed's way)")
        print(f"ratio (a:{level})/(b2): {a / b2:.1f}x  (against one module per kernel with PTX)")
        print(f"ratio (a:{level})/(b'): {a / b3:.1f}x  (batching + {args.workers} workers + check level)")


if __name__ == "__main__":
    from _scratch import scratch

    with scratch("bench-run-"):
        main()
