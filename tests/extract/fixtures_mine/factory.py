"""Kernels made by a factory at import time and a kernel defined in a class body."""

import warp as wp


def make_scale(factor: float):
    @wp.kernel
    def scale(a: wp.array(dtype=float)):
        i = wp.tid()
        a[i] = a[i] * factor

    return scale


scale_by_two = make_scale(2.0)
scale_by_three = make_scale(3.0)


class Solver:
    @wp.kernel
    def relax(a: wp.array(dtype=float), omega: float):
        i = wp.tid()
        a[i] = (1.0 - omega) * a[i]
