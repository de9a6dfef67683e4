"""Template families, part 1: arithmetic, conditional, loop, math, vector.

Each family takes a fresh ``KernelBuilder``, samples a structural variant and its parameters,
and returns ``(variant, context, params)``: ``context`` renders ``prompts/kernels/<category>.j2``
and ``params`` summarises the sample for provenance.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from warp_synth.synth.templates.exprgen import I32, Ty, mat, scalar, vec
from warp_synth.synth.templates.kernel import IND, KernelBuilder, indent

Family = tuple[str, dict[str, Any], dict[str, Any]]


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


def arithmetic(kb: KernelBuilder) -> Family:
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
            ctx["inplace"].append((kb.at(a), op, e))
    else:
        res = io(kb, ty, n_in, kb.rng.choice((1, 1, 2)), ndim)
        ctx["loads"] = res.loads
        if variant == "chain" or kb.rng.random() < 0.3:
            for _ in range(kb.rng.randint(1, 4)):
                _, line = kb.local(ty if kb.rng.random() < 0.8 else ty.scalar(), depth=2)
                ctx["temps"].append(line)
        ctx["stores"] = [(kb.at(o), kb.gen.expr(ty, kb.rng.choice((2, 3)))) for o in res.outs]
    return variant, ctx, {"dtype": dtype, "type": ty.name, "ndim": ndim}


def conditional(kb: KernelBuilder) -> Family:
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
        if kb.rng.random() < 0.4:
            guard = f"{guard} or {kb.gen.cond(1, dtype)}"
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
    ctx["stores"] = [(kb.at(o), kb.gen.expr(ty, 1) if k else acc) for k, o in enumerate(res.outs)]
    return variant, ctx, {"dtype": dtype, "type": ty.name, "ndim": ndim}


def loop(kb: KernelBuilder) -> Family:
    kb.gen.palette = ("arith", "minmax", "math", "cast", "call", "linalg", "where")
    variant = kb.rng.choice(("range_acc", "row_reduce", "while", "break_continue", "strided", "multi_acc"))
    dtype = kb.pick_dtype()
    ty = value_ty(kb, dtype, p_vec=0.15, p_mat=0.04)
    ctx: dict[str, Any] = {"variant": variant, "pre": [], "post": []}
    ndim = kb.rng.choice((1, 1, 2, 3)) if variant != "row_reduce" else 1
    if variant == "row_reduce":
        src_nd = kb.rng.choice((2, 2, 3))
        src = kb.array(ty, src_nd)
        dst = kb.array(ty, 1)
        kb.tid(1)
        res = Io(outs=[dst])
        ctx["src"] = src
    else:
        res = io(kb, ty, kb.rng.choice((1, 2)), 1, ndim)
    if kb.rng.random() < 0.2:
        kb.func(ty, [ty, ty], depth=2)
    accs = [(kb.names.local(), ty)]
    if variant == "multi_acc" or kb.rng.random() < 0.3:
        accs.append((kb.names.local(), scalar(dtype) if ty.kind != "scalar" else value_ty(kb, dtype)))
    init = [f"{a} = {kb.zero(t) if kb.rng.random() < 0.6 else kb.gen.expr(t, 1)}" for a, t in accs]
    for a, t in accs:
        kb.scope.add(a, t)
    bound = kb.int_bound()
    ctx["bound"] = bound
    header, lv = kb.for_loop(bound)
    kb.scope.add(lv, I32, readonly=True)
    if dtype != "int32" and kb.rng.random() < 0.6:
        fv = kb.names.local()
        conv = "float" if dtype == "float32" and kb.rng.random() < 0.5 else f"wp.{dtype}"
        body_pre = [f"{fv} = {conv}({lv})"]
        kb.scope.add(fv, scalar(dtype))
    else:
        body_pre = []
    if variant == "row_reduce":
        ix = [kb.idx[0], lv] + [str(kb.rng.randrange(2)) for _ in range(src_nd - 2)]
        elem = kb.names.local()
        body_pre.append(f"{elem} = {kb.at(src, ix)}")
        kb.scope.add(elem, ty)
        header = f"for {lv} in range({src}.shape[1]):" if kb.rng.random() < 0.5 else header
    body = kb.updates(accs, kb.rng.randint(1, 3))
    if variant == "while":
        cnt = lv
        ctx["pre"] = [*init, f"{cnt} = int(0)"]
        header = f"while {cnt} < {bound}:"
        body = [*body_pre, *body, f"{cnt} += 1"]
        if kb.rng.random() < 0.4:
            body.insert(len(body_pre), f"if {kb.gen.cond(1, dtype)}:")
            body.insert(len(body_pre) + 1, f"{IND}{cnt} += 1")
    elif variant == "break_continue":
        kw = kb.rng.choice(("break", "continue"))
        body = [*body_pre, f"if {kb.gen.cond(1, dtype)}:", f"{IND}{kw}", *body]
        ctx["pre"] = init
    elif variant == "strided":
        header, lv2 = kb.for_loop(bound, start=kb.rng.choice(("0", "1", kb.idx[0] + " % 2")),
                                  stride=kb.rng.choice(("2", "3", "4")), loopvar=lv)
        body = [*body_pre, *body]
        ctx["pre"] = init
    else:
        body = [*body_pre, *body]
        ctx["pre"] = init
    ctx["header"], ctx["body"] = header, body
    ctx["loads"] = res.loads
    out = accs[0][0] if kb.rng.random() < 0.6 else kb.gen.expr(ty, 1)
    ctx["stores"] = [(kb.at(res.outs[0]), out)]
    return variant, ctx, {"dtype": dtype, "type": ty.name, "ndim": ndim, "bound": bound}


def math_(kb: KernelBuilder) -> Family:
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
    return variant, ctx, {"dtype": dtype, "ndim": ndim}


def _flat_index(kb: KernelBuilder) -> str:
    if len(kb.idx) == 1:
        return kb.idx[0]
    return " + ".join(f"{v} * {7 ** k}" if k else v for k, v in enumerate(kb.idx))


def _math_tile(kb: KernelBuilder, ctx: dict[str, Any]) -> Family:
    dtype = kb.rng.choice(("float32", "float32", "float64"))
    ty = scalar(dtype)
    tile = kb.const(I32, str(kb.rng.choice((8, 16, 32, 64))))
    f = kb.func(ty, [ty], depth=2, palette=("math", "arith", "interp"))
    src, dst = kb.array(ty, 2), kb.array(ty, 2)
    row, lane = kb.tid(2)
    ctx.update(src=src, dst=dst, tile=tile, row=row, fn=f.name, t=kb.names.local(), m=kb.names.local(),
               r=kb.names.local())
    ctx["second"] = kb.rng.choice((None, "sin", "cos", "exp", "sqrt", "abs", "tanh"))
    ctx["reduce"] = kb.rng.choice((None, "tile_sum", "tile_max", "tile_min"))
    if ctx["reduce"]:
        ctx["red_out"] = kb.array(ty, 1)
    kb.gen.used += ["tile_load", "tile_map", "tile_store"]
    return "tile_map", ctx, {"dtype": dtype, "tile": tile}


def vector(kb: KernelBuilder) -> Family:
    kb.gen.palette = ("arith", "linalg", "quat", "xform", "minmax", "interp", "call", "math")
    variant = kb.rng.choice(("vec_ops", "mat_vec", "quat_rot", "transform", "struct_body", "components"))
    dtype = kb.pick_dtype(floats_only=True) if variant != "vec_ops" else kb.pick_dtype()
    if dtype == "int64" and variant == "vec_ops":
        dtype = "int32"
    ndim = kb.rng.choice((1, 1, 1, 2, 3))
    ctx: dict[str, Any] = {"variant": variant, "temps": [], "stores": [], "loads": []}
    v3 = vec(3, dtype)
    if variant == "vec_ops":
        ty = kb.vec_ty(dtype, allow_long=dtype in ("float32", "float64"))
        tys = [ty, ty, scalar(dtype)]
        outs = [ty]
    elif variant == "mat_vec":
        n = kb.rng.choice((2, 3, 4))
        tys, outs = [mat(n, dtype), vec(n, dtype)], [vec(n, dtype), mat(n, dtype)][: kb.rng.choice((1, 2))]
    elif variant == "quat_rot":
        tys, outs = [Ty("quat", dtype), v3], [v3, Ty("quat", dtype)][: kb.rng.choice((1, 2))]
    elif variant == "transform":
        tys, outs = [Ty("transform", dtype), v3], [v3]
    elif variant == "components":
        tys, outs = [scalar(dtype)] * 3, [v3, scalar(dtype)][: kb.rng.choice((1, 2))]
    else:
        tys, outs = [v3], [v3]
    if variant == "struct_body":
        sname, fields = kb.struct([v3, v3, scalar(dtype)] + [Ty("quat", dtype)] * kb.rng.choice((0, 1)))
        bodies = kb.names.array()
        kb.parts.kparams.append(f"{bodies}: wp.array(dtype={sname})" if ndim == 1
                                else f"{bodies}: wp.array(dtype={sname}, ndim={ndim})")
    arrs = [(kb.names.array(), t) for t in tys]
    outarrs = [(kb.names.array(), t) for t in outs]
    for a, t in arrs + outarrs:
        kb.array(t, ndim, a)
    kb.tid(ndim)
    if kb.rng.random() < 0.25:
        kb.func(outs[0], [tys[0]], depth=2)
    for a, t in arrs:
        loc = kb.names.local()
        ctx["loads"].append(f"{loc} = {kb.at(a)}")
        kb.scope.add(loc, t)
    if variant == "struct_body":
        b = kb.names.local()
        ctx["loads"].append(f"{b} = {kb.at(bodies)}")
        for f, t in fields:
            kb.scope.add(f"{b}.{f}", t, readonly=True)
    if variant == "components":
        names = [ln.split(" = ")[0] for ln in ctx["loads"]]
        _, line = kb.local(v3, f"{v3.name}({', '.join(names)})")
        ctx["temps"].append(line)
    for _ in range(kb.rng.randint(1, 3)):
        t = kb.rng.choice([*outs, *tys])
        _, line = kb.local(t, depth=kb.rng.choice((2, 3)))
        ctx["temps"].append(line)
    ctx["stores"] = [(kb.at(a), kb.gen.expr(t, 2)) for a, t in outarrs]
    return variant, ctx, {"dtype": dtype, "types": [t.name for t in tys], "ndim": ndim}


__all__ = ["Family", "Io", "arithmetic", "conditional", "indent", "io", "loop", "math_", "value_ty", "vector"]
