"""What the sandbox costs: `synth run` with it and with `--no-sandbox`, same kernels, same machine.

    python benchmarks/sandbox_cost.py --category all --n 300 --repeat 2

Each round runs the same offline command twice (the two orders alternate between rounds, so a
machine that gets busier does not favour one side) and measures wall time and the CPU seconds
of the run and everything it started.  Prints the best of ``--repeat`` rounds for each side:
accepted pairs/s, CPU ms per pair, and the sandboxed side's cost as a share of the other's.
"""

from __future__ import annotations

import argparse
import subprocess
import tempfile
from pathlib import Path

from _runs import timed_synth_run


def one_run(args: argparse.Namespace, sandboxed: bool, out: Path) -> tuple[float, float, dict]:
    return timed_synth_run(args, out, *([] if sandboxed else ["--no-sandbox"]), stderr=subprocess.DEVNULL)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--category", default="all")
    ap.add_argument("--n", type=int, default=300)
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    best = {s: (float("inf"), float("inf")) for s in (True, False)}
    for r in range(args.repeat):
        for sandboxed in ((True, False) if r % 2 == 0 else (False, True)):
            out = Path(tempfile.mkdtemp(prefix="bench-sandbox-")) / "run"
            wall, cpu, stats = one_run(args, sandboxed, out)
            layers = stats.get("sandbox", {}).get("mode", "?")
            print(f"round {r + 1}, sandbox {'on ' if sandboxed else 'off'} ({layers}): {args.n} pairs in "
                  f"{wall:.1f} s = {args.n / wall:.2f} pairs/s, {1000 * cpu / args.n:.0f} CPU ms/pair", flush=True)
            best[sandboxed] = (min(wall, best[sandboxed][0]), min(cpu, best[sandboxed][1]))
    (won, con), (woff, coff) = best[True], best[False]
    print(f"best of {args.repeat}: sandbox on {args.n / won:.2f} pairs/s, {1000 * con / args.n:.0f} CPU ms/pair; "
          f"off {args.n / woff:.2f} pairs/s, {1000 * coff / args.n:.0f} CPU ms/pair")
    print(f"sandbox cost: {100 * (won / woff - 1):+.1f}% wall time, {100 * (con / coff - 1):+.1f}% CPU per pair")


if __name__ == "__main__":
    from _scratch import scratch

    with scratch("bench-sandbox-"):
        main()
