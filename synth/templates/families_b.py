"""Template families, part 2: atomic, nested, multi_cond, combined, scalar_param."""

from __future__ import annotations

from typing import Any

from warp_synth.synth.templates.exprgen import I32, ExprGen, Ty, mat, scalar, vec
from warp_synth.synth.templates.families_a import Family, io, value_ty
from warp_synth.synth.templates.kernel import IND, KernelBuilder, indent

# Atomic builtins Warp 1.19 accepts per array scalar type (CPU and CUDA alike).
_ATOMIC_OPS = {
    "float16": ("add", "sub"),
    "float32": ("add", "sub", "min", "max"),
    "float64": ("add", "sub", "min", "max"),
    "int32": ("add", "sub", "min", "max"),
    "int64": ("add", "sub", "min", "max"),
}
_TILE_FNS = ("sin", "cos", "exp", "sqrt", "abs", "tanh", "floor", "log")


def _tile_setup(kb: KernelBuilder, dtype: str) -> tuple[str, str, str]:
    tile = kb.const(I32, str(kb.rng.choice((8, 16, 32, 64, 128))))
    return tile, *kb.tid(2)


def atomic(kb: KernelBuilder) -> Family:
    kb.gen.palette = ("arith", "minmax", "math", "cast", "where", "call")
    variant = kb.rng.choice(("reduce", "histogram", "scatter", "cas_exch", "inplace", "vec_atomic", "tile_reduce"))
    ctx: dict[str, Any] = {"variant": variant, "temps": [], "ops": [], "stores": [], "cond": None, "loads": []}
    if variant == "tile_reduce":
        dtype = kb.rng.choice(("float32", "float32", "float64"))
        src, dst = kb.array(scalar(dtype), 2), kb.array(scalar(dtype), 1)
        tile, row, _lane = _tile_setup(kb, dtype)
        ctx.update(src=src, dst=dst, tile=tile, row=row, t=kb.names.local(), s=kb.names.local(),
                   reduce=kb.rng.choice(("tile_sum", "tile_sum", "tile_max", "tile_min")),
                   offset=kb.rng.choice(("0", row)),
                   scale=kb.rng.choice((None, kb.gen.lit(scalar(dtype)))),
                   fn=kb.rng.choice((None, None, *_TILE_FNS)))
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
    ops = _ATOMIC_OPS[dtype]
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


