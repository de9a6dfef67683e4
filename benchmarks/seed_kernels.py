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


def seed_kernel_source(i: int) -> str:
    r = random.Random(i)
    cat = CATEGORIES[i % len(CATEGORIES)]
    name = f"{cat}_{i}"
    o1, o2 = r.choice(_OPS), r.choice(_OPS)
    u1, u2 = r.sample(_UNARY, 2)
    c1, c2 = round(r.uniform(0.5, 3.0), 2), round(r.uniform(0.5, 3.0), 2)
    cmp = r.choice(_CMP)
    arr = "wp.array(dtype=float)"
    head = f"import warp as wp\n\n@wp.kernel\ndef {name}("
    if cat == "arithmetic":
        body = f"a: {arr}, b: {arr}, out: {arr}):\n    tid = wp.tid()\n    out[tid] = (a[tid] {o1} b[tid]) {o2} {c1}\n"
    elif cat == "conditional":
        body = (f"a: {arr}, out: {arr}):\n    tid = wp.tid()\n    x = a[tid]\n    if x {cmp} {c1}:\n"
                f"        out[tid] = x {o1} {c2}\n    else:\n        out[tid] = x {o2} {c1}\n")
    elif cat == "loop":
        body = (f"a: {arr}, n: int, out: {arr}):\n    tid = wp.tid()\n    s = float(0.0)\n    for k in range(n):\n"
                f"        s = s {o1} a[tid] * {c1}\n    out[tid] = s\n")
    elif cat == "math":
        body = f"a: {arr}, out: {arr}):\n    tid = wp.tid()\n    out[tid] = {u1}(a[tid]) {o1} {u2}(a[tid] * {c1})\n"
    elif cat == "vector":
        fn = r.choice(("wp.dot(v, w)", "wp.length(v + w)", "wp.length(wp.cross(v, w))"))
        body = (f"a: wp.array(dtype=wp.vec3), b: wp.array(dtype=wp.vec3), out: {arr}):\n    tid = wp.tid()\n"
                f"    v = a[tid] * {c1}\n    w = b[tid]\n    out[tid] = {fn}\n")
    elif cat == "atomic":
        body = f"a: {arr}, total: {arr}):\n    tid = wp.tid()\n    wp.atomic_add(total, 0, a[tid] {o1} {c1})\n"
    elif cat == "nested":
        body = (f"a: {arr}, n: int, out: {arr}):\n    tid = wp.tid()\n    s = float(0.0)\n    for k in range(n):\n"
                f"        for m in range(n):\n            s = s {o1} a[tid] * float(k {o2} m)\n    out[tid] = s\n")
    elif cat == "multi_cond":
        body = (f"a: {arr}, out: {arr}):\n    tid = wp.tid()\n    x = a[tid]\n    if x {cmp} {c1}:\n"
                f"        out[tid] = x * {c2}\n    elif x {cmp} {c2}:\n        out[tid] = x {o1} {c1}\n"
                f"    else:\n        out[tid] = {u1}(x)\n")
    elif cat == "combined":
        body = (f"a: {arr}, n: int, out: {arr}):\n    tid = wp.tid()\n    s = float(0.0)\n    for k in range(n):\n"
                f"        x = a[tid] {o1} float(k)\n        if x {cmp} {c1}:\n            s = s + {u1}(x)\n"
                f"    out[tid] = s\n")
    else:  # scalar_param
        body = (f"a: {arr}, scale: float, offset: float, out: {arr}):\n    tid = wp.tid()\n"
                f"    out[tid] = a[tid] * scale {o1} offset {o2} {c1}\n")
    return head + body
