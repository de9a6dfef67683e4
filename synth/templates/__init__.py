"""Offline kernel source: Jinja template families filled by a typed expression generator.

``TemplateSource(seed).sample(category)`` renders ``prompts/kernels/<category>.j2`` with a
context sampled by the category's family, ``family`` in ``synth/templates/<category>.py`` (shared
helpers in ``synth/templates/base.py``).  All randomness comes from one ``random.Random`` owned by
the instance, so a seed and a call sequence fix the output.
"""

from __future__ import annotations

import random as _random
import re
from collections.abc import Callable

from warp_synth.extract import MATHDX_BUILTINS
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


def lto_warm_sources(categories: tuple[str, ...] | list[str], samples: int = 400, seed: int = 0) -> list[str]:
    """Trusted kernels of ``categories`` whose CUDA code needs MathDx LTOs (``tile_matmul``, Cholesky,
    solves, FFT), one per distinct configuration met in ``samples`` draws of each family:
    ``extract.lto_cache.warm`` builds their LTOs once per machine, so batches find them built.
    Configurations are told apart by what an LTO depends on (the module's constants, block size,
    dtype, the tile builtins called), read from the rendered text."""
    out: dict[tuple[object, ...], str] = {}
    ts = TemplateSource(seed)
    for category in categories:
        if category not in _MATHDX_FAMILIES:
            continue
        for _ in range(samples):
            src = ts.sample(category).source
            called = frozenset(_CALL.findall(src))
            if called & MATHDX_BUILTINS:
                key = (tuple(_CONST.findall(src)), tuple(_BLOCK.findall(src)), "float64" in src, called)
                out.setdefault(key, src)
    return list(out.values())


_MATHDX_FAMILIES = frozenset({"tiles"})  # the families that draw MathDx builtins
_CALL = re.compile(r"\bwp\.(tile_\w+)\(")
_CONST = re.compile(r"^\w+ = wp\.constant\((.*)\)$", re.M)
_BLOCK = re.compile(r"[\"']block_dim[\"']: *(\d+)")
