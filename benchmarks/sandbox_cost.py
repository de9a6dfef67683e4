"""What the sandbox costs: `synth run` with it and with `--no-sandbox`, same kernels, same machine.

    python benchmarks/sandbox_cost.py --category all --n 300 --repeat 2

Each round runs the same offline command twice (the two orders alternate between rounds, so a
machine that gets busier does not favour one side) and measures wall time and the CPU seconds
of the run and everything it started.  Prints the best of ``--repeat`` rounds for each side:
accepted pairs/s, CPU ms per pair, and the sandboxed side's cost as a share of the other's.
"""

from __future__ import annotations

from _runs import ab_arguments, ab_rounds


def main() -> None:
    args = ab_arguments(__doc__)
    best = ab_rounds(args, "bench-sandbox-", {"sandbox on": [], "sandbox off": ["--no-sandbox"]})
    (won, con), (woff, coff) = best["sandbox on"], best["sandbox off"]
    print(f"best of {args.repeat}: sandbox on {args.n / won:.2f} pairs/s, {1000 * con / args.n:.0f} CPU ms/pair; "
          f"off {args.n / woff:.2f} pairs/s, {1000 * coff / args.n:.0f} CPU ms/pair")
    print(f"sandbox cost: {100 * (won / woff - 1):+.1f}% wall time, {100 * (con / coff - 1):+.1f}% CPU per pair")


if __name__ == "__main__":
    from _scratch import scratch

    with scratch("bench-sandbox-"):
        main()
