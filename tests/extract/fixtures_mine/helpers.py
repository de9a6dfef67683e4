import warp as wp

EPS = wp.constant(1.0e-6)


@wp.func
def safe_div(a: float, b: float) -> float:
    return a / (b + EPS)


@wp.kernel
def normalize(a: wp.array(dtype=float), total: float):
    i = wp.tid()
    a[i] = safe_div(a[i], total)
