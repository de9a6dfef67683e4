"""The bitwise template family: variants, the integer builtins and types it promises, real execution."""

from __future__ import annotations

import ast
import random
import re

import pytest

from warp_synth.identity import skeleton
from warp_synth.synth.jinja_env import render
from warp_synth.synth.templates import bitwise as fam
from warp_synth.synth.templates.kernel import KernelBuilder

pytestmark = pytest.mark.timeout(600)


def _sample(seed: int) -> tuple[str, str]:
    kb = KernelBuilder(random.Random(seed))
    variant, ctx, _ = fam.family(kb)
    return variant, render("kernels/bitwise.j2", **kb.context(**ctx))


SAMPLES = [_sample(s) for s in range(200)]


def test_every_variant_is_reachable_and_renders_python() -> None:
    assert {v for v, _ in SAMPLES} == set(fam.VARIANTS)
    for _, src in SAMPLES:
        tree = ast.parse(src)
        assert src.startswith("import warp as wp\n")
        assert sum(isinstance(n, ast.FunctionDef) and ast.unparse(n.decorator_list[0]) == "wp.kernel"
                   for n in tree.body) == 1


def test_deterministic_per_seed() -> None:
    assert _sample(7) == _sample(7)
    assert _sample(7) != _sample(8)


def test_uses_the_promised_integer_types_and_builtins() -> None:
    text = "\n".join(src for _, src in SAMPLES)
    used = set(re.findall(r"wp\.(\w+)\(", text)) | set(re.findall(r"dtype=wp\.(\w+)", text))
    for name in ("int8", "uint8", "int16", "uint16", "uint32", "int64", "uint64", "vec3i", "vec3ui", "vec4ub",
                 "vec3s", "vec2s",
                 "bit_count", "cast", "atomic_or", "atomic_and", "atomic_xor", "atomic_min", "atomic_max",
                 "atomic_add", "mod", "floordiv", "abs", "min", "max", "clamp", "bit_and", "lshift",
                 "rshift", "invert", "bit_xor", "where"):
        assert name in used, name
    for op in (" & ", " | ", " ^ ", " << ", " >> ", "~", " // ", " % ", "while "):
        assert op in text, op


def test_int16_cells_are_widened_before_arithmetic() -> None:
    small = [src for v, src in SAMPLES if v == "cells" and "dtype=wp.vec3s" in src]
    assert small
    for src in small:
        loads = re.findall(r"= (wp\.vec3i\()?(\w+)\[\w+\]\)?$", src, re.M)
        vec3s_arrays = set(re.findall(r"(\w+): wp\.array\(dtype=wp\.vec3s\)", src))
        for widened, name in loads:
            assert widened or name not in vec3s_arrays, src


def test_while_loops_are_bounded_or_decreasing() -> None:
    # every while condition tests a counter against a bound, or a value against zero (it only decreases)
    for _, src in SAMPLES:
        for line in src.splitlines():
            s = line.strip()
            if s.startswith("while "):
                assert re.search(r" < \w+| != (wp\.\w+\()?0\)?| == (wp\.\w+\()?0\)?", s), s


def test_skeletons_are_diverse() -> None:
    per: dict[str, set[str]] = {}
    for v, src in SAMPLES:
        per.setdefault(v, set()).add(skeleton(src))
    assert len(set().union(*per.values())) >= 0.8 * len(SAMPLES)
    for v, sks in per.items():
        assert len(sks) >= 3, v


def test_samples_screen_compile_and_execute() -> None:
    from warp_synth.extract.engine import ExtractOptions, Extractor
    from warp_synth.records import Accepted, Unit

    picked: list[tuple[str, str]] = []
    for v in fam.VARIANTS:  # a few of every variant
        picked += [s for s in SAMPLES if s[0] == v][:5]
    for form in ("dtype=wp.vec3s", "wp.vec2s("):  # the int16 vectors
        picked += [s for s in SAMPLES if form in s[1] and s not in picked][:2]
    with Extractor(ExtractOptions(workers=1, isolate_units=False)) as ex:
        outs = ex.extract([Unit(f"b{i}", src)
                           for i, (_, src) in enumerate(picked)])
    bad = [(v, getattr(o, "reason", None), getattr(o, "message", "")[:300])
           for (v, _), o in zip(picked, outs, strict=True)
           if not isinstance(o, Accepted) or o.kernels[0].execution.get("status") != "passed"]
    assert len(bad) <= len(picked) // 20, bad
    grads = [o.kernels[0].execution["grad"]["status"] for o in outs if isinstance(o, Accepted)]
    assert "failed" not in grads
    assert "passed" in grads  # the float paths (jitter, permutations, gathers, splats) are differentiable
