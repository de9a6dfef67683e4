import warp as wp

wp.set_module_options({"enable_backward": False})

TILE_M = wp.constant(4)
TILE_N = 32
BLOCK_DIM = 64


@wp.kernel
def row_sums(x: wp.array2d(dtype=float), y: wp.array2d(dtype=float)):
    i = wp.tid()
    a = wp.tile_load(x, shape=(TILE_M, TILE_N), offset=(i * TILE_M, 0))
    s = wp.tile_sum(a)
    wp.tile_store(y, wp.tile_broadcast(s, shape=(1, 1)), offset=(i, 0))


@wp.kernel
def tile_scale(x: wp.array2d(dtype=float), y: wp.array2d(dtype=float), alpha: float):
    i, j = wp.tid()
    a = wp.tile_load(x, shape=(TILE_M, TILE_N), offset=(i * TILE_M, j * TILE_N))
    wp.tile_store(y, a * alpha, offset=(i * TILE_M, j * TILE_N))
