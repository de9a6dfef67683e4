"""CPU cost of making offline candidates in the parent process, alone on a core.

    python benchmarks/generation_cost.py --n 100 --repeat 3

Times what `synth run` does per offline candidate before it is sent to a worker (render a template,
apply the libcst mutator to half of them, hash the record id) over every category, and prints the
best of `--repeat` rounds in ms of CPU per candidate, overall and per category.  Inside a run the
same work competes with two compiling workers for two cores, so `stats.json`'s `generate_s` per
accepted kernel comes out higher; `run_throughput.py` prints that figure.
"""

from __future__ import annotations

import argparse
import contextlib
import time
from collections.abc import Iterator

import warp_synth.synth.offline as offline
import warp_synth.synth.templates as templates
from warp_synth.identity import record_id
from warp_synth.records import CATEGORIES
from warp_synth.synth.offline import OfflineCandidates


@contextlib.contextmanager
def without_descriptions() -> Iterator[None]:
    """Candidates made as before descriptions existed (the same sources: describing draws nothing)."""
    describe, redescribe = templates.describe, offline.redescribe
    templates.describe = lambda *a, **k: None  # type: ignore[assignment]
    offline.redescribe = lambda text, old, new: text  # type: ignore[assignment]
    try:
        yield
    finally:
        templates.describe, offline.redescribe = describe, redescribe


def one_round(n: int, seed: int) -> dict[str, float]:
    gen = OfflineCandidates(seed=seed)
    out = {}
    for c in CATEGORIES:
        t0 = time.process_time()
        for i in range(n):
            record_id(gen.candidate(c, i).source)
        out[c] = (time.process_time() - t0) / n
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=100, help="candidates per category per round (default 100)")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    best: dict[str, float] = {}
    bare: dict[str, float] = {}
    for _ in range(args.repeat):  # alternating rounds: with descriptions (as synth run does), then without
        for c, s in one_round(args.n, args.seed).items():
            best[c] = min(best.get(c, s), s)
        with without_descriptions():
            for c, s in one_round(args.n, args.seed).items():
                bare[c] = min(bare.get(c, s), s)
    for c in CATEGORIES:
        print(f"  {c:<13} {1000 * best[c]:6.2f} ms")
    mean, mean_bare = (1000 * sum(d.values()) / len(d) for d in (best, bare))
    print(f"generation, all {len(best)} categories: {mean:.2f} ms of CPU per candidate "
          f"(best of {args.repeat} rounds of {args.n} per category); without descriptions {mean_bare:.2f} ms "
          f"(descriptions +{100 * (mean / mean_bare - 1):.0f}%)")


if __name__ == "__main__":
    main()
