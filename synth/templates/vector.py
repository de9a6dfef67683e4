"""Vector family: kernels over Warp's linear-algebra types.

Variants: ``vec_ops`` (vectors and a scalar, any dtype), ``mat_vec`` (matrix-vector and matrix
products), ``quat_rot`` (quaternions rotating ``vec3``s), ``transform`` (``wp.transform`` applied to
points), ``components`` (a ``vec3`` assembled from three scalar arrays) and ``struct_body`` (a
``@wp.struct`` of vectors, a scalar and optionally a quaternion read per thread).
"""

from __future__ import annotations

from typing import Any

from warp_synth.synth.templates.base import Family, anchored
from warp_synth.synth.templates.kernel import KernelBuilder
from warp_synth.synth.templates.types import Ty, mat, scalar, vec


def family(kb: KernelBuilder) -> Family:
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
    loaded = [(ln.split(" = ")[0], t) for ln, (_, t) in zip(ctx["loads"], arrs, strict=False)]
    for k, (_, t) in enumerate(outarrs):
        deps = [n for n, lt in loaded if lt == t]
        if deps:
            ctx["stores"][k] = (ctx["stores"][k][0], anchored(kb, t, ctx["stores"][k][1], deps))
            break
    return variant, ctx, {"dtype": dtype, "types": [t.name for t in tys], "ndim": ndim}
