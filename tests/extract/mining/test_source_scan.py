"""What mining reads from a file's syntax tree without importing it (no Warp)."""

from __future__ import annotations

import textwrap

import pytest

from warp_synth.extract.mining.source_scan import declared_kernels, launch_block_dims, tile_block_dim

pytestmark = pytest.mark.timeout(60)


def test_declared_kernels_names_module_class_and_factory_kernels() -> None:
    src = textwrap.dedent("""
        import warp as wp

        @wp.kernel
        def a(x: wp.array(dtype=float)):
            pass

        class Solver:
            @wp.kernel(enable_backward=False)
            def b(x: wp.array(dtype=float)):
                pass

        def factory(n):
            @wp.kernel
            def c(x: wp.array(dtype=float)):
                pass
            return c

        @wp.func
        def not_a_kernel(x: float):
            return x
    """)
    assert declared_kernels(src) == [("a", 4), ("Solver.b", 9), ("factory.<locals>.c", 14)]


def test_declared_kernels_of_a_file_that_does_not_parse_is_empty() -> None:
    assert declared_kernels("@wp.kernel\ndef broken(:\n") == []


def test_tile_kernels_keep_the_block_dim_they_are_launched_with() -> None:
    src = textwrap.dedent("""
        wp.launch_tiled(gemm, dim=(1, 1), inputs=[], block_dim=THREADS)
        wp.launch_tiled(other, dim=(1, 1), inputs=[], block_dim=T * T)
        wp.launch(plain, dim=8, inputs=[], block_dim=self.n)
    """)
    launches = launch_block_dims(src, {"THREADS": 64, "T": 8})
    assert launches == ({"gemm": {64}, "other": {64}}, {64})
    tile_src = "x = wp.tile_load(a, shape=(4, 4))"
    assert tile_block_dim("gemm", tile_src, launches, {}) == 64
    assert tile_block_dim("unlaunched", tile_src, launches, {}) == 64  # the file's single value
    assert tile_block_dim("gemm", "a[i] = 1.0", launches, {}) is None  # not a tile kernel
    assert tile_block_dim("gemm", tile_src, launches, {"block_dim": 32}) is None  # module sets it
    two = launch_block_dims(
        "wp.launch_tiled(k, dim=1, block_dim=32)\nwp.launch_tiled(j, dim=1, block_dim=64)", {}
    )
    assert tile_block_dim("unlaunched", tile_src, two, {}) is None  # ambiguous: Warp's default
