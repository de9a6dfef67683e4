"""Diversity (and optionally compile validity) of the offline template source.

    python benchmarks/template_diversity.py --n 100 --seed 0
    python benchmarks/template_diversity.py --n 100 --compile 40     # also compile 40/category

Prints, per category and overall: distinct normalised sources, distinct skeleton ratio,
distinct Warp builtins and the near-duplicate rate (token 5-gram Jaccard >= 0.9 with another
sample of the whole set).  ``--compile K`` compiles the first K samples of each category for
CPU and CUDA (PTX via NVRTC) in one subprocess and prints the pass rate per category.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

from warp_synth.identity import code_tokens, normalized_source, skeleton  # noqa: E402
from warp_synth.records import parse_categories  # noqa: E402
from warp_synth.synth.templates import TemplateSource  # noqa: E402

# Names of ``wp.X`` that are decorators, types or constructors rather than builtin functions.
_NOT_BUILTINS = re.compile(
    r"^(kernel|func|struct|constant|array\d?d?|tid|types|vector|bool|u?int\d+|float\d+|"
    r"vec\d\w?|mat\d\d\w?|quat\w?|transform[hd]?|spatial_\w+)$"
)

COMPILE_WORKER = textwrap.dedent(
    """
    import importlib.util, json, os, sys, tempfile
    os.environ["WARP_CACHE_PATH"] = tempfile.mkdtemp()
    import warp as wp
    wp.config.quiet = True
    wp.init()
    out = []
    work = tempfile.mkdtemp()
    for n, src in enumerate(json.load(open(sys.argv[1]))):
        name = f"tmplcand{n}"
        path = os.path.join(work, name + ".py")
        with open(path, "w") as f:
            f.write(src)
        try:
            spec = importlib.util.spec_from_file_location(name, path)
            mod = importlib.util.module_from_spec(spec)
            sys.modules[name] = mod
            spec.loader.exec_module(mod)
            wm = wp.get_module(name)
            wm.options["optimization_level"] = 0
            wp.compile_aot_module(wm, device="cpu", arch=[75], module_dir=tempfile.mkdtemp(), use_ptx=True)
            out.append("")
        except Exception as e:
            out.append((type(e).__name__ + ": " + str(e))[-800:] or "error")
    print(json.dumps(out))
    """
)


def compile_sources(sources: list[str], timeout: float = 3600.0) -> list[str]:
    """Compile each source as its own module in one subprocess; '' means it compiled."""
    with tempfile.TemporaryDirectory() as d:
        inp = Path(d) / "sources.json"
        inp.write_text(json.dumps(sources))
        proc = subprocess.run([sys.executable, "-c", COMPILE_WORKER, str(inp)], capture_output=True,
                              text=True, timeout=timeout)
    if proc.returncode != 0:
        raise RuntimeError(f"compile worker failed: {proc.stderr[-2000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def builtins_of(source: str) -> list[str]:
    return sorted({m for m in re.findall(r"\bwp\.(\w+)\s*\(", source) if not _NOT_BUILTINS.match(m)})


def _grams(source: str, n: int = 5) -> set[tuple[str, ...]]:
    toks = code_tokens(normalized_source(source))
    return {tuple(toks[k:k + n]) for k in range(max(len(toks) - n + 1, 1))}


def near_dup_rate(sources: list[str], threshold: float = 0.9) -> float:
    grams = [_grams(s) for s in sources]
    dup = [False] * len(sources)
    for a in range(len(grams)):
        for b in range(a + 1, len(grams)):
            ga, gb = grams[a], grams[b]
            inter = len(ga & gb)
            if inter and inter / (len(ga) + len(gb) - inter) >= threshold:
                dup[a] = dup[b] = True
    return sum(dup) / max(len(sources), 1)


def report(samples: dict[str, list[str]]) -> dict[str, dict[str, float]]:
    rows: dict[str, dict[str, float]] = {}
    everything: list[str] = []
    for cat, srcs in samples.items():
        everything += srcs
        rows[cat] = _stats(srcs)
    rows["ALL"] = _stats(everything)
    return rows


def _stats(srcs: list[str]) -> dict[str, float]:
    norms = {normalized_source(s) for s in srcs}
    skels = {skeleton(s) for s in srcs}
    blt: set[str] = set()
    for s in srcs:
        blt.update(builtins_of(s))
    return {"n": len(srcs), "distinct_sources": len(norms), "skeleton_ratio": len(skels) / max(len(srcs), 1),
            "builtins": len(blt), "near_dup_rate": near_dup_rate(srcs)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=100, help="samples per category")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--compile", type=int, default=0, metavar="K", help="compile K samples per category")
    ap.add_argument("--category", default="all", metavar="CAT",
                    help="categories to sample, as synth run's --category (default: all)")
    args = ap.parse_args(argv)
    try:
        cats = parse_categories(args.category)
    except ValueError as e:
        ap.error(str(e))
    ts = TemplateSource(args.seed)
    samples = {c: [ts.sample(c).source for _ in range(args.n)] for c in cats}
    rows = report(samples)
    print(f"{'category':<14}{'n':>5}{'distinct':>10}{'skel_ratio':>12}{'builtins':>10}{'near_dup':>10}")
    for cat, r in rows.items():
        print(f"{cat:<14}{r['n']:>5}{r['distinct_sources']:>10}{r['skeleton_ratio']:>12.3f}"
              f"{r['builtins']:>10}{r['near_dup_rate']:>10.3f}")
    if args.compile:
        flat = [(c, s) for c in cats for s in samples[c][: args.compile]]
        errors = compile_sources([s for _, s in flat])
        print(f"\ncompile validity (CPU + CUDA PTX), {args.compile} per category")
        for cat in cats:
            errs = [e for (c, _), e in zip(flat, errors, strict=True) if c == cat]
            ok = sum(1 for e in errs if not e)
            print(f"{cat:<14}{ok:>4}/{len(errs):<4}{ok / max(len(errs), 1):>8.1%}")
        total_ok = sum(1 for e in errors if not e)
        print(f"{'ALL':<14}{total_ok:>4}/{len(errors):<4}{total_ok / max(len(errors), 1):>8.1%}")
        for (cat, src), e in zip(flat, errors, strict=True):
            if e:
                print(f"\n--- {cat} failure ---\n{src}\n{e}")
    return 0


if __name__ == "__main__":
    from _scratch import scratch

    with scratch("bench-templates-"):
        code = main()
    raise SystemExit(code)
