"""Per-operator yield of the libcst mutator: how many mutants still compile for CPU and CUDA.

    python benchmarks/mutator_yield.py [--n 3] [--seed 0] [--engine auto|subprocess] [--show-failures]

Every operator is applied ``n`` times (different rng seeds) to each seed kernel of
``synth.mutators.examples``.  *tried* counts the mutants produced (an operator with no site produces
none), *valid* those that compile on both backends.  With ``--engine auto`` the mutants go through
``extract.engine.check_sources`` (static screen + isolated compile) when it is importable, else
through a single Warp subprocess (``compile_aot_module`` for CPU and sm_75 PTX).
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from warp_synth.synth.mutators.examples import EXAMPLE_KERNELS  # noqa: E402
from warp_synth.synth.mutators.mutate import OPERATORS, mutate  # noqa: E402

_WORKER = r"""
import importlib.util, json, os, sys, tempfile
os.environ["WARP_CACHE_PATH"] = tempfile.mkdtemp()
import warp as wp
wp.config.quiet = True
wp.init()
out = []
for k, path in enumerate(sys.argv[2:]):
    name = f"mutant_{k}"
    try:
        spec = importlib.util.spec_from_file_location(name, path)
        m = importlib.util.module_from_spec(spec)
        sys.modules[name] = m
        spec.loader.exec_module(m)
        wm = wp.get_module(name)
        wm.options["optimization_level"] = 0
        wp.compile_aot_module(wm, device="cpu", arch=[75], module_dir=tempfile.mkdtemp(), use_ptx=True)
        out.append(True)
    except Exception as e:
        out.append(f"{type(e).__name__}: {e}"[-1500:])
json.dump(out, open(sys.argv[1], "w"))
"""


def compile_subprocess(sources: list[str]) -> list[bool | str]:
    with tempfile.TemporaryDirectory() as tmp:
        paths = []
        for k, src in enumerate(sources):
            path = Path(tmp) / f"mutant_{k}.py"
            path.write_text(src)
            paths.append(str(path))
        result = Path(tmp) / "out.json"
        proc = subprocess.run([sys.executable, "-c", _WORKER, str(result), *paths], capture_output=True, text=True)
        if not result.exists():
            return [f"worker crashed: {proc.stderr[-1500:]}"] * len(sources)
        return json.loads(result.read_text())


def compile_engine(sources: list[str]) -> list[bool | str]:
    from warp_synth.extract.engine import check_sources
    from warp_synth.records import Accepted

    return [
        True if isinstance(o, Accepted) else f"{o.reason}: {o.message}"  # type: ignore[union-attr]
        for o in check_sources(sources)
    ]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=3, help="attempts per (operator, seed kernel)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--engine", choices=["auto", "subprocess"], default="auto")
    ap.add_argument("--chain", type=int, default=3, help="also chain this many random mutations per sample")
    ap.add_argument("--show-failures", action="store_true")
    args = ap.parse_args(argv)

    jobs: list[tuple[str, str, str]] = []  # (operator, seed name, mutant source)
    for op in OPERATORS:
        for seed_name, source in EXAMPLE_KERNELS.items():
            for k in range(args.n):
                m = mutate(source, random.Random(f"{args.seed}:{op}:{seed_name}:{k}"), op)
                if m is not None:
                    jobs.append((op, seed_name, m.source))
    for seed_name, source in EXAMPLE_KERNELS.items():  # chains: mutants of mutants, operator chosen by mutate()
        for k in range(args.n * 3 if args.chain > 1 else 0):
            rng, current, ops = random.Random(f"{args.seed}:chain:{seed_name}:{k}"), source, []
            for _ in range(args.chain):
                m = mutate(current, rng)
                if m is not None:
                    current, ops = m.source, [*ops, m.operator]
            if ops:
                jobs.append((f"chain of {args.chain}", f"{seed_name} via {'+'.join(ops)}", current))
    unique = sorted({src for _, _, src in jobs})
    compile_fn = compile_subprocess
    if args.engine == "auto":
        try:
            import warp_synth.extract.engine  # noqa: F401

            compile_fn = compile_engine
        except ImportError:
            pass
    t0 = time.time()
    results = dict(zip(unique, compile_fn(unique), strict=True))
    took = time.time() - t0

    tried: Counter[str] = Counter()
    valid: Counter[str] = Counter()
    for op, seed_name, src in jobs:
        tried[op] += 1
        ok = results[src] is True
        valid[op] += ok
        if not ok and args.show_failures:
            print(f"--- {op} on {seed_name}: {str(results[src])[:400]}\n{src}")
    print(f"{len(jobs)} mutants ({len(unique)} distinct) compiled with {compile_fn.__name__} in {took:.0f}s")
    print(f"{'operator':<20} {'valid/tried':>12} {'yield':>7}")
    for op in [*OPERATORS, *(k for k in tried if k not in OPERATORS)]:
        rate = f"{valid[op] / tried[op]:.0%}" if tried[op] else "-"
        print(f"{op:<20} {f'{valid[op]}/{tried[op]}':>12} {rate:>7}")
    total_v = sum(v for k, v in valid.items() if k in OPERATORS)
    total_t = sum(v for k, v in tried.items() if k in OPERATORS)
    print(f"{'TOTAL (single ops)':<20} {f'{total_v}/{total_t}':>12} {total_v / max(total_t, 1):>7.0%}")
    return 0


if __name__ == "__main__":
    from _scratch import scratch

    with scratch("bench-mutator-"):
        code = main()
    raise SystemExit(code)
