"""The sandbox's own mechanics: the layers it reports, and private views of compiler caches."""

from __future__ import annotations

import os

import pytest

from warp_synth.extract import sandbox
from warp_synth.extract.engine import ExtractOptions, Extractor
from warp_synth.records import Accepted, Unit

pytestmark = pytest.mark.timeout(600)

# a tile kernel with its own block_dim: the compilers need precompiled headers the warm-up did not build
TILE_BLOCK_64 = '''import warp as wp


@wp.kernel(enable_backward=False)
def tile_rows(a: wp.array2d(dtype=float), out: wp.array(dtype=float)):
    i = wp.tid()
    t = wp.tile_load(a[i], shape=64)
    s = wp.tile_sum(t)
    wp.tile_store(out, s, offset=i)
'''


def test_the_probe_names_every_layer_and_what_is_in_force() -> None:
    layers = sandbox.probe()
    assert list(layers) == list(sandbox.LAYERS)
    assert all(isinstance(v, str) for v in layers.values())
    assert sandbox.missing_layers(layers) == [k for k, v in layers.items() if not v]


def test_a_batch_adds_to_compiler_caches_only_in_its_own_view(tmp_path) -> None:
    with Extractor(ExtractOptions(workers=1)) as ex:
        worker = ex.pool._all[0]
        [first] = ex.extract([Unit("warm", TILE_BLOCK_64.replace("tile_rows", "tile_rows_0"))])
        caches = [os.path.join(worker.workdir, "tmp", n) for n in os.listdir(os.path.join(worker.workdir, "tmp"))]
        before = {p: sorted(os.listdir(p)) for p in caches if os.path.isdir(p)}
        [second] = ex.extract([Unit("again", TILE_BLOCK_64.replace("tile_rows", "tile_rows_1"))])
        after = {p: sorted(os.listdir(p)) for p in caches if os.path.isdir(p)}
    assert isinstance(first, Accepted) and isinstance(second, Accepted)
    assert before == after  # the batch's new precompiled headers stayed in its process's overlay
