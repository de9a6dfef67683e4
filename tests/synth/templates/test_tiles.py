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
        "tile_stack_count", "tile_stack_clear", "block_dim", "tile_matmul", "tile_cholesky", "tile_cholesky_inplace",
        "tile_cholesky_solve", "tile_cholesky_solve_inplace", "tile_lower_solve", "tile_lower_solve_inplace",
        "tile_upper_solve", "tile_upper_solve_inplace", "tile_fft", "tile_ifft", "tile_sum",
    )
    assert not set(promised) - used, set(promised) - used
    assert "@wp.func" in text and "wp.float64" in text


def _kernel_calls(src: str) -> set[str]:
    return set(re.findall(r"wp\.(\w+)\(", src.split("@wp.kernel", 1)[1]))


def test_linalg_variants_build_their_matrices_and_fit_warp_limits() -> None:
    for v, src, p in SAMPLES:
        calls = _kernel_calls(src)
        if v in ("spd_solve", "lstsq"):  # definite by a diagonal shift: random loads are not SPD
            assert "tile_diag_add" in calls and calls & {"tile_cholesky", "tile_cholesky_inplace"}, src
        if v == "whiten":  # differentiable end to end: no builtin without an adjoint
            assert "tile_diag_add" not in calls and "tile_lower_solve" in calls, src
        if v == "gemm" and p["loop"] == "dynamic":  # Warp 1.19's adjoint of a dynamic in-place loop needs a linear epilogue
            assert "tile_map" not in calls, src
        if v == "fft":  # the CPU FFT: at least 2 elements per thread, fft_size a multiple of block_dim
            assert f"wp.constant({p['n']})" in src, src
            assert p["n"] % p["block_dim"] == 0 and p["n"] // p["block_dim"] >= 2, src
            assert {"tile_fft"} <= calls and ("tile_ifft" in calls) == (p["mode"] != "power"), src
        if "wp.float64(" in src:  # a size constant is never cast to float64 (Warp then retypes it in shapes)
            assert not re.search(r"wp\.float64\([A-Z_]+\)", src), src


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
    for v in set(fam.VARIANTS) - set(fam.la.VARIANTS):  # two of every variant (MathDx ones below)
        picked += [s for s in SAMPLES if s[0] == v][:2]
    outs = compile_and_execute(picked, 1 / 10)
    grads = {o.kernels[0].execution["grad"]["status"] for o in outs if hasattr(o, "kernels")}
    assert "passed" in grads  # the differentiable ones (layer norm, transposes, gathers) check their adjoint


def test_mathdx_samples_compile_execute_and_check_their_adjoint() -> None:
    """One sample of three MathDx variants (seconds each): the differentiable ones pass the adjoint
    check, a solve through tile_cholesky_solve / the triangular solves is executed and says why not."""
    picked = [next(s for s in SAMPLES if s[0] == v) for v in ("whiten", "fft", "spd_solve")]
    outs = compile_and_execute(picked, 0.0)
    grads = [o.kernels[0].execution["grad"] for o in outs]
    assert [g["status"] for g in grads] == ["passed", "passed", "not_differentiable"], grads
    assert "tile_diag_add" in grads[2]["reason"], grads[2]
