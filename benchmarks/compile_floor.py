"""The per-kernel compile floor: what one more kernel costs inside Warp's compilers once every
fixed cost is paid, and so the best ratio *any* batching engine could reach against the seed's
one-module-per-kernel way on this machine.

    python benchmarks/compile_floor.py --kernels templates --n 60

Compiles the first N kernels through the extraction worker as one batch, then the first 2N as one
batch, timing Warp's CPU compiler (Clang, -O0), NVRTC at both CUDA check levels (``--cuda-check
frontend``: the front end alone, ``--fdevice-syntax-only``; ``ptx``: a full compile to PTX, -O3) and
the Warp codegen/loading step, each the best of `--repeat` rounds (the machine is shared, and a
difference of two timings is noise-prone).  The marginal cost per kernel is (t(2N) - t(N)) / N: the
part that batching cannot remove, because every kernel's own forward and backward code must go
through both compilers.  It then times the seed's way (one Warp module per kernel, Warp's default
options: a full CPU compile plus CUDA *codegen only*, no NVRTC) on the N kernels that make the
difference, and the same with a CUDA compile to PTX added, and prints, per check level,

    ceiling per core = seed-way seconds per kernel / marginal seconds per kernel

which an engine with zero overhead would reach.  Two workers on two cores do not compile twice
as fast as one: they share caches and memory bandwidth.  ``--concurrent 2`` measures the floor
with two processes compiling at once (each on its own kernels, as `synth run --workers 2` does)
and prints the 2-worker ceiling from that, instead of assuming twice the per-core figure.  The
workloads are those of `batch_vs_single.py`, or ``--from DIR``: the kernels a `synth run` wrote
to DIR (templates *and* mutants, so the very mix `run_throughput.py` measures end to end).

The kernels are the project's own templates/benchmark kernels (trusted), so the worker runs in
this process here; `synth run` always uses isolated worker processes.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from batch_vs_single import kernel_source, run_single, workload  # noqa: E402

from warp_synth.extract import CUDA_CHECKS  # noqa: E402


def _timed(counter: Counter[str], label: str, fn: Callable[..., Any]) -> Callable[..., Any]:
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        t0 = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            counter[label] += time.perf_counter() - t0
    return wrapper


LEVELS = CUDA_CHECKS  # the CUDA check levels of `synth run --cuda-check`
PHASES = ("codegen", "cpu", *(f"cuda_{level}" for level in LEVELS))


def _timed_cuda(counter: Counter[str], fn: Callable[..., Any]) -> Callable[..., Any]:
    """``compile_cuda`` timed under ``cuda_<level>``."""
    def wrapper(cu_path: str, out_path: str, options: dict[str, Any], level: str = "ptx") -> Any:
        return _timed(counter, f"cuda_{level}", fn)(cu_path, out_path, options, level)
    return wrapper


def marginal_costs(sources: list[str], n: int, repeat: int) -> tuple[dict[str, float], list[str]]:
    """Seconds per kernel for each phase (CUDA at each check level), from a batch of the first n good
    kernels and a batch of the first 2n (each phase's best of ``repeat`` rounds); also returns the n
    kernels that make the difference (the kernels differ, so t(n) - n * marginal is no estimate of
    the fixed cost)."""
    from warp_synth.extract import worker as worker_mod

    os.chdir(tempfile.mkdtemp(prefix="bench-floor-"))
    w = worker_mod.Worker()
    spent: Counter[str] = Counter()
    w._load = _timed(spent, "codegen", w._load)  # type: ignore[method-assign]
    w.wa.compile_cpu = _timed(spent, "cpu", w.wa.compile_cpu)
    w.wa.compile_cuda = _timed_cuda(spent, w.wa.compile_cuda)

    def process(batch: list[str], level: str) -> list[dict[str, Any]]:
        batch_dir = tempfile.mkdtemp(prefix="batch_", dir=os.getcwd())
        return w.process([{"key": str(i), "source": s} for i, s in enumerate(batch)], False, 128,
                         batch_dir=batch_dir, cuda_check=level)

    for level in LEVELS:  # precompiled headers, for each NVRTC
        process([kernel_source(10**6)], level)
    # keep only kernels that compile, so no bisection or re-check muddies the timings
    first = process(sources, "ptx")
    good = [s for s, o in zip(sources, first, strict=True) if o.get("reason") is None][: 2 * n]
    if len(good) < 2 * n:
        raise SystemExit(f"only {len(good)} of {len(sources)} kernels compile; lower --n")
    best = [dict.fromkeys(PHASES, float("inf")) for _ in range(2)]
    for _ in range(repeat):  # alternate the two sizes (and levels) so that a slow spell hits all alike
        for level in LEVELS:
            for j, batch in enumerate((good[:n], good)):
                spent.clear()
                out = process(batch, level)
                assert all(o.get("reason") is None for o in out), "a kernel failed on a later pass"
                best[j] = {k: min(best[j][k], spent[k]) if k in spent else best[j][k] for k in PHASES}
    return {k: (best[1][k] - best[0][k]) / n for k in PHASES}, good[n:]


def kernels(args: argparse.Namespace, count: int, skip: int = 0) -> list[str]:
    """``count`` kernels of the chosen workload, after the first ``skip``."""
    if args.from_dir is None:
        return workload(args.kernels, skip + count, args.category)[skip:]
    from warp_synth.shards import find_shards, iter_records

    rows = [r.python_source for r in iter_records(find_shards([Path(args.from_dir)]))]
    if len(rows) < skip + count:
        raise SystemExit(f"{args.from_dir} holds {len(rows)} records; --n {args.n} needs {skip + count}")
    return rows[skip : skip + count]


def concurrent_costs(args: argparse.Namespace, k: int) -> tuple[dict[str, float], list[str]]:
    """The marginal costs measured in ``k`` processes at once, each on its own kernels (mean of the
    processes' figures); also the kernels one of them used, for the seed's-way timing."""
    procs = []
    for i in range(k):
        env = dict(os.environ, WARP_CACHE_PATH=tempfile.mkdtemp(prefix="bench-floor-cache-"))
        cmd = [sys.executable, __file__, "--kernels", args.kernels, "--category", args.category, "--n", str(args.n),
               "--repeat", str(args.repeat), "--child", str(i)]
        if args.from_dir is not None:
            cmd += ["--from", args.from_dir]
        procs.append(subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, env=env))
    results = []
    for p in procs:
        out, _ = p.communicate()
        if p.returncode:
            raise SystemExit(f"a measuring process failed (exit {p.returncode})")
        results.append(json.loads(out.strip().splitlines()[-1]))
    per = {ph: sum(r["per"][ph] for r in results) / k for ph in results[0]["per"]}
    return per, results[0]["good"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--kernels", choices=("templates", "synthetic", "seed"), default="templates")
    ap.add_argument("--category", default="seed",
                    help="template category, group or list for --kernels templates (default: seed, the seed's ten)")
    ap.add_argument("--n", type=int, default=60, help="batch sizes N and 2N (default 60)")
    ap.add_argument("--repeat", type=int, default=3,
                    help="rounds; each timing is the best of them, the machine being shared (default 3)")
    ap.add_argument("--concurrent", type=int, default=1,
                    help="measure the floor with this many processes compiling at once (default 1)")
    ap.add_argument("--from", dest="from_dir", metavar="DIR", default=None,
                    help="take the kernels from the records of a synth run folder instead of --kernels")
    ap.add_argument("--child", type=int, default=None, help=argparse.SUPPRESS)  # one of --concurrent's processes
    args = ap.parse_args()
    count = int(args.n * 2.2) + 2
    if args.child is not None:  # kernels of its own: skip the ones the other processes compile
        sources = kernels(args, count, skip=count * args.child)
        per, good = marginal_costs(sources, args.n, args.repeat)
        print(json.dumps({"per": per, "good": good}))
        return
    if args.concurrent > 1:
        per, good = concurrent_costs(args, args.concurrent)
    else:
        per, good = marginal_costs(kernels(args, count), args.n, args.repeat)
    seeds = {  # seconds per kernel, best of --repeat
        "codegen": min(run_single(good, mode="seed") for _ in range(args.repeat)) / len(good),
        "ptx": min(run_single(good, mode="defaults") for _ in range(args.repeat)) / len(good),
    }
    seed_names = {"codegen": "CPU object + CUDA codegen only: the seed's way",
                  "ptx": "CPU object + CUDA PTX"}
    what = f"{args.kernels} ({args.category})" if args.kernels == "templates" else args.kernels
    if args.from_dir is not None:
        what = f"the records of {args.from_dir}"
    where = f"; {args.concurrent} processes compiling at once" if args.concurrent > 1 else ""
    print(f"kernels: {what}; marginal cost per kernel (batch of {args.n} vs {2 * args.n}, best of {args.repeat}"
          f"{where}):")
    labels = {"cpu": "cpu (clang -O0)", "cuda_frontend": "cuda, frontend", "cuda_ptx": "cuda, ptx",
              "codegen": "codegen"}
    for k in ("cpu", "cuda_frontend", "cuda_ptx", "codegen"):
        print(f"  {labels[k]:16s} {1000 * per[k]:6.1f} ms")
    floors = {level: per["cpu"] + per[f"cuda_{level}"] + per["codegen"] for level in LEVELS}
    for level, floor in floors.items():
        print(f"  floor, {level:9s} {1000 * floor:6.1f} ms  -> at most {1 / floor:5.1f} pairs/s per core")
    print("one Warp module per kernel, Warp's default options, 1 process:")
    for name, seed_s in seeds.items():
        print(f"  {seed_names[name]:48s} {1000 * seed_s:6.1f} ms/kernel = {1 / seed_s:5.2f} pairs/s")
    for level, floor in floors.items():
        for name, seed_s in seeds.items():
            against = f"--cuda-check {level} vs {seed_names[name].split(':')[0]}"
            if args.concurrent > 1:
                k = args.concurrent
                print(f"ceiling, {against}: {k * seed_s / floor:4.1f}x with {k} workers on {k} cores (measured "
                      f"under {k}-way concurrency), {seed_s / floor:4.1f}x per worker")
            else:
                print(f"ceiling, {against}: {seed_s / floor:4.1f}x per core, {2 * seed_s / floor:4.1f}x with 2 "
                      "workers on 2 cores if two compile as fast as one (see --concurrent 2)")


if __name__ == "__main__":
    from _scratch import scratch

    with scratch("bench-floor-"):
        main()
