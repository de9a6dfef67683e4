"""Atomic family: kernels that read-modify-write shared arrays with ``wp.atomic_*``.

Variants: ``reduce`` (``atomic_add/sub/min/max`` into a few slots), ``histogram`` (a clamped or masked
bin index counted into an ``int32`` array), ``scatter`` (slots taken from an index array),
``cas_exch`` (``wp.atomic_cas`` / ``wp.atomic_exch`` whose old value is stored), ``inplace``
(``+=``/``-=`` on array elements), ``vec_atomic`` (atomics on vector arrays) and ``tile_reduce``
(a tile reduction added with ``wp.tile_atomic_add``).
"""

from __future__ import annotations

from typing import Any

from warp_synth.synth.templates.base import ATOMIC_OPS, TILE_FNS, Family, io, tile_setup
from warp_synth.synth.templates.kernel import KernelBuilder
from warp_synth.synth.templates.types import I32, scalar, vec


def family(kb: KernelBuilder) -> Family:
    kb.gen.palette = ("arith", "minmax", "math", "cast", "where", "call")
    variant = kb.rng.choice(("reduce", "histogram", "scatter", "cas_exch", "inplace", "vec_atomic", "tile_reduce"))
    ctx: dict[str, Any] = {"variant": variant, "temps": [], "ops": [], "stores": [], "cond": None, "loads": []}
    if variant == "tile_reduce":
        dtype = kb.rng.choice(("float32", "float32", "float64"))
        src, dst = kb.array(scalar(dtype), 2), kb.array(scalar(dtype), 1)
        tile, row, _lane = tile_setup(kb, dtype)
        ctx.update(src=src, dst=dst, tile=tile, row=row, t=kb.names.local(), s=kb.names.local(),
                   reduce=kb.rng.choice(("tile_sum", "tile_sum", "tile_max", "tile_min")),
                   offset=kb.rng.choice(("0", row)),
                   scale=kb.rng.choice((None, kb.gen.lit(scalar(dtype)))),
                   fn=kb.rng.choice((None, None, *TILE_FNS)))
        kb.gen.used += ["tile_load", ctx["reduce"], "tile_atomic_add"]
        return variant, ctx, {"dtype": dtype, "tile": tile}
    if variant == "cas_exch":
        dtype = kb.rng.choice(("int32", "int32", "int64", "float32", "float64"))
    elif variant == "histogram":
        dtype = kb.pick_dtype()
        dtype = "float32" if dtype == "float16" else dtype
    else:
        dtype = kb.pick_dtype()
    ty = scalar(dtype)
    if variant == "vec_atomic":
        dtype = kb.rng.choice(("float32", "float64", "int32"))
        ty = vec(kb.rng.choice((2, 3, 4)), dtype)
    ndim = 1 if variant == "scatter" else kb.rng.choice((1, 1, 2, 3))
    idx_arr = kb.array(I32, 1) if variant == "scatter" else None
    res = io(kb, ty, kb.rng.choice((1, 2)), 0, ndim)
    ctx["loads"] = res.loads
    target = kb.array(I32 if variant == "histogram" else ty, 1)
    if kb.rng.random() < 0.25:
        kb.func(ty, [ty], depth=2)
    val, line = kb.local(ty, depth=2)
    ctx["temps"].append(line)
    if kb.rng.random() < 0.35:
        ctx["cond"] = kb.gen.cond(1, dtype if ty.kind == "scalar" else None)
    ops = ATOMIC_OPS[dtype]
    i0 = kb.idx[0]
    if variant == "histogram":
        nb = kb.const(I32, str(kb.rng.choice((8, 16, 32, 64, 256))))
        b = kb.names.local()
        x = val
        if ty.is_float:
            scale = kb.gen.lit(ty)
            conv = "int" if kb.rng.random() < 0.5 else "wp.int32"
            ctx["temps"].append(f"{b} = wp.clamp({conv}({x} * {scale}), 0, {nb} - 1)")
        else:
            xi = x if dtype == "int32" else f"wp.int32({x})"
            ctx["temps"].append(f"{b} = {kb.rng.choice(('wp.abs({x}) % {nb}', '({x} & ({nb} - 1))'))}".format(x=xi, nb=nb))
        kb.gen.used += ["clamp"]
        if kb.rng.random() < 0.5:
            ctx["ops"].append(f"wp.atomic_add({target}, {b}, 1)")
        else:
            ctx["ops"].append(f"{target}[{b}] += 1")
    elif variant == "cas_exch":
        out = kb.array(ty, 1)
        slot = kb.rng.choice(("0", f"{i0} % 4", f"{i0} // 2"))
        old = kb.names.local()
        if kb.rng.random() < 0.5:
            ctx["ops"].append(f"{old} = wp.atomic_cas({target}, {slot}, {kb.gen.expr(ty, 1)}, {val})")
            kb.gen.used.append("atomic_cas")
        else:
            ctx["ops"].append(f"{old} = wp.atomic_exch({target}, {slot}, {val})")
            kb.gen.used.append("atomic_exch")
        ctx["ops"].append(f"{kb.at(out, [i0])} = {old}")
    else:
        if variant == "scatter":
            slot = f"{idx_arr}[{i0}]"
        else:
            slot = kb.rng.choice(("0", f"{i0} % 8", i0, f"{kb.idx[-1]} % 4"))
        for _ in range(kb.rng.choice((1, 1, 2))):
            e = val if kb.rng.random() < 0.6 else kb.gen.expr(ty, 1)
            if variant == "inplace":
                ctx["ops"].append(f"{target}[{slot}] {kb.rng.choice(('+=', '-='))} {e}")
            else:
                op = kb.rng.choice(ops)
                kb.gen.used.append(f"atomic_{op}")
                if kb.rng.random() < 0.3:
                    old = kb.names.local()
                    ctx["ops"] += [f"{old} = wp.atomic_{op}({target}, {slot}, {e})"]
                    kb.scope.add(old, ty)
                else:
                    ctx["ops"].append(f"wp.atomic_{op}({target}, {slot}, {e})")
    return variant, ctx, {"dtype": dtype, "type": ty.name, "ndim": ndim}
