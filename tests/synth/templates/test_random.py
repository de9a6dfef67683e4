"""The ``random`` template family: variants, the RNG builtins it promises, and real extraction."""

from __future__ import annotations

import ast
import importlib
import random
import re

import pytest

from warp_synth.extract.engine import ExtractOptions, Extractor
from warp_synth.records import Accepted, Unit
from warp_synth.synth.jinja_env import render
from warp_synth.synth.templates.kernel import KernelBuilder

pytestmark = pytest.mark.timeout(600)

# ``synth/templates/__init__.py`` binds the standard ``random`` module under the package's name
# ``random``; importing the submodule rebinds it.  Put the standard module back where it was.
_pkg = importlib.import_module("warp_synth.synth.templates")
_before = getattr(_pkg, "random", None)
fam = importlib.import_module("warp_synth.synth.templates.random")
if _before is random:
    _pkg.random = random

VARIANTS = ("jitter", "init", "monte_carlo", "curl_advect", "noise_field", "dropout", "discrete", "brownian",
            "surface_sample", "tile_rand", "inverse_cdf")
PROMISED = {"rand_init", "randf", "randi", "randu", "randn", "poisson", "sample_cdf", "sample_triangle",
            "sample_unit_ring", "sample_unit_disk", "sample_unit_square", "sample_unit_cube", "sample_unit_sphere",
            "sample_unit_sphere_surface", "sample_unit_hemisphere", "sample_unit_hemisphere_surface", "noise",
            "pnoise", "curlnoise", "tile_randf", "tile_randi", "atomic_add", "erfinv", "erfcinv", "lower_bound",
            "zeros", "nonzero", "printf"}
_CALL = re.compile(r"\bwp\.([a-z_0-9]+)\(")


def sample(seed: int) -> tuple[str, str, dict, list[str]]:
    kb = KernelBuilder(random.Random(seed))
    variant, ctx, params = fam.family(kb)
    return variant, render("kernels/random.j2", **kb.context(**ctx)), params, list(kb.gen.used)


@pytest.fixture(scope="module")
def samples() -> list[tuple[str, str, dict, list[str]]]:
    return [sample(s) for s in range(200)]


def test_every_variant_is_reachable(samples) -> None:
    assert {v for v, *_ in samples} == set(VARIANTS) == set(fam.BUILD)


def test_sampling_is_deterministic_per_seed() -> None:
    assert [sample(s)[1] for s in range(10)] == [sample(s)[1] for s in range(10)]
    assert sample(1)[1] != sample(2)[1]


def test_modules_are_clean_single_kernels(samples) -> None:
    for _, src, _, _ in samples:
        tree = ast.parse(src)
        imports = [n for n in tree.body if isinstance(n, ast.Import)]
        assert [[a.name for a in n.names] for n in imports] == [["warp"]], src
        kernels = [n for n in tree.body if isinstance(n, ast.FunctionDef)]
        assert len(kernels) == 1 and ast.unparse(kernels[0].decorator_list[0]) == "wp.kernel", src
        assert "wp.static" not in src and "wp.overload" not in src


def test_every_kernel_seeds_its_rng_from_an_input(samples) -> None:
    for _, src, _, _ in samples:
        kernel = next(n for n in ast.parse(src).body if isinstance(n, ast.FunctionDef))
        params = {a.arg for a in kernel.args.args}
        inits = re.findall(r"wp\.rand_init\(([^)]*(?:\([^)]*\))?[^)]*)\)", src)
        states = re.findall(r"^\s+\w+ = (\w+)\[\w+\]$", src, re.M)  # a persistent uint32 state array
        uint_states = [s for s in states if f"{s}: wp.array(dtype=wp.uint32)" in src]
        assert inits or uint_states, src
        for args in inits:
            assert {w for w in re.findall(r"[A-Za-z_]\w*", args)} & params, (args, src)


def test_the_promised_builtins_are_used(samples) -> None:
    used: set[str] = set()
    for _, src, _, prov in samples:
        calls = set(_CALL.findall(src))
        used |= calls
        assert set(prov) <= calls  # the provenance lists builtins the kernel really calls
    assert used >= PROMISED, sorted(PROMISED - used)


def test_inverse_cdf_samplers_stay_in_their_domains(samples) -> None:
    """erfinv/erfcinv see arguments strictly inside (-1, 1) / (0, 2); every wp.lower_bound index is clamped
    below the table's size before it indexes anything (the executor's tables are not sorted)."""
    for v, src, _, _ in samples:
        if v != "inverse_cdf":
            continue
        if "erfinv" in src or "erfcinv" in src:
            u = re.search(r"wp\.erf(?:c)?inv\(2\.0 \* (\w+)", src).group(1)
            assert re.search(rf"{u} = wp\.randf\(\w+, (1\.0e-\d|\w+), 1\.0 - (1\.0e-\d|\w+)\)", src), src
        for line in (ln for ln in src.splitlines() if "wp.lower_bound(" in ln):
            j = line.split("=")[0].strip()
            assert "wp.min(wp.lower_bound(" in line or f"wp.min({j}, " in src, src
        if "wp.zeros(" in src:
            assert re.search(r"wp\.zeros\(shape=[A-Z_]+, dtype=float\)", src), src


def test_prints_come_from_the_first_thread_only(samples) -> None:
    printing = [src for _, src, _, _ in samples if "wp.printf(" in src or "print(" in src]
    assert printing
    for src in printing:
        lines = src.splitlines()
        for k, line in enumerate(lines):
            if "print" in line:
                assert re.fullmatch(r"\s+if \w+ == 0( and \w+ == 0)?:", lines[k - 1]), src


def test_skeletons_differ(samples) -> None:
    from warp_synth.identity import skeleton

    assert len({skeleton(src) for _, src, _, _ in samples}) >= 0.85 * len(samples)


def test_samples_compile_and_execute() -> None:
    """Four samples of every variant through the real engine: screen, CPU + CUDA compile, CPU execution."""
    picked: dict[str, list[str]] = {v: [] for v in VARIANTS}
    seed = 0
    while any(len(x) < 4 for x in picked.values()):
        v, src, _, _ = sample(1000 + seed)
        seed += 1
        if len(picked[v]) < 4:
            picked[v].append(src)
    sources = [src for v in VARIANTS for src in picked[v]]
    with Extractor(ExtractOptions(workers=1, isolate_units=False)) as ex:
        outs = ex.extract([Unit(f"r{i}", src) for i, src in enumerate(sources)])
    bad = [(src, o) for src, o in zip(sources, outs, strict=True)
           if not (isinstance(o, Accepted) and o.kernels[0].execution.get("status") == "passed")]
    assert len(bad) <= 1, "\n\n".join(f"{o}\n{src}" for src, o in bad)
