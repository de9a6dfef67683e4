"""Nested family: kernels with loops inside loops, and branches inside loops.

Variants: ``loop2``, ``loop3`` (three levels), ``loop_if`` (an if/elif chain in the inner body),
``if_loop`` (a loop nest under an ``if``, optional ``else``), ``matmul`` (a blocked 2-D matrix
product with constant block sizes) and ``tile_rows`` (a ``wp.tile_zeros`` accumulator summing tiles
loaded along a row, optionally through ``wp.tile_map``).
"""

from __future__ import annotations

from typing import Any

from warp_synth.synth.templates.base import TILE_FNS, Family, anchored, io, value_ty
from warp_synth.synth.templates.kernel import IND, KernelBuilder
from warp_synth.synth.templates.types import I32, scalar


def family(kb: KernelBuilder) -> Family:
    kb.gen.palette = ("arith", "minmax", "math", "cast", "call", "where", "linalg")
    variant = kb.rng.choice(("loop2", "loop3", "loop_if", "if_loop", "matmul", "tile_rows"))
    ctx: dict[str, Any] = {"variant": variant, "pre": [], "loads": [], "outer_pre": [], "outer_post": [],
                           "else_body": [], "stores": []}
    if variant == "tile_rows":
        dtype = kb.rng.choice(("float32", "float32", "float64"))
        src, dst = kb.array(scalar(dtype), 2), kb.array(scalar(dtype), 2)
        # nt tiles of a row: nt * tile elements stay within the row (a tile past its end is zero-padded)
        tv, ntv = kb.rng.choice(((8, 2), (4, 4), (4, 2), (2, 8), (8, 2)))
        tile = kb.const(I32, str(tv))
        row, _ = kb.tid(2)
        t = kb.names.local()
        r = kb.rng.random()
        if r < 0.4:
            tmap = t
        elif r < 0.7:
            f = kb.func(scalar(dtype), [scalar(dtype)], depth=2, palette=("math", "arith"))
            tmap = f"wp.tile_map({f.name}, {t})"
            kb.gen.used.append("tile_map")
        else:
            tmap = f"wp.tile_map(wp.{kb.rng.choice(TILE_FNS)}, {t})"
            kb.gen.used.append("tile_map")
        ctx.update(src=src, dst=dst, tile=tile, row=row, t=t, acc=kb.names.local(), lv=kb.names.loopvar(),
                   nt=kb.rng.choice((str(ntv), kb.const(I32, str(ntv)))), tmap=tmap, dtype=f"wp.{dtype}")
        kb.gen.used += ["tile_zeros", "tile_load", "tile_store"]
        return variant, ctx, {"dtype": dtype, "tile": tile}
    dtype = kb.pick_dtype()
    if dtype == "float16" and variant != "matmul":  # thousands of iterations overflow a float16 accumulator
        dtype = "float32"
    ty = value_ty(kb, dtype, p_vec=0.12, p_mat=0.03)
    if variant == "matmul":
        ty = scalar(dtype)
        a, b, c = (kb.array(ty, 2) for _ in range(3))
        i, j = kb.tid(2)
        acc = kb.names.local()
        kb.scope.add(acc, ty)
        # nb * bs (the reduced dimension) stays within the arrays' extent (16 for a 2-D launch)
        nbv, bsv = kb.rng.choice(((2, 4), (4, 4), (2, 8), (3, 4), (2, 6), (4, 2), (3, 5)))
        nb, bs = kb.const(I32, str(nbv)), kb.const(I32, str(bsv))
        ob, ib, kk = kb.names.loopvar(), kb.names.loopvar(), kb.names.local()
        ctx.update(pre=[f"{acc} = {kb.zero(ty)}"], outer=f"for {ob} in range({nb}):", inner=f"for {ib} in range({bs}):")
        body = [f"{kk} = {ob} * {bs} + {ib}"]
        prod = f"{a}[{i}, {kk}] * {b}[{kk}, {j}]"
        body.append(kb.rng.choice((f"{acc} += {prod}", f"{acc} = {acc} + {prod}")))
        ctx["body"] = body
        if kb.rng.random() < 0.4:
            ctx["outer_post"] = [f"{acc} += {kb.gen.expr(ty, 1)}"]  # (``-=`` of ``acc - c`` would reset it)
        out = acc if kb.rng.random() < 0.6 else anchored(kb, ty, kb.gen.expr(ty, 1), [acc])
        ctx["stores"] = [(f"{c}[{i}, {j}]", out)]
        return variant, ctx, {"dtype": dtype, "ndim": 2}
    ndim = kb.rng.choice((1, 1, 2, 3))
    res = io(kb, ty, kb.rng.choice((1, 2)), 1, ndim)
    grid = kb.array(ty, 2) if kb.rng.random() < 0.5 else None
    ctx["loads"] = res.loads
    accs = [(kb.names.local(), ty)]
    if kb.rng.random() < 0.4:
        accs.append((kb.names.local(), scalar(dtype)))
    ctx["pre"] = [f"{a} = {kb.zero(t)}" for a, t in accs]
    for a, t in accs:
        kb.scope.add(a, t)
    ov, iv = kb.names.loopvar(), kb.names.loopvar()
    if variant == "if_loop":
        ctx["cond"] = kb.gen.cond(1, dtype)
        if kb.rng.random() < 0.6:
            ctx["else_body"] = kb.updates(accs, kb.rng.randint(1, 2))
    ctx["outer"] = f"for {ov} in range({kb.int_bound()}):"
    const_seen = kb.last_bound_const
    kb.scope.add(ov, I32, readonly=True)
    kb.in_loop = True
    if variant not in ("loop3", "if_loop") and kb.rng.random() < 0.2:
        ctx["outer_pre"] = kb.updates(accs, 1)
    if kb.rng.random() < 0.3:
        ctx["inner"] = f"for {iv} in range({ov}, {kb.int_bound(not const_seen)}):"
    else:
        ctx["inner"] = f"for {iv} in range({kb.int_bound(not const_seen)}):"
    const_seen = const_seen or kb.last_bound_const
    kb.scope.add(iv, I32, readonly=True)
    if variant == "loop3":
        mv = kb.names.loopvar()
        ctx["middle"], ctx["inner"] = ctx["inner"], f"for {mv} in range({kb.int_bound(not const_seen)}):"
        kb.scope.add(mv, I32, readonly=True)
    body: list[str] = []
    if grid:
        # the grid's extents are read once, before the loops (a ``grid.shape`` read inside the loop nest
        # resets the shape of the grid's adjoint in Warp's backward pass, whose next read then fails)
        g, gr, gc = kb.names.local(), kb.names._fresh("rows"), kb.names._fresh("cols")
        ctx["loads"] += [f"{gr} = {grid}.shape[0]", f"{gc} = {grid}.shape[1]"]
        body.append(f"{g} = {grid}[{ov} % {gr}, {iv} % {gc}]")
        kb.scope.add(g, ty)
    if variant == "loop_if":
        body += kb.if_chain(accs, kb.rng.choice((1, 1, 2)), final_else=kb.rng.random() < 0.6, cond_dtype=dtype)
        if kb.rng.random() < 0.3:
            body += kb.updates(accs, 1)
    else:
        if kb.rng.random() < 0.3:
            body += [f"if {kb.gen.cond(1, dtype)}:", f"{IND}{kb.rng.choice(('break', 'continue'))}"]
        body += kb.updates(accs, kb.rng.randint(1, 3))
    ctx["body"] = body
    if variant not in ("loop3", "if_loop") and kb.rng.random() < 0.25:
        kb.scope.vars = [(n, t) for n, t in kb.scope.vars if n != iv]
        ctx["outer_post"] = kb.updates(accs, 1)
    kb.in_loop = False
    out = accs[0][0] if kb.rng.random() < 0.6 else kb.gen.expr(ty, 1)
    ctx["stores"] = [(kb.at(res.outs[0]), anchored(kb, ty, out, [x for _, x in res.ins]))]
    return variant, ctx, {"dtype": dtype, "type": ty.name, "ndim": ndim}
