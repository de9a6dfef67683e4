import math

import warp as wp
from helpers import safe_div
from helpers import safe_div as sdiv
from warp import vec3


@wp.kernel
def ratio(a: wp.array(dtype=float), b: wp.array(dtype=float), out: wp.array(dtype=vec3)):
    i = wp.tid()
    r = safe_div(a[i], b[i]) + sdiv(1.0, b[i])
    out[i] = vec3(r, r * math.pi, 0.0)


@wp.kernel
def normalize(a: wp.array(dtype=float), total: float):
    # the same kernel text as helpers.normalize: one record for both
    i = wp.tid()
    a[i] = safe_div(a[i], total)
