import warp as wp

SETTINGS = {"scale": 2.0}


@wp.kernel
def uses_python_dict(a: wp.array(dtype=float)):
    i = wp.tid()
    a[i] = a[i] * wp.static(SETTINGS["scale"])


def make_kernel(n: int):
    @wp.kernel
    def repeat(a: wp.array(dtype=float)):
        i = wp.tid()
        for _ in range(n):
            a[i] = a[i] + 1.0

    return repeat


@wp.kernel
def plain(a: wp.array(dtype=float)):
    i = wp.tid()
    a[i] = a[i] * 2.0
