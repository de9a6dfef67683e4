"""Functions family: ``@wp.func`` helpers the way Warp code writes them.

Variants: ``sph_helpers`` (smoothing-kernel helpers calling one another inside a neighbour loop),
``overloads`` (two or three ``@wp.func`` of one name for different argument types, Warp's function
overloading, one overload calling another), ``generic`` (helpers with ``typing.Any`` parameters, each called
with two concrete types), ``custom_grad`` (a helper with a hand-written adjoint, ``@wp.func_grad(f)`` with
``wp.adjoint[x] += ...``, exact so the finite-difference check agrees), ``multi_return`` (helpers returning
several values, unpacked by the kernel, among them a homogeneous point split by a vector slice) and
``array_helpers`` (helpers taking arrays: table lookups, bilinear grid samples, clamped stencils, Horner's rule
and discounted returns in ``reversed(range(...))`` loops).  ``generic`` and ``multi_return`` kernels may check
their helpers' results with ``wp.expect_eq``/``expect_neq``/``expect_near``, as Warp's tests do.  ``@wp.func_replay`` is not generated: the screen refuses it.
This module writes the definitions and the kernel body; ``prompts/kernels/functions.j2`` lays them out.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from warp_synth.synth.jinja_env import render
from warp_synth.synth.templates.base import Family
from warp_synth.synth.templates.kernel import IND, KernelBuilder
from warp_synth.synth.templates.structs import _W

VARIANTS = ("sph_helpers", "overloads", "generic", "custom_grad", "multi_return", "array_helpers")
_KERNELS = {
    "sph_helpers": ("compute_density", "sph_density", "eval_density", "accumulate_density"),
    "overloads": ("eval_penalty", "apply_overloads", "compute_norms", "eval_losses"),
    "generic": ("blend_fields", "generic_update", "mix_values", "interpolate_fields"),
    "custom_grad": ("eval_activation", "forward_loss", "apply_activation", "safe_forward"),
    "multi_return": ("closest_points", "decompose", "eval_pairs", "split_values"),
    "array_helpers": ("sample_field", "lookup_values", "filter_signal", "advect_samples"),
}


class _F(_W):
    """``_W`` plus module definitions with their own decorators (``@wp.func``, ``@wp.func_grad(f)``)."""

    def __init__(self, kb: KernelBuilder) -> None:
        super().__init__(kb, "float32")
        self.T["f"] = "float"
        self.defs: list[dict[str, Any]] = []
        self.any = False

    def define(self, name: str, params: list[str], body: list[str], ret: str = "", deco: str = "wp.func") -> str:
        self.defs.append({"deco": deco, "name": name, "params": params, "ret": ret, "body": "\n".join(body)})
        if deco == "wp.func" and name not in self.funcs:
            self.funcs.append(name)
        return name

    def ann(self) -> str:
        return self.pick("float", "wp.float32")


def _sph_helpers(w: _F) -> None:
    f = w.ann()
    cubic = w.o["cubic"] = w.coin(0.4)
    if not cubic:
        poly6 = w.fresh("poly6", "w_poly6", "kernel_poly6")
        w.define(poly6, [f"r2: {f}", f"h: {f}"], [
            "hr = h * h - r2", *(["if hr <= 0.0:", f"{IND}return 0.0"] if w.coin() else ["hr = wp.max(hr, 0.0)"]),
            "return (315.0 / (64.0 * 3.14159265 * wp.pow(h, 9.0))) * hr * hr * hr"], f)
    else:
        spline = w.fresh("cubic_spline", "w_cubic", "spline_kernel")
        w.define(spline, [f"q: {f}"], [
            "if q < 1.0:", f"{IND}return 1.0 - 1.5 * q * q + 0.75 * q * q * q",
            "if q < 2.0:", f"{IND}t = 2.0 - q", f"{IND}return 0.25 * t * t * t", "return 0.0"], f)
    weight = w.fresh("weight", "kernel_weight", "smoothing_weight")
    wbody = (["r = wp.length(d)", f"return {spline}(r / h) / (3.14159265 * h * h * h)"] if cubic
             else ["r2 = wp.dot(d, d)", f"return {poly6}(r2, h)"])
    w.define(weight, [f"d: {w.T['v3']}", f"h: {f}"], wbody, f)
    grad = w.o["grad"] = w.coin(0.45)
    if grad:
        spiky = w.fresh("spiky_grad", "grad_spiky", "w_spiky_grad")
        w.define(spiky, [f"d: {w.T['v3']}", f"h: {f}"], [
            "r = wp.length(d)", "if r <= 1.0e-6 or r >= h:", f"{IND}return wp.vec3()",
            "c = -45.0 / (3.14159265 * wp.pow(h, 6.0)) * (h - r) * (h - r)", "return d * (c / r)"], w.T["v3"])
    x = w.arr("v3", "x", "particle_x", "positions")
    mass = w.arr("f", "mass", "particle_mass") if w.coin(0.4) else w.scalar("mass", "particle_m", value="0.5")
    h = w.scalar("h", "radius", "support", value="0.5")
    n_src = w.o["n_src"] = w.pick("shape", "param", "const")
    if n_src == "shape":
        n = f"{x}.shape[0]"
    else:
        n = w.par("int", "num_particles", "count", "n") if n_src == "param" else w.const("16", "NUM_NEIGHBORS", "N")
    rho = w.arr("f", "density", "rho", "particle_rho")
    force = w.arr("v3", "f_pressure", "forces", "accel") if grad else ""
    k = w.scalar("k", "stiffness", "kp", value="0.1") if grad else ""
    i = w.tid()
    w.emit(f"xi = {x}[{i}]", "acc = float(0.0)", *(["g = wp.vec3()"] if grad else []))
    w.emit(f"for j in range({n}):")
    mj = f"{mass}[j]" if any(p.startswith(f"{mass}: wp.array") for p in w.kb.parts.kparams) else mass
    w.emit("d = xi - " + f"{x}[j]", f"acc += {mj} * {weight}(d, {h})", level=2)
    if grad:
        w.emit("if j != " + i + ":", level=2)
        w.emit(f"g += {spiky}(d, {h}) * {mj}", level=3)
    w.emit(f"{rho}[{i}] = acc")
    if grad:
        w.emit(f"{force}[{i}] = g * (-{k})")


_OVERLOADS = ("sq_norm", "huber", "smooth_abs", "clamp_mag")


def _overloads(w: _F) -> None:
    kind = w.o["kind"] = w.pick(*_OVERLOADS)
    name = w.fresh({"sq_norm": "sq_norm", "huber": "huber", "smooth_abs": "smooth_abs",
                    "clamp_mag": "clamp_mag"}[kind], {"sq_norm": "norm2", "huber": "huber_loss",
                                                      "smooth_abs": "soft_abs", "clamp_mag": "limit"}[kind])
    f, v3 = w.ann(), w.T["v3"]
    third = w.o["third"] = w.coin(0.35)
    order = ["f", "v"] + (["m" if kind == "sq_norm" else "d"] if third else [])
    if w.coin(0.4):
        w.r.shuffle(order)
    bodies: dict[str, tuple[list[str], list[str], str]] = {}
    if kind == "sq_norm":
        bodies = {"f": ([f"x: {f}"], ["return x * x"], f), "v": ([f"v: {v3}"], ["return wp.dot(v, v)"], f),
                  "m": (["m: wp.mat33"], ["return wp.ddot(m, m)"], f)}
    elif kind == "huber":
        bodies = {"f": ([f"x: {f}", f"delta: {f}"], ["a = wp.abs(x)", "if a <= delta:", f"{IND}return 0.5 * x * x",
                                                      "return delta * (a - 0.5 * delta)"], f),
                  "v": ([f"v: {v3}", f"delta: {f}"], [f"return {name}(wp.length(v), delta)"], f),
                  "d": (["v: wp.vec2", f"delta: {f}"], [f"return {name}(wp.length(v), delta)"], f)}
    elif kind == "smooth_abs":
        bodies = {"f": ([f"x: {f}", f"eps: {f}"], ["return wp.sqrt(x * x + eps)"], f),
                  "v": ([f"v: {v3}", f"eps: {f}"], ["return wp.sqrt(wp.dot(v, v) + eps)"], f),
                  "d": (["v: wp.vec2", f"eps: {f}"], ["return wp.sqrt(wp.dot(v, v) + eps)"], f)}
    else:
        bodies = {"f": ([f"x: {f}", f"lim: {f}"], ["return wp.clamp(x, -lim, lim)"], f),
                  "v": ([f"v: {v3}", f"lim: {f}"], ["n = wp.length(v)", "if n > lim:", f"{IND}return v * (lim / n)",
                                                    "return v"], v3),
                  "d": (["v: wp.vec2", f"lim: {f}"], ["n = wp.length(v)", "if n > lim:", f"{IND}return v * (lim / n)",
                                                    "return v"], "wp.vec2")}
    if kind == "huber" and order[0] != "f":
        order.remove("f")
        order.insert(0, "f")  # the vector overload calls the scalar one: define that first
    for k in order:
        ps, body, ret = bodies[k]
        w.define(name, ps, body, ret)
    arrs = {"f": w.arr("f", "a", "values", "residual"), "v": w.arr("v3", "v", "vectors", "offsets")}
    if "m" in order:
        arrs["m"] = w.arr("wp.mat33", "F", "strain", "mats")
    if "d" in order:
        arrs["d"] = w.arr("wp.vec2", "uv", "planar", "v2")
    extra = "" if kind == "sq_norm" else w.scalar({"huber": "delta", "smooth_abs": "eps", "clamp_mag": "lim"}[kind],
                                                  "threshold", value={"huber": "0.5", "smooth_abs": "0.01",
                                                                      "clamp_mag": "0.75"}[kind])
    out = w.arr("f", "out", "loss", "result")
    vout = w.arr("v3", "v_out", "clamped") if kind == "clamp_mag" else ""
    i = w.tid()
    arg = f", {extra}" if extra else ""
    w.emit(f"s = {name}({arrs['f']}[{i}]{arg})")
    if kind == "clamp_mag":
        w.emit(f"c = {name}({arrs['v']}[{i}]{arg})", f"{vout}[{i}] = c", "s = s + wp.length(c)")
    else:
        w.emit(f"s = s + {name}({arrs['v']}[{i}]{arg})" if w.coin() else f"s += {name}({arrs['v']}[{i}]{arg})")
    if "m" in arrs:
        w.emit(f"s = s + {name}({arrs['m']}[{i}])")
    if "d" in arrs:
        e2 = f"{name}({arrs['d']}[{i}]{arg})"
        w.emit(f"s = s + {'wp.length(' + e2 + ')' if kind == 'clamp_mag' else e2}")
    w.emit(f"{out}[{i}] = s")


_GENERICS = ("lerp", "weighted_sum", "max3", "gather", "abs_diff")


def _generic(w: _F) -> None:
    w.any = True
    pair = w.pick(("float", "wp.vec3"), ("float", "wp.vec2"), ("wp.vec3", "wp.vec4"), ("wp.float64", "wp.vec3d"),
                  ("float", "wp.mat22"))
    w.o["pair"] = " and ".join(pair)
    ok = [g for g in _GENERICS if "mat22" not in pair[1] or g not in ("max3", "abs_diff")]  # elementwise only
    chosen = w.r.sample(ok, w.pick(1, 2, 2, 3))
    w.o["generics"] = ",".join(chosen)
    names: dict[str, str] = {}
    for g in chosen:
        if g == "lerp":
            names[g] = w.define(w.fresh("lerp", "mix", "blend"), ["a: Any", "b: Any", f"t: {w.pick('Any', 'Any')}"],
                                ["return a + (b - a) * t"])
        elif g == "weighted_sum":
            names[g] = w.define(w.fresh("weighted_sum", "accumulate", "axpy"), ["acc: Any", "x: Any", "wt: Any"],
                                ["return acc + x * wt"])
        elif g == "max3":
            names[g] = w.define(w.fresh("max3", "upper", "max_of"), ["a: Any", "b: Any", "c: Any"],
                                ["return wp.max(wp.max(a, b), c)"])
        elif g == "gather":
            names[g] = w.define(w.fresh("gather", "fetch", "load_clamped"), ["arr: wp.array(dtype=Any)", "i: int"],
                                ["j = wp.clamp(i, 0, arr.shape[0] - 1)", "return arr[j]"])
        else:
            names[g] = w.define(w.fresh("abs_diff", "distance_l1", "delta_abs"), ["a: Any", "b: Any"],
                                ["return wp.abs(a - b)"])
    scal = "wp.float64" if pair[0] == "wp.float64" else "float"
    arrs = [[w.arr(t, *(f"{b}{k}" for b in ("a", "field", "src"))) for k in range(2)] for t in pair]
    t = w.arr(scal, "alpha", "weights", "t") if w.coin(0.6) else ""
    outs = [w.arr(ty, *(f"{b}{k}" for b in ("out", "dst", "res"))) for k, ty in enumerate(pair)]
    off = w.par("int", "offset", "shift") if "gather" in chosen else ""
    i = w.tid()
    tv = f"{t}[{i}]" if t else (w.c("0.5") if scal == "float" else "wp.float64(0.5)")
    checks = w.o["checks"] = w.coin(0.45)  # a test-like kernel: Warp's in-kernel assertions on each helper
    zero, tol = ("0.0", "1.0e-5") if scal == "float" else ("wp.float64(0.0)", "wp.float64(1.0e-12)")
    for k, (a, b) in enumerate(arrs):
        # scalars as the weights of vectors/matrices: the same generic helper, another concrete type
        x, y = f"{a}[{i}]", f"{b}[{i}]"
        w.emit(f"r{k} = {x}")
        for g in chosen:
            fn = names[g]
            call = {"lerp": f"{fn}(r{k}, {y}, {tv})", "weighted_sum": f"{fn}(r{k}, {y}, {tv})",
                    "max3": f"{fn}(r{k}, {y}, {x})", "gather": f"{fn}({b}, {i} + {off})",
                    "abs_diff": f"{fn}(r{k}, {y})"}[g]
            w.emit(f"r{k} = {call}" if g != "gather" else f"r{k} = r{k} + {call}")
        if checks:
            w.emit(*_generic_checks(names, chosen, x, y, b, zero, tol))
        w.emit(f"{outs[k]}[{i}] = r{k}")


def _generic_checks(names: dict[str, str], chosen: list[str], x: str, y: str, arr: str, zero: str,
                    tol: str) -> list[str]:
    """Properties each generic helper has for any input, checked as Warp's tests do: a zero weight gives
    the first value back, the maximum of one value three times is that value, a clamped gather below the
    range reads the first element, an absolute difference is symmetric."""
    lines = []
    for g in chosen:
        fn = names[g]
        lines.append({"lerp": f"wp.expect_near({fn}({x}, {y}, {zero}), {x}, {tol})",
                      "weighted_sum": f"wp.expect_near({fn}({x}, {y}, {zero}), {x}, {tol})",
                      "max3": f"wp.expect_eq({fn}({x}, {x}, {x}), {x})", "gather": f"wp.expect_eq({fn}({arr}, -1), {arr}[0])",
                      "abs_diff": f"wp.expect_eq({fn}({x}, {y}), {fn}({y}, {x}))"}[g])
    return lines


_GRADS = ("safe_sqrt", "softplus", "sigmoid", "safe_length", "smooth_min")


def _custom_grad(w: _F) -> None:
    kind = w.o["kind"] = w.pick(*_GRADS)
    f, v3 = w.ann(), w.T["v3"]
    fn = w.fresh(kind, {"safe_sqrt": "sqrt_eps", "softplus": "soft_relu", "sigmoid": "logistic",
                        "safe_length": "length_eps", "smooth_min": "soft_min"}[kind])
    adj = w.fresh(f"adj_{fn}", f"{fn}_grad")
    vec = kind == "safe_length"
    if kind == "safe_sqrt":
        w.define(fn, [f"x: {f}"], ["return wp.sqrt(wp.max(x, 1.0e-8))"], f)
        w.define(adj, [f"x: {f}", f"adj_ret: {f}"],
                 ["wp.adjoint[x] += adj_ret * 0.5 / wp.sqrt(wp.max(x, 1.0e-8))"], deco=f"wp.func_grad({fn})")
    elif kind == "softplus":
        w.define(fn, [f"x: {f}"], ["return wp.log(1.0 + wp.exp(x))"], f)
        w.define(adj, [f"x: {f}", f"adj_ret: {f}"], ["wp.adjoint[x] += adj_ret / (1.0 + wp.exp(-x))"],
                 deco=f"wp.func_grad({fn})")
    elif kind == "sigmoid":
        w.define(fn, [f"x: {f}"], ["return 1.0 / (1.0 + wp.exp(-x))"], f)
        w.define(adj, [f"x: {f}", f"adj_ret: {f}"], [f"s = {fn}(x)", "wp.adjoint[x] += adj_ret * s * (1.0 - s)"],
                 deco=f"wp.func_grad({fn})")
    elif kind == "safe_length":
        w.define(fn, [f"v: {v3}"], ["return wp.sqrt(wp.dot(v, v) + 1.0e-6)"], f)
        w.define(adj, [f"v: {v3}", f"adj_ret: {f}"], [f"wp.adjoint[v] += v * (adj_ret / {fn}(v))"],
                 deco=f"wp.func_grad({fn})")
    else:
        w.define(fn, [f"a: {f}", f"b: {f}"], ["return -0.1 * wp.log(wp.exp(-a * 10.0) + wp.exp(-b * 10.0))"], f)
        w.define(adj, [f"a: {f}", f"b: {f}", f"adj_ret: {f}"],
                 ["ea = wp.exp(-a * 10.0)", "eb = wp.exp(-b * 10.0)", "s = ea + eb",
                  "wp.adjoint[a] += adj_ret * ea / s", "wp.adjoint[b] += adj_ret * eb / s"],
                 deco=f"wp.func_grad({fn})")
    nested = w.o["nested"] = w.coin(0.45)
    call_name = fn
    if nested:  # a helper calling the custom-gradient one: its adjoint uses the custom one
        call_name = w.fresh("activate", "apply", "outer")
        ps = ([f"v: {v3}"] if vec else [f"a: {f}", f"b: {f}"] if kind == "smooth_min" else [f"x: {f}"])
        args = ", ".join(p.split(":")[0] for p in ps)
        w.define(call_name, ps, [f"return {w.pick('2.0', '0.5', '3.0')} * {fn}({args})"], f)
    x = w.arr("v3" if vec else "f", "x", "inputs", "z")
    y = w.arr("f", "y", "b", "other") if kind == "smooth_min" else ""
    scale = w.arr("f", "scale", "gain") if w.coin(0.35) else ""
    out = w.arr("f", "out", "activations", "loss")
    i = w.tid()
    arg = f"{x}[{i}]" + (f", {y}[{i}]" if y else "")
    w.emit(f"u = {call_name}({arg})")
    if scale:
        w.emit(f"u = u * {scale}[{i}]")
    if w.coin(0.4):
        w.emit(f"wp.atomic_add({out}, 0, u)")
        w.o["reduce"] = True
    else:
        w.emit(f"{out}[{i}] = u")


def _multi_return(w: _F) -> None:
    kind = w.o["kind"] = w.pick("closest_segment", "polar", "sincos", "min_max", "quadratic", "homogeneous",
                                "homogeneous")
    f, v3 = w.ann(), w.T["v3"]
    checks = w.o["checks"] = w.coin(0.45)  # the helper's results checked with Warp's in-kernel assertions
    if kind == "homogeneous":
        _homogeneous(w, checks)
        return
    if kind == "closest_segment":
        fn = w.define(w.fresh("closest_on_segment", "project_segment", "segment_closest"),
                      [f"p: {v3}", f"a: {v3}", f"b: {v3}"],
                      ["ab = b - a", w.pick("t = wp.clamp(wp.dot(p - a, ab) / wp.max(wp.dot(ab, ab), 1.0e-8), 0.0, 1.0)",
                                            "t = wp.clamp(wp.dot(p - a, ab) / (wp.length_sq(ab) + 1.0e-8), 0.0, 1.0)"),
                       w.pick("return t, a + ab * t", "return t, wp.lerp(a, b, t)")])
        x, a, b = (w.arr("v3", *n) for n in (("x", "points", "query"), ("a", "seg_a", "p0"), ("b", "seg_b", "p1")))
        t_out, d_out = w.arr("f", "t_out", "param_t"), w.arr("f", "dist", "distance")
        i = w.tid()
        q_out = w.arr("v3", "closest", "q_out") if w.coin() else ""
        w.emit(f"t, q = {fn}({x}[{i}], {a}[{i}], {b}[{i}])", *([
            f"wp.expect_near(q, {a}[{i}] + ({b}[{i}] - {a}[{i}]) * t, 1.0e-5)"] if checks else []), f"{t_out}[{i}] = t",
               f"{d_out}[{i}] = wp.{w.pick('length', 'length', 'length_sq')}({x}[{i}] - q)", *([f"{q_out}[{i}] = q"] if q_out else []))
        return
    if kind == "polar":
        fn = w.define(w.fresh("polar", "length_dir", "split_norm"), [f"v: {v3}"],
                      ["n = wp.length(v)", "return n, v / wp.max(n, 1.0e-8)"])
        src = w.arr("v3", "v", "vectors", "dirs")
        n_out, d_out = w.arr("f", "lengths", "mag"), w.arr("v3", "units", "dir_out")
        i = w.tid()
        w.emit(f"r, d = {fn}({src}[{i}])", *(["wp.expect_neq(r, 0.0)", "wp.expect_near(wp.length(d), 1.0, 1.0e-5)"]
                                             if checks else []),
               f"{n_out}[{i}] = {w.pick('r', 'r * r', 'wp.sqrt(r)')}", f"{d_out}[{i}] = d")
        return
    if kind == "sincos":
        fn = w.define(w.fresh("sincos", "rotate2", "phase"), [f"a: {f}", f"r: {f}"],
                      ["return r * wp.cos(a), r * wp.sin(a)"])
        ang, rad = w.arr("f", "theta", "angle"), w.arr("f", "r", "radius")
        out = w.arr("wp.vec2", "xy", "points2d")
        i = w.tid()
        ctr = w.arr("wp.vec2", "center", "origin") if w.coin() else ""
        w.emit(f"c, s = {fn}({ang}[{i}], {rad}[{i}])",
               *([f"wp.expect_near(c * c + s * s, {rad}[{i}] * {rad}[{i}], 1.0e-5)"] if checks else []), f"{out}[{i}] = " + (f"{ctr}[{i}] + " if ctr else "") + "wp.vec2(c, s)")
        return
    if kind == "min_max":
        fn = w.define(w.fresh("min_max", "order2", "sort2"), [f"a: {f}", f"b: {f}"],
                      ["return wp.min(a, b), wp.max(a, b)"])
        a, b = w.arr("f", "a", "lhs"), w.arr("f", "b", "rhs")
        lo, hi = w.arr("f", "lo", "lower"), w.arr("f", "hi", "upper")
        i = w.tid()
        span = w.arr("f", "span", "width") if w.coin() else ""
        w.emit(f"l, h = {fn}({a}[{i}], {b}[{i}])", *(["wp.expect_eq(wp.min(l, h), l)"] if checks else []),
               f"{lo}[{i}] = l", f"{hi}[{i}] = h",
               *([f"{span}[{i}] = h - l"] if span else []))
        return
    fn = w.define(w.fresh("quadratic_roots", "solve_quadratic", "roots2"), [f"a: {f}", f"b: {f}", f"c: {f}"],
                  [f"disc = wp.sqrt({w.pick('wp.max(b * b - 4.0 * a * c, 0.0)', 'wp.abs(b * b - 4.0 * a * c)')})",
                   *w.pick(["return (-b - disc) / (2.0 * a), (-b + disc) / (2.0 * a)"],
                           ["inv = 0.5 / a", "return (-b - disc) * inv, (-b + disc) * inv"],
                           ["q = -0.5 * (b + disc)", "return q / a, c / wp.where(q == 0.0, 1.0e-8, q)"])])
    packed = w.coin(0.4)
    abc = [w.arr("v3", "coeffs", "abc")] if packed else [w.arr("f", *n) for n in (("qa", "coef_a"), ("qb", "coef_b"),
                                                                                 ("qc", "coef_c"))]
    out = w.arr("wp.vec2", "roots", "solutions")
    prod = w.arr("f", "product", "vieta") if w.coin() else ""
    i = w.tid()
    args = f"{abc[0]}[{i}][0], {abc[0]}[{i}][1], {abc[0]}[{i}][2]" if packed else ", ".join(f"{x}[{i}]" for x in abc)
    order = w.pick("r0, r1", "r1, r0", "wp.min(r0, r1), wp.max(r0, r1)")
    if checks:  # the leading coefficient divides: a precondition
        w.emit(f"wp.expect_neq({abc[0]}[{i}][0], 0.0)" if packed else f"wp.expect_neq({abc[0]}[{i}], 0.0)")
    w.emit(f"r0, r1 = {fn}({args})", f"{out}[{i}] = wp.vec2({order})", *([f"{prod}[{i}] = r0 * r1"] if prod else []))


def _homogeneous(w: _F, checks: bool) -> None:
    """A helper splitting homogeneous points into the Cartesian point and the weight: a vector slice."""
    xyz = w.pick("slice", "slice", "colon", "range")
    body = {"slice": ["xyz = slice(0, 3, 1)", "return p[xyz] / p[3], p[3]"], "colon": ["return p[:3] / p[3], p[3]"],
            "range": ["w = p[3]", "return p[0:3] / w, w"]}[xyz]
    w.o["slice"] = xyz
    fn = w.define(w.fresh("dehomogenize", "from_homogeneous", "project_point"), ["p: wp.vec4"], body)
    src = w.arr("wp.vec4", "points_h", "hpos", "clip")
    pts, wts = w.arr("v3", "points", "xyz", "world"), w.arr("f", "w_out", "weights", "depth") if w.coin() else ""
    i = w.tid()
    w.emit(f"x, wh = {fn}({src}[{i}])")
    if checks:
        w.emit(f"wp.expect_near(x * wh, wp.vec3({src}[{i}][0], {src}[{i}][1], {src}[{i}][2]), 1.0e-5)")
    w.emit(f"{pts}[{i}] = x", *([f"{wts}[{i}] = wh"] if wts else []))


def _array_helpers(w: _F) -> None:
    kind = w.o["kind"] = w.pick("bilinear", "table", "stencil", "horner", "returns")
    f = w.ann()
    if kind in ("horner", "returns"):
        _backward_loop(w, kind, f)
        return
    if kind == "bilinear":
        fn = w.define(w.fresh("sample_grid", "bilinear", "grid_lookup"),
                      [f"grid: wp.array2d(dtype={f})", f"u: {f}", f"v: {f}"],
                      ["x = u * float(grid.shape[0] - 1)", "y = v * float(grid.shape[1] - 1)",
                       "i = wp.clamp(int(x), 0, grid.shape[0] - 2)", "j = wp.clamp(int(y), 0, grid.shape[1] - 2)",
                       "fx = x - float(i)", "fy = y - float(j)",
                       "a = grid[i, j] * (1.0 - fx) + grid[i + 1, j] * fx",
                       "b = grid[i, j + 1] * (1.0 - fx) + grid[i + 1, j + 1] * fx", "return a * (1.0 - fy) + b * fy"], f)
        grid = w.fresh("grid", "field", "height")
        w.kb.parts.kparams.append(f"{grid}: wp.array2d(dtype={f})")
        split = w.coin()
        pts = [w.arr("f", "u", "s"), w.arr("f", "v", "t")] if split else [w.arr("wp.vec2", "uv", "samples", "coords")]
        out = w.arr("f", "values", "out", "heights")
        i = w.tid()
        if split:
            w.emit(f"{out}[{i}] = {fn}({grid}, {pts[0]}[{i}], {pts[1]}[{i}])")
        else:
            w.emit(f"p = {pts[0]}[{i}]", f"{out}[{i}] = {fn}({grid}, p[0], p[1])")
        return
    if kind == "table":
        fn = w.define(w.fresh("lookup", "interp_table", "table_eval"), [f"table: wp.array(dtype={f})", f"u: {f}"],
                      [f"x = {w.pick('wp.clamp(u, 0.0, 1.0)', 'wp.min(wp.max(u, 0.0), 1.0)')} * float(table.shape[0] - 1)",
                       "k = wp.min(int(x), table.shape[0] - 2)", "t = x - float(k)",
                       "return table[k] * (1.0 - t) + table[k + 1] * t"], f)
        table = w.arr("f", "table", "curve", "lut")
        src = w.arr("f", "u", "inputs", "phase")
        out = w.arr("f", "out", "mapped")
        i = w.tid()
        w.emit(f"{out}[{i}] = {fn}({table}, {src}[{i}])" + (f" * {src}[{i}]" if w.coin(0.3) else ""))
        return
    fn = w.define(w.fresh("laplacian", "smooth_at", "stencil"), [f"a: wp.array(dtype={f})", "i: int"],
                  ["n = a.shape[0]", "l = a[wp.max(i - 1, 0)]", "r = a[wp.min(i + 1, n - 1)]",
                   f"return {w.pick('l + r - 2.0 * a[i]', '0.25 * l + 0.5 * a[i] + 0.25 * r', '0.5 * (l + r) - a[i]')}"],
                  f)
    src = w.arr("f", "u", "signal", "heat")
    out = w.arr("f", "u_new", "filtered", "out")
    alpha = w.scalar("alpha", "rate", value="0.25")
    i = w.tid()
    w.emit(f"{out}[{i}] = {src}[{i}] + {alpha} * {fn}({src}, {i})")


def _backward_loop(w: _F, kind: str, f: str) -> None:
    """Helpers whose loop runs from the end of an array to its start, ``for k in reversed(range(...))``:
    Horner's rule over polynomial coefficients, or discounted returns (reward-to-go) from each index on."""
    if kind == "horner":
        bound = w.o["bound"] = w.pick("shape", "degree", "const")
        deg = ["degree: int"] if bound == "degree" else []
        n = "wp.min(degree + 1, coeffs.shape[0])" if deg else "coeffs.shape[0]"
        if bound == "const":  # a fixed degree, a module constant
            n = f"{w.const(w.pick('3', '4', '5'), 'DEGREE', 'POLY_DEGREE', 'ORDER')} + 1"
        fn = w.define(w.fresh("horner", "poly_eval", "eval_poly"), [f"coeffs: wp.array(dtype={f})", f"x: {f}", *deg],
                      ["acc = float(0.0)", f"for k in reversed(range({n})):", f"{IND}acc = acc * x + coeffs[k]",
                       "return acc"], f)
        coeffs, src, out = w.arr("f", "coeffs", "poly", "c"), w.arr("f", "x", "t", "inputs"), w.arr("f", "out", "p")
        degree = w.par("int", "degree", "order") if deg else ""
        i = w.tid()
        w.emit(f"{out}[{i}] = {fn}({coeffs}, {src}[{i}]{', ' + degree if degree else ''})")
        return
    dones = w.o["dones"] = w.coin(0.4)
    fn = w.define(w.fresh("discounted_return", "reward_to_go", "returns_from"),
                  [f"rewards: wp.array(dtype={f})", *(["dones: wp.array(dtype=int)"] if dones else []), "start: int",
                   f"gamma: {f}"],
                  ["g = float(0.0)", "for k in reversed(range(start, rewards.shape[0])):",
                   *([f"{IND}if dones[k] != 0:", f"{IND * 2}g = 0.0"] if dones else []),
                   f"{IND}g = rewards[k] + gamma * g", "return g"], f)
    rewards = w.arr("f", "rewards", "r", "reward")
    flags = w.arr("i", "dones", "terminal", "episode_end") if dones else ""
    gamma = w.scalar("gamma", "discount", value="0.9")
    out = w.arr("f", "returns", "value_target", "g_out")
    i = w.tid()
    w.emit(f"{out}[{i}] = {fn}({rewards}, {flags + ', ' if flags else ''}{i}, {gamma})")


