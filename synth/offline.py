"""Offline candidate streams: template kernels, some diversified by the libcst mutator.

Candidate ``i`` of category ``c`` is a pure function of ``(seed, c, i)``: its own RNG renders a
template and applies 0..``max_mutations`` mutation operators.  Because no candidate depends
on what happened to another, batches can be generated and compiled in parallel and a resumed
run regenerates exactly the candidates it had not yet committed.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass

from warp_synth.identity import record_id
from warp_synth.records import Candidate
from warp_synth.synth.mutators.mutate import mutate
from warp_synth.synth.templates import TemplateSource


def _derived_seed(*parts: object) -> int:
    digest = hashlib.sha256("/".join(map(str, parts)).encode()).digest()
    return int.from_bytes(digest[:8], "little")


@dataclass(slots=True)
class OfflineSource:
    seed: int
    mutation_rate: float = 0.5  # share of candidates that go through the mutator
    max_mutations: int = 3

    def candidate(self, category: str, index: int) -> Candidate:
        rng = random.Random(_derived_seed(self.seed, category, index))
        base = TemplateSource(rng.getrandbits(64)).sample(category)
        if rng.random() >= self.mutation_rate:
            return base
        source, applied = base.source, []
        for _ in range(rng.randint(1, self.max_mutations)):
            m = mutate(source, rng)
            if m is None:
                break
            source = m.source
            applied.append(m.operator)
        if not applied:
            return base
        provenance = {**base.provenance, "operators": applied}
        return Candidate(source=source, kernel_type=category, origin="mutation", provenance=provenance,
                         parent_id=record_id(base.source))
