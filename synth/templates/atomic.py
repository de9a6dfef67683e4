"""Atomic family: kernels that read-modify-write shared arrays with ``wp.atomic_*``.

Variants: ``reduce`` (``atomic_add/sub/min/max`` into a few slots), ``histogram`` (a clamped or masked
bin index counted into an ``int32`` array), ``scatter`` (slots taken from an index array),
``cas_exch`` (``wp.atomic_cas`` / ``wp.atomic_exch`` whose old value is stored), ``inplace``
(``+=``/``-=`` on array elements), ``vec_atomic`` (atomics on vector arrays) and ``tile_reduce``
(a tile reduction added with ``wp.tile_atomic_add``).
"""

from __future__ import annotations

from typing import Any

from warp_synth.synth.templates.base import ATOMIC_OPS, TILE_FNS, Family, anchored, io, tile_setup
from warp_synth.synth.templates.kernel import KernelBuilder
from warp_synth.synth.templates.types import I32, scalar, vec

_UNDO = {"add": "sub", "sub": "add"}


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
    val, line = kb.local(ty, anchored(kb, ty, kb.gen.expr(ty, 2), [x for _, x in res.ins]))
    ctx["temps"].append(line)
    guard: tuple[str, str] | None = None  # (input, threshold) of a float guard
    if kb.rng.random() < 0.35 and res.ins:
        # a guard on one input against a threshold inside the inputs' range: some threads update, some
        # do not (a guard comparing derived values is often constant: it would skip every update)
        x = kb.rng.choice([x for _, x in res.ins])
        x = x if ty.kind == "scalar" else f"{x}[{kb.rng.randrange(ty.n)}]"
        if dtype.startswith("float"):
            cmp = kb.rng.choice(("<", ">", "<=", ">="))
            guard = (x, kb.gen.threshold(scalar(dtype)))  # turned below to keep the values a min/max can win
            ctx["cond"] = f"{x} {cmp} {guard[1]}"
        else:  # integer inputs are spread over [0, extent): split them by parity
            two, zero = kb.gen.typed(scalar(dtype), "2"), kb.gen.typed(scalar(dtype), "0")
            ctx["cond"] = f"{x} % {two} {kb.rng.choice(('==', '!='))} {zero}"
    ops = ATOMIC_OPS[dtype]
    i0 = kb.idx[0]
    if variant == "histogram":
        # the bin count is the histogram's length: a bin computed from data always lands inside it
        nb = f"{target}.shape[0]" if kb.rng.random() < 0.6 else kb.const(I32, str(kb.rng.choice((4, 2, 3))))
        b = kb.names.local()
        x = val
        if ty.is_float:
            scale = kb.gen.typed(ty, kb.rng.choice(("4.0", "8.0", "10.0", "16.0", "32.0")))
            conv = "int" if kb.rng.random() < 0.5 else "wp.int32"
            ctx["temps"].append(f"{b} = wp.clamp({conv}({x} * {scale}), 0, {nb} - 1)")
        else:
            xi = x if dtype == "int32" else f"wp.int32({x})"
            ctx["temps"].append(f"{b} = {kb.rng.choice(('wp.abs({x}) % {nb}', 'wp.clamp({x}, 0, {nb} - 1)'))}"
                                .format(x=xi, nb=nb))
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
            slot = kb.rng.choice(("0", "size", i0, f"{kb.idx[-1]} % 4"))
            if slot == "size":  # the extent is read once, up front (see nested: Warp's adjoint of .shape)
                size = kb.names._fresh("size")
                ctx["loads"].insert(0, f"{size} = {target}.shape[0]")
                slot = f"{i0} % {size}"
        done: list[tuple[str, str]] = []  # (op, value) already applied: no op undoes an earlier one
        for _ in range(kb.rng.choice((1, 1, 2))):
            # a fresh expression, anchored: ``x - x`` or ``wp.floor(x)`` alone would add nothing
            e = val if kb.rng.random() < 0.6 else anchored(kb, ty, kb.gen.expr(ty, 1), [x for _, x in res.ins])
            if variant == "inplace":
                aug = kb.rng.choice(("+=", "-="))
                aug = next((o for o, v in done if v == e), aug)
                done.append((aug, e))
                ctx["ops"].append(f"{target}[{slot}] {aug} {e}")
            else:
                # min/max leave a slot alone when no value beats it: mostly accumulate
                op = kb.rng.choices(ops, weights=[4 if o in ("add", "sub") else 1 for o in ops])[0]
                if (_UNDO.get(op), e) in done:
                    op = _UNDO[op]
                if op in ("min", "max") and res.ins:  # the min/max of the inputs (a derived value may beat no slot)
                    e = kb.rng.choice([x for _, x in res.ins])
                    if guard is not None:  # a guard keeps the values that can win
                        ctx["cond"] = f"{guard[0]} {'>' if op == 'max' else '<'} {guard[1]}"
                done.append((op, e))
                kb.gen.used.append(f"atomic_{op}")
                if kb.rng.random() < 0.3:
                    old = kb.names.local()
                    ctx["ops"] += [f"{old} = wp.atomic_{op}({target}, {slot}, {e})"]
                    kb.scope.add(old, ty)
                else:
                    ctx["ops"].append(f"wp.atomic_{op}({target}, {slot}, {e})")
    return variant, ctx, {"dtype": dtype, "type": ty.name, "ndim": ndim}
