"""Compile the same N kernels (a) one Warp module per kernel, as the seed pipeline did, and
(b) through the batched extraction engine; both backends (CPU object code + CUDA PTX) each way.

    python benchmarks/batch_vs_single.py --n 150 --workers 1 [--kernels seed synthetic templates]

Prints pairs/s for each and the ratios, per workload (default: all three; see ``workload``).
How far batching can go depends on the kernels: it removes each module's fixed compile cost,
not a kernel's own cost in the compilers, which grows with the kernel (``compile_floor.py``
measures that floor).  (a) is run twice: with Warp's default compile options,
exactly as the seed pipeline compiled (CPU -O2, CUDA -O3), and with the engine's validation
options (CPU -O0, CUDA -O3) so that one ratio isolates batching alone.  All compile sm_75 PTX.
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

from warp_synth.extract.engine import ExtractOptions, Extractor  # noqa: E402
from warp_synth.records import Accepted, Unit  # noqa: E402

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
paths, mode = json.load(sys.stdin)
t0 = time.perf_counter()
ok, errors = 0, []
for n, path in enumerate(paths):
    name = f"single_{n}"
    try:
        spec = importlib.util.spec_from_file_location(name, path)
        m = importlib.util.module_from_spec(spec); sys.modules[name] = m; spec.loader.exec_module(m)
        wm = wp.get_module(name)
        out = tempfile.mkdtemp()
        if mode == "validation":  # the engine's validation options: CPU -O0, CUDA -O3
            wm.options["optimization_level"] = 0
            wp.compile_aot_module(wm, device="cpu", module_dir=out)
            wm.options["optimization_level"] = 3
            wp.compile_aot_module(wm, arch=[75], module_dir=out, use_ptx=True)
        elif mode == "defaults":  # Warp's defaults, CPU object and CUDA PTX
            wp.compile_aot_module(wm, device="cpu", arch=[75], module_dir=out, use_ptx=True)
        else:  # "seed": Warp's defaults for the CPU, and Warp's CUDA code generated (the ModuleBuilder
            # pass Module._compile runs before NVRTC), not compiled, as the seed pipeline did
            wp.compile_aot_module(wm, device="cpu", module_dir=out)
            options = wm.resolve_options(wp.config) | {"output_arch": 75}
            source = wm._run_codegen(options, is_cpu=False)[0]
            assert "_cuda_kernel_forward" in source
        ok += 1
    except Exception as e:
        errors.append(f"{os.path.basename(path)}: {type(e).__name__}: {e}"[:300])
print(json.dumps({"seconds": time.perf_counter() - t0, "ok": ok, "errors": errors[:3]}))
"""


SINGLE_MODES = ("validation", "defaults", "seed")


def run_single(sources: list[str], mode: str = "validation") -> float:
    """Seconds to compile ``sources`` one Warp module per kernel in one process: ``validation``
    (the engine's options, CPU object + PTX), ``defaults`` (Warp's defaults, CPU object + PTX) or
    ``seed`` (Warp's defaults, CPU object + CUDA codegen only: the seed pipeline's way)."""
    assert mode in SINGLE_MODES, mode
    with tempfile.TemporaryDirectory(prefix="bench-single-") as d:
        return _run_single_in(d, sources, mode)


def _run_single_in(d: str, sources: list[str], mode: str) -> float:
    paths = []
    for i, s in enumerate(sources):
        p = os.path.join(d, f"k{i}.py")
        Path(p).write_text(s)
        paths.append(p)
    os.makedirs(os.path.join(d, "tmp"))  # the per-kernel output folders go here, and are deleted with d
    env = dict(os.environ, WARP_CACHE_PATH=os.path.join(d, "cache"), TMPDIR=os.path.join(d, "tmp"))
    # one warm-up module first so both sides start with precompiled headers in place
    warm = os.path.join(d, "warm.py")
    Path(warm).write_text(kernel_source(10**6))
    subprocess.run([sys.executable, "-c", _SINGLE], input=json.dumps([[warm], mode]), text=True, env=env,
                   capture_output=True, check=True)
    out = subprocess.run([sys.executable, "-c", _SINGLE], input=json.dumps([paths, mode]), text=True, env=env,
                         capture_output=True, check=True)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    if result["ok"] != len(sources):  # failures are fast: timing them would misstate the seed's way
        raise SystemExit(f"the one-module-per-kernel run failed on {len(sources) - result['ok']} of {len(sources)} "
                         f"kernels, e.g. {result['errors'][0]}")
    return result["seconds"]


