"""How much real Warp code the static screen admits: the kernels of Warp's own examples.

    python benchmarks/screen_admission.py [--examples DIR] [--mined DIR] [--workers 2] [--templates N]

Mines the ``examples/`` folder of the installed Warp with ``synth mine`` (into a scratch folder,
~2.5 min on 2 cores; ``--mined DIR`` reuses a folder mined before) and screens every mined
record's ``python_source`` (each a self-contained module: the kernel, what it uses, its options).
Kernels that use ``wp.static`` or ``wp.func_native`` are counted apart: the screen refuses those
on purpose.  Reports the share admitted of all records and of the rest, and the rejected kernels
grouped by their first rejection message.

``--templates N`` also screens N offline candidates per category and seed 0..2 (templates and
mutants, ``OfflineCandidates``) and reports the share admitted and the screen's time per candidate.
"""

from __future__ import annotations

import argparse
import ast
import importlib.util
import re
import subprocess
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

from _scratch import scratch

from warp_synth.extract.screen import screen
from warp_synth.shards import folder_shards, iter_records


def warp_examples() -> Path:
    spec = importlib.util.find_spec("warp")  # locate without importing Warp
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("warp is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / "examples"


def uses_refused(source: str) -> bool:
    """Whether a kernel module uses wp.static or wp.func_native (refused by design)."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return False
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr in ("static", "func_native"):
            return True
        if isinstance(node, ast.Name) and node.id in ("static", "func_native"):
            return True
    return False


def mine(examples: Path, out: Path, workers: int) -> None:
    cmd = [sys.executable, "-m", "warp_synth.synth.cli", "mine", str(examples), "--out", str(out),
           "--workers", str(workers), "--no-progress"]
    t = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"synth mine failed ({proc.returncode}):\n{proc.stderr[-2000:]}")
    lines = proc.stdout.splitlines()
    summary = [line for line in lines if line.startswith("total:")]
    print(f"mined {examples} in {time.perf_counter() - t:.0f} s: {summary[0] if summary else '?'}")
    skipped = Counter(m.group(1) for line in lines if (m := re.match(r"\s+skipped [^:]+: (\w+):", line)))
    print("  not mined (never screened), by reason: " + ", ".join(f"{k} {v}" for k, v in skipped.most_common()))


def report_mined(folder: Path) -> None:
    records = list(iter_records(folder_shards(folder)))
    flags = [uses_refused(r.python_source) for r in records]
    refused = [r for r, f in zip(records, flags, strict=True) if f]
    rest = [r for r, f in zip(records, flags, strict=True) if not f]
    rejected: dict[str, list[str]] = defaultdict(list)
    admitted_all = 0
    for r, is_refused in zip(records, flags, strict=True):
        v = screen(r.python_source)
        admitted_all += v.ok
        if not v.ok and not is_refused:
            where = f"{r.metadata.get('source_file', '?')}:{r.kernel_name}"
            rejected[re.sub(r"^line \d+: ", "", v.message)].append(f"{where} (line {v.line})")
    admitted_rest = len(rest) - sum(len(v) for v in rejected.values())
    print(f"\nWarp examples: {len(records)} mined kernels; {len(refused)} use wp.static/wp.func_native "
          f"(excluded); {len(rest)} others")
    print(f"  admitted: {admitted_rest}/{len(rest)} = {100 * admitted_rest / max(len(rest), 1):.1f}% "
          f"(of the others); {admitted_all}/{len(records)} = {100 * admitted_all / max(len(records), 1):.1f}% "
          "(of all)")
    for message, kernels in sorted(rejected.items(), key=lambda kv: -len(kv[1])):
        print(f"  [{len(kernels)}] {message}")
        for k in kernels:
            print(f"        {k}")


def report_templates(n: int) -> None:
    from warp_synth.records import CATEGORIES
    from warp_synth.synth.offline import OfflineCandidates

    sources = [OfflineCandidates(seed).candidate(c, i).source for seed in range(3) for c in CATEGORIES
               for i in range(n)]
    best = float("inf")
    for _ in range(3):
        t = time.perf_counter()
        verdicts = [screen(s) for s in sources]
        best = min(best, time.perf_counter() - t)
    bad = [v for v in verdicts if not v.ok]
    print(f"\ntemplates and mutants: {len(sources) - len(bad)}/{len(sources)} admitted "
          f"({100 * (len(sources) - len(bad)) / len(sources):.2f}%); {1000 * best / len(sources):.3f} ms/candidate")
    for v in bad[:20]:
        print(f"  {v.message[:140]}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--examples", type=Path, default=None, help="folder to mine (default: the installed Warp's)")
    ap.add_argument("--mined", type=Path, default=None, help="a folder mined before (skips mining)")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--templates", type=int, default=0, metavar="N",
                    help="also screen N offline candidates per category and seed")
    args = ap.parse_args()
    if args.mined is not None:
        report_mined(args.mined)
    else:
        with scratch("screen_admission_") as d:
            out = Path(d) / "mined"
            mine(args.examples or warp_examples(), out, args.workers)
            report_mined(out)
    if args.templates:
        report_templates(args.templates)


if __name__ == "__main__":
    main()
