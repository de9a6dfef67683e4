"""What execution and the adjoint check cost: `synth run` with them (the default) and with
`--no-execute`, same kernels, same machine.

    python benchmarks/execution_cost.py --category all --n 300 --repeat 2

The executed side compiles its CPU objects with Warp's array bounds checks and runs every
kernel (forward twice, a second input draw, the backward pass and 6 finite-difference launches);
the other compiles in release mode and runs nothing.  Prints the best of ``--repeat`` rounds for
each side (accepted pairs/s, CPU ms per accepted pair, stats.json's phase seconds per pair) and
the executed side's extra CPU per accepted kernel as a share of the other's (issue target: <= 30%).
"""

from __future__ import annotations

from _runs import ab_arguments, ab_rounds


def main() -> None:
    args = ab_arguments(__doc__)
    best = ab_rounds(args, "bench-exec-", {"executed": [], "--no-execute": ["--no-execute"]})
    (we, ce), (wn, cn) = best["executed"], best["--no-execute"]
    print(f"best of {args.repeat}: executed {args.n / we:.2f} pairs/s, {1000 * ce / args.n:.0f} CPU ms/pair; "
          f"--no-execute {args.n / wn:.2f} pairs/s, {1000 * cn / args.n:.0f} CPU ms/pair")
    print(f"execution cost: {100 * (ce / cn - 1):+.1f}% CPU per accepted kernel, {100 * (we / wn - 1):+.1f}% wall time")


if __name__ == "__main__":
    from _scratch import scratch

    with scratch("bench-exec-"):
        main()