def _vary(w: _F) -> None:
    """Shape options every variant shares: a launch-size guard, an activity mask, a gain on the stored values,
    stores through a named local, return annotations left to Warp's inference."""
    for d in w.defs:
        if d["ret"] and w.coin(0.3):
            d["ret"] = ""
    i = w.kb.idx[0]
    if w.coin(0.4):
        n = w.par("int", "n", "count", "num_items")
        w.body[:0] = [f"{IND}if {i} >= {n}:", f"{IND * 2}return"]
        w.o["guard"] = True
    if w.coin(0.3):  # an activity mask, as simulators keep per-particle flags
        mask = w.arr("i", "active", "mask", "flags")
        w.body[:0] = [f"{IND}if {mask}[{i}] == 0:", f"{IND * 2}return"]
        w.o["mask"] = True
    f64 = any("float64" in p for p in w.kb.parts.kparams)
    stores = [k for k, ln in enumerate(w.body) if re.match(rf"^{IND}\w+\[{i}\] = ", ln)]
    if stores and not f64 and w.coin(0.5):
        gain = w.scalar("gain", "weight", "scale_out", value="0.5")
        k = w.r.choice(stores)
        lhs, rhs = w.body[k].split(" = ", 1)
        w.body[k] = f"{lhs} = ({rhs}) * {gain}" if w.coin() else f"{lhs} = {gain} * ({rhs})"
        w.o["gain"] = True
    for n_split, k in enumerate(k for k in stores if w.coin(0.3)):  # a store through a named local
        lhs, rhs = w.body[k + n_split].split(" = ", 1)
        res = w.kb.names._fresh("res")  # never a parameter's name (outputs may be called res0, res1)
        w.body[k + n_split:k + n_split + 1] = [f"{IND}{res} = {rhs}", f"{lhs} = {res}"]


_BUILD: dict[str, Callable[[_F], None]] = {v: globals()[f"_{v}"] for v in VARIANTS}


def family(kb: KernelBuilder) -> Family:
    variant = kb.rng.choice(VARIANTS)
    w = _F(kb)
    if kb.rng.random() < 0.7:
        kb.kname = kb.names._fresh(kb.rng.choice(_KERNELS[variant]))
    _BUILD[variant](w)
    _vary(w)
    ctx = {"variant": variant, "body": w.body, "o": w.o, "defs": w.defs, "any": w.any, "helpers": w.funcs}
    calls = re.findall(r"\bwp\.(\w+)\(", render("kernels/functions.j2", **kb.context(**ctx)))
    kb.gen.used += [n for n in calls if n not in ("constant", "tid", "float64", "array", "array2d", "func_grad")
                    and not n.startswith(("vec", "mat"))]
    params = {k: v for k, v in w.o.items() if isinstance(v, (str, bool))}
    return variant, ctx, {"dtype": "float32", **params}
