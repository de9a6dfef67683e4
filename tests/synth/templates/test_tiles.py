"""The tiles template family: variants, the tile builtins it promises, the module's block_dim, and real
compilation and CPU execution (``wp.launch_tiled`` with CPU blocks) of a few samples of every variant."""

from __future__ import annotations

import re

import pytest

from tests.synth.templates.family import (
    assert_parameters_used_and_not_shadowed,
    assert_skeletons_diverse,
    assert_variants_reachable_and_modules_clean,
    compile_and_execute,
    sample,
    samples,
)
from warp_synth.extract.screen import screen
from warp_synth.synth.templates import tiles as fam

pytestmark = pytest.mark.timeout(900)


SAMPLES = samples(fam, "tiles", 300)


def test_every_variant_is_reachable_and_renders_one_kernel() -> None:
    assert_variants_reachable_and_modules_clean(fam, SAMPLES, "import warp as wp\n\nwp.set_module_options({\"block_dim\": ")


def test_deterministic_per_seed() -> None:
    assert sample(fam, "tiles", 7) == sample(fam, "tiles", 7)
    assert sample(fam, "tiles", 7)[1] != sample(fam, "tiles", 8)[1]


def test_uses_the_promised_tile_builtins() -> None:
    text = "\n".join(src for _, src, _ in SAMPLES)
    used = set(re.findall(r"wp\.(\w+)\(", text))
    promised = (
        "tile_load", "tile_store", "tile_sum", "tile_max", "tile_reduce", "tile_map", "tile_broadcast",
        "tile_extract", "tile_zeros", "tile_ones", "tile_full", "tile_arange", "tile_empty", "tile_transpose",
        "tile_reshape", "tile_squeeze", "tile_view", "tile_assign", "tile_argmax", "tile_argmin",
        "tile_scan_inclusive", "tile_scan_exclusive", "tile_scan_max_inclusive", "tile_scan_min_inclusive",
        "tile_sort", "tile_dot", "tile_axpy", "tile_diag_add", "tile_from_thread", "untile", "tile",
        "tile_load_indexed", "tile_store_indexed", "tile_atomic_add_indexed", "tile_scatter_add",
        "tile_scatter_masked", "tile_atomic_add", "tile_stack", "tile_stack_push", "tile_stack_pop",
        "tile_stack_count",
    )
    assert not set(promised) - used, set(promised) - used
    assert not used & {"tile_matmul", "tile_cholesky", "tile_fft", "tile_ifft", "tile_lower_solve"}
    assert "@wp.func" in text and "wp.float64" in text


def test_every_parameter_is_used_and_thread_variants_fit_a_row() -> None:
    assert_parameters_used_and_not_shadowed(SAMPLES)
    for v, src, p in SAMPLES:
        bd = int(re.search(r'"block_dim": (\d+)', src).group(1))  # type: ignore[union-attr]
        assert bd == p["block_dim"], src
        if v in fam.THREAD_VARIANTS:  # one lane per element of a 16-wide row of the executor's arrays
            assert bd <= 16, src


def test_samples_pass_the_screen() -> None:
    for _, src, _ in SAMPLES[:60]:
        res = screen(src)
        assert res.ok, (res, src)


def test_skeletons_are_diverse() -> None:
    assert_skeletons_diverse(SAMPLES, 0.5, 5)


def test_samples_compile_and_execute_on_the_cpu() -> None:
    picked: list[tuple[str, str, dict]] = []
    for v in fam.VARIANTS:  # two of every variant
        picked += [s for s in SAMPLES if s[0] == v][:2]
    outs = compile_and_execute(picked, 1 / 10)
    grads = {o.kernels[0].execution["grad"]["status"] for o in outs if hasattr(o, "kernels")}
    assert "passed" in grads  # the differentiable ones (layer norm, transposes, gathers) check their adjoint
