"""Scalar-parameter family: kernels driven by non-array parameters.

Every kernel takes one to five value parameters (mostly scalars of the array dtype, sometimes
vectors or matrices) besides its arrays.  Variants: ``coeffs`` (two to five of them), ``bound`` (an
``int`` parameter bounds a loop), ``flag`` (a ``bool`` parameter guards a branch), ``vec_param``
(``vec3`` and maybe ``mat33`` parameters, float dtypes), ``struct_param`` (a ``@wp.struct``
parameter) and ``mixed`` (vector, struct and ``bool`` parameters together).
"""

from __future__ import annotations

from typing import Any

from warp_synth.synth.templates.base import Family, anchored, io, value_ty
from warp_synth.synth.templates.kernel import KernelBuilder
from warp_synth.synth.templates.types import I32, mat, scalar, vec


def family(kb: KernelBuilder) -> Family:
    kb.gen.palette = ("arith", "minmax", "math", "interp", "cast", "call", "where", "linalg")
    variant = kb.rng.choice(("coeffs", "bound", "flag", "vec_param", "struct_param", "mixed"))
    dtype = kb.pick_dtype()
    ty = value_ty(kb, dtype, p_vec=0.15, p_mat=0.0)
    ndim = kb.pick_ndim()
    ctx: dict[str, Any] = {"variant": variant, "temps": [], "else_body": []}
    res = io(kb, ty, kb.rng.choice((1, 2)), 1, ndim)
    ctx["loads"] = res.loads
    n_scalars = kb.rng.randint(1, 4) if variant != "coeffs" else kb.rng.randint(2, 5)
    for _ in range(n_scalars):
        kb.scalar_param(scalar(dtype) if kb.rng.random() < 0.8 else value_ty(kb, dtype))
    if variant in ("vec_param", "mixed") and dtype.startswith("float"):
        kb.scalar_param(vec(3, dtype))
        if kb.rng.random() < 0.4:
            kb.scalar_param(mat(3, dtype))
    if variant in ("struct_param", "mixed"):
        sname, fields = kb.struct([scalar(dtype)] * kb.rng.randint(1, 3) + [ty] * kb.rng.choice((0, 1)) + [I32])
        kb.struct_param(sname, fields)
    flag = None
    if variant in ("flag", "mixed"):
        flag = kb.flag_param()
    acc, line = kb.local(ty, depth=2)
    ctx["temps"].append(line)
    if variant == "bound":
        n = kb.scalar_param(I32, kb.names._fresh(kb.rng.choice(("n", "steps", "iters", "count"))))
        header, lv = kb.for_loop(n)
        kb.scope.add(lv, I32, readonly=True)
        ctx["header"] = header
        kb.in_loop = True
        ctx["body"] = kb.updates([(acc, ty)], kb.rng.randint(1, 3))
        kb.in_loop = False
    elif variant == "flag":
        ctx["flag"] = flag if kb.rng.random() < 0.6 else f"{flag} and {kb.gen.cond(1, dtype)}"
        ctx["body"] = kb.updates([(acc, ty)], kb.rng.randint(1, 2))
        if kb.rng.random() < 0.6:
            ctx["else_body"] = kb.updates([(acc, ty)], 1)
    else:
        for _ in range(kb.rng.randint(0, 2)):
            ctx["temps"].append(kb.update(acc, ty))
    out = acc if kb.rng.random() < 0.5 else kb.gen.expr(ty, 2)
    ctx["stores"] = [(kb.at(res.outs[0]), anchored(kb, ty, out, [x for _, x in res.ins]))]
    return variant, ctx, {"dtype": dtype, "type": ty.name, "ndim": ndim}
