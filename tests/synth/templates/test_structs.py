"""The structs template family: variants, the struct forms it promises, real execution."""

from __future__ import annotations

import ast
import collections
import re

import pytest

from tests.synth.templates.family import (
    assert_parameters_used_and_not_shadowed,
    assert_skeletons_diverse,
    compile_and_execute,
    only_kernel,
    sample,
    samples,
)
from warp_synth.synth.templates import structs as fam

pytestmark = pytest.mark.timeout(600)


SAMPLES = samples(fam, "structs", 240)


def _structs(src: str) -> set[str]:
    return {n.name for n in ast.parse(src).body if isinstance(n, ast.ClassDef)}


def test_every_variant_is_reachable_and_screens() -> None:
    from warp_synth.extract.screen import screen

    assert {v for v, _, _ in SAMPLES} == set(fam.VARIANTS)
    for _, src, _ in SAMPLES:
        assert src.startswith("import warp as wp\n") and "@wp.struct" in src
        only_kernel(src)
        assert screen(src).ok, (screen(src), src)


def test_deterministic_per_seed() -> None:
    assert sample(fam, "structs", 7) == sample(fam, "structs", 7)
    assert sample(fam, "structs", 7)[1] != sample(fam, "structs", 8)[1]


def test_struct_forms_appear() -> None:
    params = arrays = locals_ = func_ret = func_arg = array_fields = 0
    for _, src, _ in SAMPLES:
        names = _structs(src)
        k = only_kernel(src)
        anns = [ast.unparse(a.annotation) for a in k.args.args if a.annotation is not None]
        params += any(a in names for a in anns)
        arrays += any(re.fullmatch(rf"wp\.array\(dtype=({'|'.join(names)})\)", a) for a in anns)
        locals_ += any(re.search(rf"= ({'|'.join(names)})\(\)", ln) for ln in src.splitlines())
        funcs = [n for n in ast.parse(src).body if isinstance(n, ast.FunctionDef) and n is not k
                 and ast.unparse(n.decorator_list[0]) == "wp.func"]
        func_ret += any(f.returns is not None and ast.unparse(f.returns) in names for f in funcs)
        func_arg += any(a.annotation is not None and ast.unparse(a.annotation) in names for f in funcs for a in f.args.args)
        array_fields += bool(re.search(r"^    \w+: wp\.array\(", src, re.M))
    n = len(SAMPLES)
    assert params >= n // 6 and arrays >= n // 3 and locals_ >= n // 6, (params, arrays, locals_)
    assert func_ret >= n // 6 and func_arg >= n // 6 and array_fields >= n // 10, (func_ret, func_arg, array_fields)
    text = "\n".join(src for _, src, _ in SAMPLES)
    for t in ("wp.vec3d", "wp.float64", "wp.mat33", ": int"):
        assert t in text, t


def test_parameters_never_shadow_locals_and_every_parameter_is_used() -> None:
    assert_parameters_used_and_not_shadowed(SAMPLES)


def test_ropes_loop_backwards_inside_their_array() -> None:
    ropes = [src for v, src, _ in SAMPLES if v == "rope"]
    assert ropes
    forms = collections.Counter()
    for src in ropes:
        k = ast.unparse(only_kernel(src))
        assert "for k in reversed(range(" in k, src
        assert re.search(r"if start \+ \w+ > \w+\.shape\[0\]:\n\s+return", k), src  # no rope past the array
        forms.update(f for f in ("wp.zeros(", "slice(0, 3, 1)", "wp.printf(") if f in k)
    assert set(forms) == {"wp.zeros(", "slice(0, 3, 1)", "wp.printf("}, forms


def test_skeletons_are_diverse() -> None:
    assert_skeletons_diverse(SAMPLES, 0.6, 8)


def test_samples_screen_compile_and_execute() -> None:

    picked: list[tuple[str, str, dict]] = []
    for v in fam.VARIANTS:
        mine = [s for s in SAMPLES if s[0] == v]
        picked += [s for s in mine if s[2]["dtype"] == "float32"][:3]
        picked += [s for s in mine if s[2]["dtype"] == "float64"][:2]
    compile_and_execute(picked, 1 / 20)
