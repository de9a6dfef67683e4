"""Kernels shaped like the seed pipeline's: its ten categories, each one fixed pattern with a few
randomised operators, builtins and constants (REPORT.md section 3: "basic math operations",
"if/else branching", "for loops with accumulators", "transcendental functions", "wp.vec3
operations", "wp.atomic_add", "nested loop patterns", "multiple elif branches", "multi-pattern
kernels", "kernels with scalar parameters").

A benchmark workload only: it shows what batching buys on kernels as small as the seed's, next to
the richer kernels `synth run` makes.  Deterministic in ``i``.
"""

from __future__ import annotations

import random

CATEGORIES = ("arithmetic", "conditional", "loop", "math", "vector", "atomic", "nested", "multi_cond",
              "combined", "scalar_param")
_OPS = ("+", "-", "*")
_UNARY = ("wp.sin", "wp.cos", "wp.exp", "wp.sqrt", "wp.abs", "wp.tanh", "wp.log", "wp.floor")
_CMP = ("<", ">", "<=", ">=")


_ARR = "wp.array(dtype=float)"
# one fixed pattern per category: {params} then the body, with the slots filled per kernel
_PATTERNS: dict[str, tuple[str, str]] = {
    "arithmetic": ("a: {A}, b: {A}, out: {A}", "out[tid] = (a[tid] {o1} b[tid]) {o2} {c1}"),
    "conditional": ("a: {A}, out: {A}",
                    "x = a[tid]\nif x {cmp} {c1}:\n    out[tid] = x {o1} {c2}\nelse:\n    out[tid] = x {o2} {c1}"),
    "loop": ("a: {A}, n: int, out: {A}",
             "s = float(0.0)\nfor k in range(n):\n    s = s {o1} a[tid] * {c1}\nout[tid] = s"),
    "math": ("a: {A}, out: {A}", "out[tid] = {u1}(a[tid]) {o1} {u2}(a[tid] * {c1})"),
    "vector": ("a: wp.array(dtype=wp.vec3), b: wp.array(dtype=wp.vec3), out: {A}",
               "v = a[tid] * {c1}\nw = b[tid]\nout[tid] = {vec}"),
    "atomic": ("a: {A}, total: {A}", "wp.atomic_add(total, 0, a[tid] {o1} {c1})"),
    "nested": ("a: {A}, n: int, out: {A}",
               "s = float(0.0)\nfor k in range(n):\n    for m in range(n):\n"
               "        s = s {o1} a[tid] * float(k {o2} m)\nout[tid] = s"),
    "multi_cond": ("a: {A}, out: {A}",
                   "x = a[tid]\nif x {cmp} {c1}:\n    out[tid] = x * {c2}\nelif x {cmp} {c2}:\n"
                   "    out[tid] = x {o1} {c1}\nelse:\n    out[tid] = {u1}(x)"),
    "combined": ("a: {A}, n: int, out: {A}",
                 "s = float(0.0)\nfor k in range(n):\n    x = a[tid] {o1} float(k)\n    if x {cmp} {c1}:\n"
                 "        s = s + {u1}(x)\nout[tid] = s"),
    "scalar_param": ("a: {A}, scale: float, offset: float, out: {A}",
                     "out[tid] = a[tid] * scale {o1} offset {o2} {c1}"),
}


def seed_kernel_source(i: int) -> str:
    r = random.Random(i)
    cat = CATEGORIES[i % len(CATEGORIES)]
    o1, o2 = r.choice(_OPS), r.choice(_OPS)
    u1, u2 = r.sample(_UNARY, 2)
    c1, c2 = round(r.uniform(0.5, 3.0), 2), round(r.uniform(0.5, 3.0), 2)
    slots = {"A": _ARR, "o1": o1, "o2": o2, "u1": u1, "u2": u2, "c1": c1, "c2": c2, "cmp": r.choice(_CMP)}
    if cat == "vector":
        slots["vec"] = r.choice(("wp.dot(v, w)", "wp.length(v + w)", "wp.length(wp.cross(v, w))"))
    params, body = _PATTERNS[cat]
    lines = ["tid = wp.tid()", *body.format(**slots).split("\n")]
    return (f"import warp as wp\n\n@wp.kernel\ndef {cat}_{i}({params.format(**slots)}):\n"
            + "".join(f"    {line}\n" for line in lines))
