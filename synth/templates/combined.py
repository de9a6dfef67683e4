"""Combined family: kernels that mix several patterns (helpers, loops, branches, atomics, structs, tiles)
and draw expressions from every palette.

Variants: ``particles`` (a ``@wp.struct`` of ``vec3`` and scalar fields read per thread),
``reduce_branch`` (a loop accumulator either atomically added to a total or stored),
``helper_loop`` (``@wp.func`` helpers called in a loop), ``random_walk`` (``wp.rand_init`` and random
draws in a loop) and ``tile_pipeline`` (tile load, one or two ``wp.tile_map`` helpers, store, and a
tile reduction added with ``wp.tile_atomic_add``).
"""

from __future__ import annotations

from typing import Any

from warp_synth.synth.templates.base import ATOMIC_OPS, Family, anchored, io, tile_setup, value_ty
from warp_synth.synth.templates.exprgen import ExprGen
from warp_synth.synth.templates.kernel import KernelBuilder
from warp_synth.synth.templates.types import I32, scalar, vec


def family(kb: KernelBuilder) -> Family:
    kb.gen.palette = ExprGen.ALL
    variant = kb.rng.choice(("particles", "reduce_branch", "helper_loop", "random_walk", "tile_pipeline"))
    ctx: dict[str, Any] = {"variant": variant, "pre": [], "post": [], "cond": None, "loads": []}
    if variant == "tile_pipeline":
        dtype = kb.rng.choice(("float32", "float32", "float64"))
        s = scalar(dtype)
        src, dst, total = kb.array(s, 2), kb.array(s, 2), kb.array(s, 1)
        tile, row, _ = tile_setup(kb, dtype)
        f = kb.func(s, [s], depth=2, palette=("math", "arith", "interp", "minmax"))
        sec = None
        if kb.rng.random() < 0.5:
            sec = kb.func(s, [s, s], depth=2, palette=("math", "arith", "minmax")).name
        ctx.update(src=src, dst=dst, total=total, tile=tile, row=row, fn=f.name, a=kb.names.local(),
                   b=kb.names.local(), s=kb.names.local(), reduce=kb.rng.choice(("tile_sum", "tile_max")),
                   offset=kb.rng.choice(("0", row)))
        ctx["second"] = sec
        kb.gen.used += ["tile_load", "tile_map", "tile_store", ctx["reduce"], "tile_atomic_add"]
        return variant, ctx, {"dtype": dtype, "tile": tile}
    dtype = kb.pick_dtype(floats_only=variant in ("particles", "random_walk"))
    if variant == "random_walk":
        dtype = "float32"
    if variant == "particles":
        v3 = vec(3, dtype)
        sname, fields = kb.struct([v3, v3, scalar(dtype)])
        parts = kb.names.array()
        kb.parts.kparams.append(f"{parts}: wp.array(dtype={sname})")
        ty = v3
    else:
        ty = value_ty(kb, dtype, p_vec=0.2, p_mat=0.05)
    res = io(kb, ty, kb.rng.choice((1, 2)), 1, 1)
    ctx["loads"] = res.loads
    for _ in range(kb.rng.choice((1, 1, 2) if variant == "helper_loop" else (0, 1))):
        kb.func(ty, [ty, scalar(dtype)], depth=2)
    if variant == "particles":
        pv = kb.names.local()
        ctx["loads"].append(f"{pv} = {parts}[{kb.idx[0]}]")
        for f, t in fields:
            kb.scope.add(f"{pv}.{f}", t, readonly=True)
    acc = kb.names.local()
    ctx["pre"].append(f"{acc} = {kb.zero(ty)}")
    kb.scope.add(acc, ty)
    targets = [(acc, ty)]
    header, lv = kb.for_loop(kb.int_bound())
    kb.scope.add(lv, I32, readonly=True)
    ctx["header"] = header
    body: list[str] = []
    if variant == "random_walk":
        seed = kb.scalar_param(I32, kb.names._fresh("seed"))
        st = kb.names.local()
        ctx["pre"].append(f"{st} = wp.rand_init({seed}, {kb.idx[0]})")
        r = kb.names.local()
        body.append(f"{r} = wp.{kb.rng.choice(('randf', 'randn'))}({st})")
        kb.scope.add(r, scalar("float32"))
        if ty.kind == "vec" and ty.n == 3 and kb.rng.random() < 0.5:
            d = kb.names.local()
            body.append(f"{d} = wp.sample_unit_sphere_surface({st})")
            kb.scope.add(d, ty)
        kb.gen.used += ["rand_init", "randf"]
    kb.in_loop = True
    body += kb.updates(targets, kb.rng.randint(1, 3))
    if kb.rng.random() < 0.4:
        body = [*body[:1], *kb.if_chain(targets, 1, final_else=kb.rng.random() < 0.5, body_len=(1, 1)), *body[1:]]
    kb.in_loop = False
    deps = [x for _, x in res.ins]
    ctx["body"] = body
    out = res.outs[0]
    if variant in ("reduce_branch", "particles") and ty.kind in ("scalar", "vec") and dtype != "float16":
        total = kb.array(ty, 1)
        ctx["cond"] = kb.gen.cond(1, dtype if ty.kind == "scalar" else None)
        ops = ATOMIC_OPS[dtype]
        op = kb.rng.choices(ops, weights=[3 if o in ("add", "sub") else 1 for o in ops])[0]
        ctx["then_body"] = [f"wp.atomic_{op}({total}, 0, {anchored(kb, ty, acc, deps)})"]
        kb.gen.used.append(f"atomic_{op}")
        ctx["else_body"] = [f"{kb.at(out)} = {anchored(kb, ty, acc, deps)}"]
    else:
        ctx["post"] = [f"{kb.at(out)} = {anchored(kb, ty, kb.gen.expr(ty, 1) if kb.rng.random() < 0.4 else acc, deps)}"]
    return variant, ctx, {"dtype": dtype, "type": ty.name}