def nested(kb: KernelBuilder) -> Family:
    kb.gen.palette = ("arith", "minmax", "math", "cast", "call", "where", "linalg")
    variant = kb.rng.choice(("loop2", "loop3", "loop_if", "if_loop", "matmul", "tile_rows"))
    ctx: dict[str, Any] = {"variant": variant, "pre": [], "loads": [], "outer_pre": [], "outer_post": [],
                           "else_body": [], "stores": []}
    if variant == "tile_rows":
        dtype = kb.rng.choice(("float32", "float32", "float64"))
        src, dst = kb.array(scalar(dtype), 2), kb.array(scalar(dtype), 2)
        tile, row, _ = _tile_setup(kb, dtype)
        t = kb.names.local()
        r = kb.rng.random()
        if r < 0.4:
            tmap = t
        elif r < 0.7:
            f = kb.func(scalar(dtype), [scalar(dtype)], depth=2, palette=("math", "arith"))
            tmap = f"wp.tile_map({f.name}, {t})"
            kb.gen.used.append("tile_map")
        else:
            tmap = f"wp.tile_map(wp.{kb.rng.choice(_TILE_FNS)}, {t})"
            kb.gen.used.append("tile_map")
        ctx.update(src=src, dst=dst, tile=tile, row=row, t=t, acc=kb.names.local(), lv=kb.names.loopvar(),
                   nt=kb.rng.choice(("2", "4", kb.const(I32, "4"))), tmap=tmap, dtype=f"wp.{dtype}")
        kb.gen.used += ["tile_zeros", "tile_load", "tile_store"]
        return variant, ctx, {"dtype": dtype, "tile": tile}
    dtype = kb.pick_dtype()
    ty = value_ty(kb, dtype, p_vec=0.12, p_mat=0.03)
    if variant == "matmul":
        ty = scalar(dtype)
        a, b, c = (kb.array(ty, 2) for _ in range(3))
        i, j = kb.tid(2)
        acc = kb.names.local()
        kb.scope.add(acc, ty)
        nb, bs = kb.const(I32, str(kb.rng.choice((2, 3, 4)))), kb.const(I32, str(kb.rng.choice((4, 6, 8))))
        ob, ib, kk = kb.names.loopvar(), kb.names.loopvar(), kb.names.local()
        ctx.update(pre=[f"{acc} = {kb.zero(ty)}"], outer=f"for {ob} in range({nb}):", inner=f"for {ib} in range({bs}):")
        body = [f"{kk} = {ob} * {bs} + {ib}"]
        prod = f"{a}[{i}, {kk}] * {b}[{kk}, {j}]"
        body.append(kb.rng.choice((f"{acc} += {prod}", f"{acc} = {acc} + {prod}")))
        ctx["body"] = body
        if kb.rng.random() < 0.4:
            ctx["outer_post"] = [f"{acc} = {kb.gen.expr(ty, 1)}"]
        ctx["stores"] = [(f"{c}[{i}, {j}]", acc if kb.rng.random() < 0.6 else kb.gen.expr(ty, 1))]
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
        g = kb.names.local()
        body.append(f"{g} = {grid}[{ov}, {iv}]")
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
    ctx["stores"] = [(kb.at(res.outs[0]), accs[0][0] if kb.rng.random() < 0.6 else kb.gen.expr(ty, 1))]
    return variant, ctx, {"dtype": dtype, "type": ty.name, "ndim": ndim}


def _chain(kb: KernelBuilder, targets: list[tuple[str, Ty]], dtype: str, nested_ok: bool) -> list[str]:
    out = kb.if_chain(targets, kb.rng.randint(3, 6), final_else=kb.rng.random() < 0.75, cond_dtype=dtype,
                      body_len=(1, 2))
    if nested_ok:
        # replace one branch body line with an inner chain
        pos = [k for k, ln in enumerate(out) if ln.startswith(IND)]
        k = kb.rng.choice(pos)
        inner = kb.if_chain(targets, kb.rng.randint(2, 3), final_else=True, cond_dtype=dtype, body_len=(1, 1))
        out[k:k + 1] = indent(inner)
    return out


def multi_cond(kb: KernelBuilder) -> Family:
    kb.gen.palette = ("arith", "minmax", "math", "cast", "call", "where")
    variant = kb.rng.choice(("elif_chain", "classify", "in_loop", "nested_elif", "buckets"))
    dtype = kb.pick_dtype()
    ty = value_ty(kb, dtype, p_vec=0.1, p_mat=0.0)
    ndim = kb.pick_ndim()
    ctx: dict[str, Any] = {"variant": variant, "pre": [], "chain": [], "stores": []}
    res = io(kb, ty, kb.rng.choice((1, 2)), 1, ndim, out_ty=None)
    code_out = kb.array(I32, ndim) if variant == "classify" else None
    ctx["loads"] = res.loads
    if kb.rng.random() < 0.25:
        kb.func(ty, [ty], depth=2)
    acc, line = kb.local(ty, depth=1)
    ctx["pre"] = [line]
    targets = [(acc, ty)]
    if variant == "classify":
        code = kb.names.local()
        ctx["pre"].append(f"{code} = int(-1)")
        out = kb.if_chain(targets, kb.rng.randint(3, 6), final_else=True, cond_dtype=dtype, body_len=(0, 1))
        n = 0
        for k in range(len(out) - 1, -1, -1):
            if not out[k].startswith(IND):
                out.insert(k + 1, f"{IND}{code} = {sum(1 for ln in out[:k] if not ln.startswith(IND))}")
                n += 1
        ctx["chain"] = out
        ctx["stores"].append((kb.at(code_out), code))
    elif variant == "in_loop":
        header, lv = kb.for_loop(kb.int_bound())
        kb.scope.add(lv, I32, readonly=True)
        ctx["header"] = header
        ctx["chain"] = _chain(kb, targets, "int32" if kb.rng.random() < 0.4 else dtype, False)
    elif variant == "buckets":
        x = res.ins[0][1] if ty.kind == "scalar" else f"{res.ins[0][1]}[0]"
        thr = sorted(float(kb.rng.choice((0.1, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0)))
                     for _ in range(kb.rng.randint(2, 5)))
        cs = []
        s = scalar(dtype)
        for t in thr:
            val = f"{t}" if s.is_float else str(int(t) + 1)
            val = val if dtype in ("float32", "int32") else f"wp.{dtype}({val})"
            name = kb.const(s, val) if kb.rng.random() < 0.4 else val
            cs.append((f"{x} {kb.rng.choice(('<', '<='))} {name}", kb.updates(targets, kb.rng.randint(1, 2))))
        ctx["branches"] = cs
        ctx["else_body"] = kb.updates(targets, 1)
    else:
        ctx["chain"] = _chain(kb, targets, dtype, variant == "nested_elif")
    ctx["stores"].append((kb.at(res.outs[0]), acc if kb.rng.random() < 0.7 else kb.gen.expr(ty, 1)))
    return variant, ctx, {"dtype": dtype, "type": ty.name, "ndim": ndim}


