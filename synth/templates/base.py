"""Family base: what the template families share.

Each family (one module per category, ``synth/templates/<category>.py`` next to
``prompts/kernels/<category>.j2``) exposes ``family(kb)``: it takes a fresh ``KernelBuilder``, samples
a structural variant and its parameters, and returns ``(variant, context, params)`` (a ``Family``):
``context`` renders ``prompts/kernels/<category>.j2`` and ``params`` summarises the sample for
provenance.  This module holds the helpers used by two or more families.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

from warp_synth.synth.templates.exprgen import paren
from warp_synth.synth.templates.kernel import KernelBuilder
from warp_synth.synth.templates.types import I32, Ty, mat, scalar

Family = tuple[str, dict[str, Any], dict[str, Any]]


# Atomic builtins Warp 1.19 accepts per array scalar type (CPU and CUDA alike).
ATOMIC_OPS = {
    "float16": ("add", "sub"),
    "float32": ("add", "sub", "min", "max"),
    "float64": ("add", "sub", "min", "max"),
    "int32": ("add", "sub", "min", "max"),
    "int64": ("add", "sub", "min", "max"),
}
TILE_FNS = ("sin", "cos", "exp", "sqrt", "abs", "tanh", "log")  # no floor: 0 on every input in [0.25, 1)


class Draws:
    """What the domain families' kernel writers share: ``self.r`` (the family's RNG) and ``self.f32``
    (float32 rather than float64) are set by the subclass."""

    r: random.Random
    f32: bool
    kb: KernelBuilder
    a: dict[str, Any]  # role -> the name (or value) chosen for it

    def c(self, text: str) -> str:
        """A float literal in the kernel's precision."""
        return text if self.f32 else f"wp.float64({text})"

    def pick(self, *options: Any) -> Any:
        return self.r.choice(options)

    def coin(self, p: float = 0.5) -> bool:
        return self.r.random() < p

    def _name(self, role: str, names: tuple[str, ...]) -> str:
        """A fresh name for ``role``, one of ``names``, remembered in ``self.a``."""
        name = self.a[role] = self.kb.names._fresh(self.r.choice(names))
        return name


@dataclass(slots=True)
class Io:
    ins: list[tuple[str, str]] = field(default_factory=list)  # (array, local holding its element)
    outs: list[str] = field(default_factory=list)
    loads: list[str] = field(default_factory=list)


def value_ty(kb: KernelBuilder, dtype: str, *, p_vec: float = 0.2, p_mat: float = 0.08) -> Ty:
    r = kb.rng.random()
    if r < p_vec:
        return kb.vec_ty(dtype, allow_long=dtype != "float16")
    if r < p_vec + p_mat and dtype.startswith("float"):
        return mat(kb.rng.choice((2, 3, 4)), dtype)
    return scalar(dtype)


def io(kb: KernelBuilder, ty: Ty, n_in: int, n_out: int, ndim: int, *, out_ty: Ty | None = None) -> Io:
    """Declare input/output arrays, ``wp.tid()`` and the loads of the inputs into locals."""
    res = Io()
    names_in = [kb.names.array() for _ in range(n_in)]
    names_out = [kb.names.array() for _ in range(n_out)]
    params = [(n, ty) for n in names_in] + [(n, out_ty or ty) for n in names_out]
    if kb.rng.random() < 0.3:
        kb.rng.shuffle(params)
    for n, t in params:
        kb.array(t, ndim, n)
    kb.tid(ndim)
    for a in names_in:
        loc = kb.names.local()
        res.loads.append(f"{loc} = {kb.at(a)}")
        kb.scope.add(loc, ty)
        res.ins.append((a, loc))
    res.outs = names_out
    return res


def tile_setup(kb: KernelBuilder, dtype: str) -> tuple[str, str, str]:
    # no wider than a row of the launch's arrays: a tile reaching past the row is zero-padded (its min is 0)
    tile = kb.const(I32, str(kb.rng.choice((8, 16, 16))))
    return tile, *kb.tid(2)


def anchored(kb: KernelBuilder, ty: Ty, e: str, deps: list[str]) -> str:
    """``e`` combined with an input value ``deps`` holds (all of type ``ty``) unless it is one: a stored
    result then always depends on the kernel's inputs (constant folds, saturating casts and branches
    that never run would otherwise leave it input-independent)."""
    if not deps or e.lstrip("(-").rstrip(")") in deps or ty.kind == "bool":  # x, -x, (-x)
        return e
    plain = [d for d in deps if f"-{d}" not in e and f"- {d}" not in e]  # e + x must not cancel a -x in e
    x = kb.rng.choice(plain or deps)
    if ty.kind in ("quat", "transform"):
        return f"{x} * {paren(e)}"
    form = kb.rng.choice(("{e} + {x}", "{x} + {e}", "{e} + {x}"))  # no ``x - e``: e may be x
    return form.format(e=paren(e), x=x)
