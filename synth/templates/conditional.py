"""Conditional family: kernels whose result depends on branches over the loaded values.

Variants: ``if_else``, ``if_only``, ``nested_if`` (an if/else inside the then-branch), ``guard``
(an early ``return`` when the thread index reaches an ``int`` bound parameter), ``where``
(a ``wp.where`` select followed by updates) and ``flag`` (a branch on a ``bool`` flag or an
``int`` mode parameter).
"""

from __future__ import annotations

from typing import Any

from warp_synth.synth.templates.base import Family, anchored, io, value_ty
from warp_synth.synth.templates.kernel import KernelBuilder
from warp_synth.synth.templates.types import I32, scalar


def family(kb: KernelBuilder) -> Family:
    kb.gen.palette = ("arith", "minmax", "math", "where", "cast", "call", "linalg", "interp")
    variant = kb.rng.choice(("if_else", "guard", "where", "nested_if", "flag", "if_only"))
    dtype = kb.pick_dtype()
    ty = value_ty(kb, dtype, p_vec=0.15, p_mat=0.03)
    ndim = kb.pick_ndim()
    ctx: dict[str, Any] = {"variant": variant, "pre": [], "else_body": [], "extra": [], "inner_else": []}
    if variant == "flag":
        ctx["flag"] = kb.flag_param() if kb.rng.random() < 0.6 else None
    if kb.rng.random() < 0.25:
        kb.func(scalar(dtype) if kb.rng.random() < 0.5 else ty, [ty], depth=2)
    if kb.rng.random() < 0.35:
        kb.const(scalar(dtype))
    if variant == "guard":
        n = kb.scalar_param(I32, kb.names._fresh(kb.rng.choice(("n", "count", "size", "limit"))))
    res = io(kb, ty, kb.rng.choice((1, 2, 2, 3)), kb.rng.choice((1, 1, 2)), ndim)
    ctx["loads"] = res.loads
    if variant == "guard":
        guard = f"{kb.idx[0]} >= {n}"
        if kb.rng.random() < 0.4 and ty.kind == "scalar":  # also skip the (rare) saturated inputs
            x = kb.rng.choice([x for _, x in res.ins])
            guard = (f"{guard} or {x} > {kb.gen.typed(ty, kb.rng.choice(('0.9', '0.95')))}" if ty.is_float
                     else f"{guard} or {x} < {kb.gen.typed(ty, '1')}")
        ctx["guard"] = guard
    if variant == "flag" and ctx["flag"] is None:
        iv = kb.scalar_param(I32, kb.names._fresh(kb.rng.choice(("mode", "sel", "op", "kind"))))
        ctx["flag"] = f"{iv} {kb.rng.choice(('==', '!=', '>'))} {kb.rng.choice((0, 1, 2))}"
    acc, line = kb.local(ty, depth=1)
    if variant == "where":
        ctx["result"] = kb.names.local()
        ctx["cond"] = kb.gen.cond(2, dtype)
        ctx["then_expr"], ctx["else_expr"] = kb.gen.expr(ty, 2), kb.gen.expr(ty, 2)
        kb.scope.add(ctx["result"], ty)
        ctx["cond2"] = kb.gen.cond(1, dtype)
        ctx["loads"] = [*res.loads, line]
        if kb.rng.random() < 0.5:
            ctx["extra"] = kb.updates([(ctx["result"], ty)], kb.rng.randint(1, 2))
        ctx["stores"] = [(kb.at(o), kb.gen.expr(ty, 1)) for o in res.outs]
        ctx["stores"][0] = (ctx["stores"][0][0], anchored(kb, ty, ctx["stores"][0][1], [x for _, x in res.ins]))
        return variant, ctx, {"dtype": dtype, "type": ty.name, "ndim": ndim}
    targets = [(acc, ty)]
    ctx["pre"] = [line]
    if variant == "nested_if":
        ctx["loads"] = [*res.loads, line]
        ctx["cond"], ctx["cond2"] = kb.gen.cond(1, dtype), kb.gen.cond(2, dtype)
        ctx["then_body"] = kb.updates(targets, kb.rng.randint(1, 3))
        if kb.rng.random() < 0.6:
            ctx["inner_else"] = kb.updates(targets, kb.rng.randint(1, 2))
        ctx["else_body"] = kb.updates(targets, kb.rng.randint(1, 3))
    else:
        if variant in ("flag",):
            ctx["loads"] = [*res.loads, line]
        ctx["cond"] = kb.gen.cond(2, dtype)
        ctx["then_body"] = kb.updates(targets, kb.rng.randint(1, 3))
        if variant != "if_only":
            ctx["else_body"] = kb.updates(targets, kb.rng.randint(1, 3))
    ctx["stores"] = [(kb.at(o), kb.gen.expr(ty, 1) if k else anchored(kb, ty, acc, [x for _, x in res.ins]))
                     for k, o in enumerate(res.outs)]
    return variant, ctx, {"dtype": dtype, "type": ty.name, "ndim": ndim}
