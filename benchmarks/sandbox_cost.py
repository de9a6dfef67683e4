"""What the sandbox costs: `synth run` with it and with `--no-sandbox`, same kernels, same machine.

    python benchmarks/sandbox_cost.py --category all --n 300 --repeat 2

Each round runs the same offline command twice (the two orders alternate between rounds, so a
machine that gets busier does not favour one side) and measures wall time and the CPU seconds
of the run and everything it started.  Prints the best of ``--repeat`` rounds for each side:
accepted pairs/s, CPU ms per pair, and the sandboxed side's cost as a share of the other's.
"""

from __future__ import annotations

import argparse

from _runs import ab_rounds


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--category", default="all")
    ap.add_argument("--n", type=int, default=300)
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    best = ab_rounds(args, "bench-sandbox-", {"sandbox on": [], "sandbox off": ["--no-sandbox"]})
    (won, con), (woff, coff) = best["sandbox on"], best["sandbox off"]
    print(f"best of {args.repeat}: sandbox on {args.n / won:.2f} pairs/s, {1000 * con / args.n:.0f} CPU ms/pair; "
          f"off {args.n / woff:.2f} pairs/s, {1000 * coff / args.n:.0f} CPU ms/pair")
    print(f"sandbox cost: {100 * (won / woff - 1):+.1f}% wall time, {100 * (con / coff - 1):+.1f}% CPU per pair")


if __name__ == "__main__":
    from _scratch import scratch

    with scratch("bench-sandbox-"):
        main()