def workload(kind: str, n: int, category: str = "all") -> list[str]:
    """``synthetic``: one fixed kernel shape with varied builtins/constants; ``seed``: the seed
    pipeline's ten small patterns (``seed_kernels.py``); ``templates``: what `synth run --category
    CAT` compiles (template source; a group or list: its categories in turn; screened)."""
    if kind == "synthetic":
        return [kernel_source(i) for i in range(n)]
    if kind == "seed":
        from seed_kernels import seed_kernel_source

        return [seed_kernel_source(i) for i in range(n)]
    from warp_synth.extract.screen import screen
    from warp_synth.records import parse_categories
    from warp_synth.synth.templates import TemplateSource

    ts, out, cats = TemplateSource(99), [], parse_categories(category)
    while len(out) < n:
        cat = cats[len(out) % len(cats)]
        src = ts.sample(cat).source
        if screen(src).ok:
            out.append(src)
    return out


def run_batched(sources: list[str], workers: int, batch_size: int) -> tuple[float, int]:
    with Extractor(ExtractOptions(workers=workers, batch_size=batch_size)) as ex:
        ex.extract([Unit(f"warm{w}", kernel_source(10**6 + w)) for w in range(workers)])  # start + PCH
        t0 = time.perf_counter()
        outs = ex.extract([Unit(str(i), s) for i, s in enumerate(sources)])
        return time.perf_counter() - t0, sum(isinstance(o, Accepted) for o in outs)


WORKLOADS = ("seed", "synthetic", "templates")


def measure(kind: str, n: int, workers: int, batch_size: int) -> dict[str, float]:
    sources = workload(kind, n)
    seed_way = run_single(sources, mode="defaults")
    single = run_single(sources, mode="validation")
    batched, ok = run_batched(sources, workers, batch_size)
    s_, a, b = n / seed_way, n / single, n / batched
    scope = " per core" if workers == 1 else f" with {workers} workers"
    print(f"kernels: {n} {kind} (CPU object code + CUDA PTX each; {ok} accepted by the engine)")
    print(f"(a)  one module per kernel, Warp defaults (the seed): {seed_way:7.1f} s  {s_:6.2f} pairs/s  (1 process)")
    print(f"(a') one module per kernel, validation options:       {single:7.1f} s  {a:6.2f} pairs/s  (1 process)")
    print(f"(b)  batched engine, validation options:              {batched:7.1f} s  {b:6.2f} pairs/s  "
          f"({workers} worker(s), batch {batch_size})")
    print(f"ratio (b)/(a):  {b / s_:.1f}x{scope}  (against the seed's way)")
    print(f"ratio (b)/(a'): {b / a:.1f}x{scope}  (batching alone)\n", flush=True)
    return {"seed_way": s_, "single": a, "batched": b}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=120)
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--batch-size", type=int, default=40)
    ap.add_argument("--kernels", nargs="+", choices=WORKLOADS, default=list(WORKLOADS),
                    help="workloads, each measured in turn (default: all three): the seed's ten small "
                         "patterns, one synthetic shape, template kernels of all ten categories")
    args = ap.parse_args()
    rows = {kind: measure(kind, args.n, args.workers, args.batch_size) for kind in args.kernels}
    if len(rows) > 1:
        print(f"{'workload':10s} {'seed way':>9s} {'batched':>9s} {'ratio':>6s}   (pairs/s, {args.workers} worker(s))")
        for kind, r in rows.items():
            print(f"{kind:10s} {r['seed_way']:9.2f} {r['batched']:9.2f} {r['batched'] / r['seed_way']:5.1f}x")


if __name__ == "__main__":
    from _scratch import scratch

    with scratch("bench-single-"):
        main()
