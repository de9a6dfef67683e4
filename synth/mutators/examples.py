"""Six small, realistic example kernels covering the shapes the operators target.

Used by ``benchmarks/mutator_yield.py`` and the compile tests; every one compiles with Warp.
"""

from __future__ import annotations

ARITHMETIC = '''import warp as wp


@wp.kernel
def saxpy_clamp(x: wp.array(dtype=wp.float32), y: wp.array(dtype=wp.float32), alpha: float, n: int):
    i = wp.tid()
    if i >= n:
        return
    v = alpha * x[i] + y[i]
    w = (v - 1.0) / 2.0
    y[i] = wp.clamp(w * w, 0.0, 10.0)
'''

LOOP = '''import warp as wp


@wp.kernel
def row_sum(data: wp.array(dtype=wp.float32), out: wp.array(dtype=wp.float32), width: int):
    i = wp.tid()
    acc = float(0.0)
    for k in range(4):
        acc += data[i * width + k] * 0.5
    for k in range(width):
        if data[i * width + k] > acc:
            acc = acc + wp.sin(data[i * width + k])
    out[i] = acc
'''

VECTOR = '''import warp as wp


@wp.kernel
def spring_force(pos: wp.array(dtype=wp.vec3), vel: wp.array(dtype=wp.vec3), forces: wp.array(dtype=wp.vec3),
                 rest: float, stiffness: float):
    tid = wp.tid()
    p = pos[tid]
    d = p - wp.vec3(0.0, 1.0, 0.0)
    dist = wp.length(d)
    axis = wp.normalize(d)
    f = axis * (stiffness * (rest - dist)) - vel[tid] * 0.1
    g = wp.cross(f, wp.vec3(0.0, 0.0, 1.0))
    forces[tid] = f + g * wp.min(dist, 1.0)
'''

ATOMIC = '''import warp as wp


@wp.kernel
def histogram(values: wp.array(dtype=wp.float32), bins: wp.array(dtype=wp.int32), total: wp.array(dtype=wp.float32),
              num_bins: int):
    i = wp.tid()
    v = values[i]
    b = wp.clamp(int(v * float(num_bins)), 0, num_bins - 1)
    wp.atomic_add(bins, b, 1)
    wp.atomic_add(total, 0, v * v)
'''

CONDITIONAL = '''import warp as wp

THRESHOLD = 0.5


@wp.kernel
def relu_select(a: wp.array(dtype=wp.float32), b: wp.array(dtype=wp.float32), out: wp.array(dtype=wp.float32)):
    i = wp.tid()
    x = a[i]
    y = b[i]
    if x > THRESHOLD:
        out[i] = x * y
    else:
        out[i] = wp.max(x, 0.0) - y
    if y < 0.0 and x != 0.0:
        out[i] += wp.abs(y) / x
'''

FUNC = '''import warp as wp


@wp.func
def smoothstep(e0: float, e1: float, x: float):
    return wp.clamp((x - e0) / (e1 - e0), 0.0, 1.0)


@wp.func
def lerp3(a: wp.vec3, b: wp.vec3, t: float) -> wp.vec3:
    return a + (b - a) * t


@wp.kernel
def blend(src: wp.array(dtype=wp.vec3), dst: wp.array(dtype=wp.vec3), weights: wp.array(dtype=float)):
    i = wp.tid()
    t = smoothstep(0.0, 1.0, weights[i])
    c = lerp3(src[i], dst[i], t)
    dst[i] = c * wp.exp(-t)
'''

EXAMPLE_KERNELS: dict[str, str] = {
    "arithmetic": ARITHMETIC,
    "loop": LOOP,
    "vector": VECTOR,
    "atomic": ATOMIC,
    "conditional": CONDITIONAL,
    "func": FUNC,
}
