"""Arithmetic family: element-wise kernels that load array elements, combine them with typed arithmetic
expressions (scalar, vector or matrix values) and store the results.

Variants: ``elementwise``, ``chain`` (a run of temporaries), ``helper`` (one or two ``@wp.func``
helpers), ``inplace`` (``=``/``+=``/``-=``/``*=`` straight into the input arrays) and ``struct_coeffs``
(a coefficient taken from a ``@wp.struct`` parameter).
"""

from __future__ import annotations

from typing import Any

from warp_synth.synth.templates.base import Family, anchored, io, value_ty
from warp_synth.synth.templates.kernel import KernelBuilder


def family(kb: KernelBuilder) -> Family:
    kb.gen.palette = ("arith", "minmax", "cast", "bits", "call", "where", "linalg")
    variant = kb.rng.choice(("elementwise", "chain", "helper", "inplace", "struct_coeffs"))
    dtype = kb.pick_dtype()
    ty = value_ty(kb, dtype, p_vec=0.22, p_mat=0.08)
    ndim = kb.pick_ndim()
    if kb.rng.random() < 0.3:
        kb.const(ty.scalar())
    ctx: dict[str, Any] = {"variant": variant, "temps": [], "stores": [], "inplace": []}
    if variant == "helper":
        for _ in range(kb.rng.choice((1, 1, 2))):
            kb.func(ty, [ty] * kb.rng.choice((1, 2, 3)), depth=2)
    if variant == "struct_coeffs":
        sname, fields = kb.struct([ty.scalar()] * kb.rng.choice((2, 3)) + [ty] * kb.rng.choice((0, 1)))
        arg = kb.struct_param(sname, fields)
        ctx.update(struct_arg=arg, coef_field=fields[0][0], coef=kb.names.local())
        kb.scope.add(ctx["coef"], fields[0][1])
    n_in = kb.rng.choice((1, 2, 2, 3))
    if variant == "inplace":
        arrs = [kb.names.array() for _ in range(n_in)]
        for a in arrs:
            kb.array(ty, ndim, a)
        kb.tid(ndim)
        for a in arrs:
            kb.scope.add(kb.at(a), ty, readonly=True)
        for a in arrs[: kb.rng.choice((1, len(arrs)))]:
            op = kb.rng.choice(("=", "+=", "-=", "*=") if ty.kind == "scalar" else ("=", "+=", "-="))
            e = kb.gen.expr(ty, 2)
            if e == kb.at(a):  # ``x = x`` / ``x -= x``: no update, or always zero
                op = "+="
            elif op in ("=", "*="):  # the new value keeps depending on the old one
                e = anchored(kb, ty, e, [kb.at(a)])
            ctx["inplace"].append((kb.at(a), op, e))
    else:
        res = io(kb, ty, n_in, kb.rng.choice((1, 1, 2)), ndim)
        ctx["loads"] = res.loads
        if variant == "chain" or kb.rng.random() < 0.3:
            for _ in range(kb.rng.randint(1, 4)):
                _, line = kb.local(ty if kb.rng.random() < 0.8 else ty.scalar(), depth=2)
                ctx["temps"].append(line)
        ctx["stores"] = [(kb.at(o), kb.gen.expr(ty, kb.rng.choice((2, 3)))) for o in res.outs]
        ctx["stores"][0] = (ctx["stores"][0][0], anchored(kb, ty, ctx["stores"][0][1], [x for _, x in res.ins]))
    return variant, ctx, {"dtype": dtype, "type": ty.name, "ndim": ndim}
