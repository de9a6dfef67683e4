"""Offline kernel source: Jinja template families filled by a typed expression generator.

``TemplateSource(seed).sample(category)`` renders ``prompts/kernels/<category>.j2`` with a
context sampled by the category's family (``synth._tmpl_families*``).  All randomness comes
from one ``random.Random`` owned by the instance, so a seed and a call sequence fix the output.
"""

from __future__ import annotations

import random
from collections.abc import Callable

from warp_synth.records import CATEGORIES, Candidate
from warp_synth.synth.jinja_env import render
from warp_synth.synth.templates import families_a as fam1
from warp_synth.synth.templates import families_b as fam2
from warp_synth.synth.templates.kernel import KernelBuilder

FAMILIES: dict[str, Callable[[KernelBuilder], fam1.Family]] = {
    "arithmetic": fam1.arithmetic,
    "conditional": fam1.conditional,
    "loop": fam1.loop,
    "math": fam1.math_,
    "vector": fam1.vector,
    "atomic": fam2.atomic,
    "nested": fam2.nested,
    "multi_cond": fam2.multi_cond,
    "combined": fam2.combined,
    "scalar_param": fam2.scalar_param,
}
assert tuple(FAMILIES) == CATEGORIES


class TemplateSource:
    """Deterministic offline generator of template kernels, one category at a time."""

    def __init__(self, seed: int) -> None:
        self.seed = seed
        self._rng = random.Random(seed)

    def sample(self, category: str) -> Candidate:
        family = FAMILIES.get(category)
        if family is None:
            raise ValueError(f"unknown category {category!r}; expected one of {', '.join(CATEGORIES)}")
        sub_seed = self._rng.getrandbits(64)
        kb = KernelBuilder(random.Random(sub_seed))
        variant, ctx, params = family(kb)
        source = render(f"kernels/{category}.j2", **kb.context(**ctx))
        provenance = {
            "template": f"{category}/{variant}",
            "seed": self.seed,
            "sub_seed": sub_seed,
            "kernel": kb.kname,
            "builtins": sorted(dict.fromkeys(kb.gen.used)),
            **params,
        }
        return Candidate(source=source, kernel_type=category, origin="template", provenance=provenance)

    def seeds(self, category: str, k: int) -> list[Candidate]:
        """``k`` exemplars of ``category`` with distinct variants where possible (LLM few-shot seeds)."""
        out: list[Candidate] = []
        seen: list[str] = []
        for _ in range(k * 8):
            c = self.sample(category)
            if c.provenance["template"] in seen and len(out) + (8 * k - len(seen)) > k:
                continue
            seen.append(c.provenance["template"])
            out.append(c)
            if len(out) == k:
                break
        while len(out) < k:
            out.append(self.sample(category))
        return out