def combined(kb: KernelBuilder) -> Family:
    kb.gen.palette = ExprGen.ALL
    variant = kb.rng.choice(("particles", "reduce_branch", "helper_loop", "random_walk", "tile_pipeline"))
    ctx: dict[str, Any] = {"variant": variant, "pre": [], "post": [], "cond": None, "loads": []}
    if variant == "tile_pipeline":
        dtype = kb.rng.choice(("float32", "float32", "float64"))
        s = scalar(dtype)
        src, dst, total = kb.array(s, 2), kb.array(s, 2), kb.array(s, 1)
        tile, row, _ = _tile_setup(kb, dtype)
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
    body += kb.updates(targets, kb.rng.randint(1, 3))
    if kb.rng.random() < 0.4:
        body = [*body[:1], *kb.if_chain(targets, 1, final_else=kb.rng.random() < 0.5, body_len=(1, 1)), *body[1:]]
    ctx["body"] = body
    out = res.outs[0]
    if variant in ("reduce_branch", "particles") and ty.kind in ("scalar", "vec") and dtype != "float16":
        total = kb.array(ty, 1)
        ctx["cond"] = kb.gen.cond(1, dtype if ty.kind == "scalar" else None)
        op = kb.rng.choice(_ATOMIC_OPS[dtype])
        ctx["then_body"] = [f"wp.atomic_{op}({total}, 0, {acc})"]
        kb.gen.used.append(f"atomic_{op}")
        ctx["else_body"] = [f"{kb.at(out)} = {acc}"]
    else:
        ctx["post"] = [f"{kb.at(out)} = {kb.gen.expr(ty, 1) if kb.rng.random() < 0.4 else acc}"]
    return variant, ctx, {"dtype": dtype, "type": ty.name}




def scalar_param(kb: KernelBuilder) -> Family:
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
        ctx["body"] = kb.updates([(acc, ty)], kb.rng.randint(1, 3))
    elif variant == "flag":
        ctx["flag"] = flag if kb.rng.random() < 0.6 else f"{flag} and {kb.gen.cond(1, dtype)}"
        ctx["body"] = kb.updates([(acc, ty)], kb.rng.randint(1, 2))
        if kb.rng.random() < 0.6:
            ctx["else_body"] = kb.updates([(acc, ty)], 1)
    else:
        for _ in range(kb.rng.randint(0, 2)):
            ctx["temps"].append(kb.update(acc, ty))
    ctx["stores"] = [(kb.at(res.outs[0]), acc if kb.rng.random() < 0.5 else kb.gen.expr(ty, 2))]
    return variant, ctx, {"dtype": dtype, "type": ty.name, "ndim": ndim}
