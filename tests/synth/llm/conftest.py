"""Kernels and a builtin registry stand-in shared by the synth.llm tests (read through the ``k`` fixture)."""

from __future__ import annotations

import sys
import textwrap
from types import ModuleType

import pytest

SAXPY = textwrap.dedent(
    """\
    import warp as wp

    @wp.kernel
    def saxpy(x: wp.array(dtype=wp.float32), y: wp.array(dtype=wp.float32), a: float):
        i = wp.tid()
        y[i] = a * x[i] + y[i]
    """
)

RICH = textwrap.dedent(
    """\
    import warp as wp

    LIMIT = wp.constant(8)

    @wp.struct
    class Params:
        scale: wp.float64

    @wp.func
    def square(v: float) -> float:
        return v * v

    @wp.kernel
    def rich(grid: wp.array2d(dtype=wp.vec3), counts: wp.array(dtype=wp.int32), p: Params):
        i, j = wp.tid()
        acc = float(0.0)
        k = int(0)
        while k < LIMIT:
            for m in range(3):
                if m == 0 and k > 1:
                    continue
                elif m == 2 or k == 5:
                    break
                else:
                    acc += square(wp.sin(grid[i, j][m]))
            k += 1
        acc = acc if acc > 0.0 else -acc
        wp.atomic_add(counts, 0, 1)
        grid[i, j] = wp.normalize(grid[i, j]) * acc
    """
)

TILE = "import warp as wp\n@wp.kernel\ndef t(a: wp.array(dtype=float)):\n    s = wp.tile_sum(wp.tile_load(a, 4))\n"

# A stand-in for Warp's builtin registry: suggestible names, an operator, a scene-object query, tid.
BUILTINS = [
    "sin",
    "cos",
    "normalize",
    "atomic_add",
    "add",
    "mul",
    "mesh_query_point",
    "tile_sum",
    "tid",
    "exp",
]


@pytest.fixture
def k() -> ModuleType:
    """This module: the kernels and the builtin list above, for the tests to read."""
    return sys.modules[__name__]
