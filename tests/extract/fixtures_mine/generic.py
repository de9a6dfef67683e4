from typing import Any

import warp as wp


@wp.func
def twice(x: Any):
    return x + x


@wp.kernel
def scale_add(a: wp.array(dtype=Any), b: wp.array(dtype=Any), s: Any):
    i = wp.tid()
    b[i] = twice(a[i]) * s


wp.overload(scale_add, [wp.array(dtype=wp.float32), wp.array(dtype=wp.float32), wp.float32])


@wp.overload
def scale_add(a: wp.array(dtype=wp.vec3d), b: wp.array(dtype=wp.vec3d), s: wp.float64): ...


@wp.kernel
def never_overloaded(a: wp.array(dtype=Any)):
    i = wp.tid()
    a[i] = a[i] + a[i]
