"""Math family: floating-point kernels built from chains of Warp math builtins (``wp.sin``, ``wp.exp``,
``wp.lerp``, ...).

Variants: ``chain``, ``helper`` (math in ``@wp.func`` helpers), ``horner`` (polynomial evaluation
with ``wp.constant`` coefficients), ``random`` (``wp.rand_init`` plus ``randf``/``randn``/``noise``
draws keyed by a seed parameter) and ``tile_map`` (``wp.tile_load`` a row, ``wp.tile_map`` a helper
over it, optionally a second builtin and a tile reduction, ``wp.tile_store``).
"""

from __future__ import annotations

from typing import Any

from warp_synth.synth.templates.base import Family, anchored, io
from warp_synth.synth.templates.kernel import KernelBuilder
from warp_synth.synth.templates.types import I32, scalar


def family(kb: KernelBuilder) -> Family:
    kb.gen.palette = ("math", "interp", "minmax", "arith", "call", "where")
    variant = kb.rng.choice(("chain", "helper", "horner", "random", "tile_map", "chain"))
    dtype = kb.pick_dtype(floats_only=True)
    ty = scalar(dtype)
    ctx: dict[str, Any] = {"variant": variant, "temps": [], "stores": []}
    if variant == "tile_map":
        return _math_tile(kb, ctx)
    ndim = kb.pick_ndim()
    if variant == "helper":
        for _ in range(kb.rng.choice((1, 2))):
            kb.func(ty, [ty] * kb.rng.choice((1, 2)), depth=3)
    res = io(kb, ty, kb.rng.choice((1, 2)), kb.rng.choice((1, 2)), ndim)
    ctx["loads"] = res.loads
    if variant == "horner":
        x = res.ins[0][1]
        coefs = [kb.const(ty) for _ in range(kb.rng.randint(3, 6))]
        acc = kb.names.local()
        ctx["temps"].append(f"{acc} = {coefs[0]}")
        for c in coefs[1:]:
            ctx["temps"].append(f"{acc} = {acc} * {x} + {c}")
        kb.scope.add(acc, ty)
    if variant == "random":
        seed = kb.scalar_param(I32, kb.names._fresh(kb.rng.choice(("seed", "rng_seed", "salt"))))
        st = kb.names.local()
        ctx["temps"].append(f"{st} = wp.rand_init({seed}, {_flat_index(kb)})")
        draws = ["wp.randf({st})", "wp.randn({st})", "wp.randf({st}, -1.0, 1.0)", "wp.noise({st}, {x})",
                 "wp.pnoise({st}, wp.vec2({x}, {x}), 8, 8)", "wp.curlnoise({st}, wp.vec2({x}, 0.5))[0]",
                 "float(wp.randi({st}, 0, 10))"]
        xs = res.ins[0][1] if dtype == "float32" else f"float({res.ins[0][1]})"
        for _ in range(kb.rng.randint(1, 3)):
            d = kb.rng.choice(draws).format(st=st, x=xs)
            kb.gen.used.append(d.split("(")[0][3:])
            loc = kb.names.local()
            ctx["temps"].append(f"{loc} = {d if dtype == 'float32' else f'wp.{dtype}({d})'}")
            kb.scope.add(loc, ty)
    for _ in range(kb.rng.randint(1, 3) if variant != "horner" else kb.rng.randint(0, 1)):
        _, line = kb.local(ty, depth=kb.rng.choice((2, 3)))
        ctx["temps"].append(line)
    ctx["stores"] = [(kb.at(o), kb.gen.expr(ty, 2)) for o in res.outs]
    ctx["stores"][0] = (ctx["stores"][0][0], anchored(kb, ty, ctx["stores"][0][1], [x for _, x in res.ins]))
    return variant, ctx, {"dtype": dtype, "ndim": ndim}


def _flat_index(kb: KernelBuilder) -> str:
    if len(kb.idx) == 1:
        return kb.idx[0]
    return " + ".join(f"{v} * {7 ** k}" if k else v for k, v in enumerate(kb.idx))


def _math_tile(kb: KernelBuilder, ctx: dict[str, Any]) -> Family:
    dtype = kb.rng.choice(("float32", "float32", "float64"))
    ty = scalar(dtype)
    tile = kb.const(I32, str(kb.rng.choice((8, 16, 16))))  # within a row (no zero padding)
    f = kb.func(ty, [ty], depth=2, palette=("math", "arith", "interp"))
    src, dst = kb.array(ty, 2), kb.array(ty, 2)
    row, lane = kb.tid(2)
    ctx.update(src=src, dst=dst, tile=tile, row=row, fn=f.name, t=kb.names.local(), m=kb.names.local(),
               r=kb.names.local())
    # applied to the helper's result, unbounded in sign and size: no exp/sqrt/log here
    ctx["second"] = kb.rng.choice((None, "sin", "cos", "abs", "tanh"))
    ctx["reduce"] = kb.rng.choice((None, "tile_sum", "tile_max", "tile_min"))
    if ctx["reduce"]:
        ctx["red_out"] = kb.array(ty, 1)
    kb.gen.used += ["tile_load", "tile_map", "tile_store"]
    return "tile_map", ctx, {"dtype": dtype, "tile": tile}
