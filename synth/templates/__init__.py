"""Offline kernel source: Jinja template families filled by a typed expression generator.

``TemplateSource(seed).sample(category)`` renders ``prompts/kernels/<category>.j2`` with a
context sampled by the category's family, ``family`` in ``synth/templates/<category>.py`` (shared
helpers in ``synth/templates/base.py``).  All randomness comes from one ``random.Random`` owned by
the instance, so a seed and a call sequence fix the output.
"""

from __future__ import annotations

import random as _random
from collections.abc import Callable

from warp_synth.records import CATEGORIES, Candidate
from warp_synth.synth.jinja_env import render
from warp_synth.synth.templates import (
    arithmetic,
    atomic,
    bitwise,
    combined,
    conditional,
    functions,
    geometry,
    linalg,
    loop,
    multi_cond,
    nested,
    scalar_param,
    spatial,
    structs,
    tiles,
    vector,
    volumes,
)
from warp_synth.synth.templates import math as math_
from warp_synth.synth.templates import random as random_
from warp_synth.synth.templates.base import Family
from warp_synth.synth.templates.describe import describe
from warp_synth.synth.templates.kernel import KernelBuilder

_MODULES = (arithmetic, conditional, loop, math_, vector, atomic, nested, multi_cond, combined, scalar_param, spatial,
            linalg, random_, bitwise, geometry, structs, functions, tiles,
            volumes)
FAMILIES: dict[str, Callable[[KernelBuilder], Family]] = {m.__name__.rpartition(".")[2]: m.family for m in _MODULES}
assert tuple(FAMILIES) == CATEGORIES


class TemplateSource:
    """Deterministic offline generator of template kernels, one category at a time."""

    def __init__(self, seed: int) -> None:
        self.seed = seed
        self._rng = _random.Random(seed)

    def sample(self, category: str) -> Candidate:
        family = FAMILIES.get(category)
        if family is None:
            raise ValueError(f"unknown category {category!r}; expected one of {', '.join(CATEGORIES)}")
        sub_seed = self._rng.getrandbits(64)
        kb = KernelBuilder(_random.Random(sub_seed))
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
        description = describe(category, variant, ctx, params, kb, source)
        return Candidate(source=source, kernel_type=category, origin="template", provenance=provenance,
                         description=description,
                         description_by={"by": "template", "approximate": False, "template": f"{category}/{variant}"})

    def exemplars(self, category: str, k: int) -> list[Candidate]:
        """``k`` exemplars of ``category`` with distinct variants where possible (LLM few-shot prompts)."""
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


def lto_warm_sources(categories: tuple[str, ...] | list[str]) -> list[str]:
    """Trusted kernels covering every MathDx configuration (shapes, layouts, block size) that the
    families of ``categories`` draw: ``extract.lto_cache.warm`` builds their LTOs once per machine,
    so no batch builds them again.  A family that draws none has no ``warm_sources``."""
    out: list[str] = []
    for m in _MODULES:
        name = m.__name__.rpartition(".")[2]
        warm = getattr(m, "warm_sources", None)
        if name in categories and warm is not None:
            out.extend(warm())
    return out
