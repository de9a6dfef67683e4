"""The functions template family: helpers, overloads, typing.Any generics, custom adjoints, real execution."""

from __future__ import annotations

import ast
import collections

import pytest

from tests.synth.templates.family import (
    assert_skeletons_diverse,
    compile_and_execute,
    sample,
    samples,
)
from warp_synth.synth.templates import functions as fam

pytestmark = pytest.mark.timeout(600)


SAMPLES = samples(fam, "functions", 240)


def _defs(src: str) -> list[ast.FunctionDef]:
    return [n for n in ast.parse(src).body if isinstance(n, ast.FunctionDef)]


def _deco(fn: ast.FunctionDef) -> str:
    return ast.unparse(fn.decorator_list[0])


def test_every_variant_is_reachable_and_screens() -> None:
    from warp_synth.extract.screen import screen

    assert {v for v, _, _ in SAMPLES} == set(fam.VARIANTS)
    for v, src, _ in SAMPLES:
        assert [_deco(d) for d in _defs(src)].count("wp.kernel") == 1, src
        assert src.startswith("from typing import Any\n\nimport warp as wp\n" if v == "generic" else "import warp as wp\n")
        assert screen(src).ok, (screen(src), src)


def test_deterministic_per_seed() -> None:
    assert sample(fam, "functions", 7) == sample(fam, "functions", 7)
    assert sample(fam, "functions", 7)[1] != sample(fam, "functions", 8)[1]


def test_promised_function_forms_appear() -> None:
    seen: collections.Counter[str] = collections.Counter()
    for v, src, _ in SAMPLES:
        defs = _defs(src)
        funcs = [d for d in defs if _deco(d) == "wp.func"]
        names = collections.Counter(d.name for d in funcs)
        kernel = next(d for d in defs if _deco(d) == "wp.kernel")
        called = {n.func.id for n in ast.walk(kernel) if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)}
        assert called & set(names), src  # the kernel calls a helper
        if any(c > 1 for c in names.values()):
            seen["overload"] += 1
            assert v == "overloads"
        grads = [d for d in defs if _deco(d).startswith("wp.func_grad(")]
        for g in grads:  # the adjoint names a @wp.func above it and writes wp.adjoint
            target = _deco(g)[len("wp.func_grad("):-1]
            assert target in names and "wp.adjoint[" in ast.unparse(g), src
            seen["func_grad"] += 1
        if any(ast.unparse(a.annotation) == "Any" for d in funcs for a in d.args.args if a.annotation):
            seen["any"] += 1
        if any(isinstance(n, ast.Return) and isinstance(n.value, ast.Tuple) for d in funcs for n in ast.walk(d)):
            seen["tuple_return"] += 1
        if any(ast.unparse(a.annotation).startswith("wp.array") for d in funcs for a in d.args.args if a.annotation):
            seen["array_arg"] += 1
        if any(isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id in names
               for d in funcs for n in ast.walk(d)):
            seen["nested"] += 1
    for form in ("overload", "func_grad", "any", "tuple_return", "array_arg", "nested"):
        assert seen[form] >= 20, seen


def test_generic_helpers_get_two_concrete_types() -> None:
    for v, src, p in SAMPLES:
        if v == "generic":
            a, b = p["pair"].split(" and ")
            assert f"dtype={a})" in src and f"dtype={b})" in src, src


def test_assertions_reversed_loops_and_slices_appear() -> None:
    """Warp's in-kernel assertions (generic and multi-return kernels), reversed(range(...)) loops in array
    helpers and vector slices (``slice(0, 3, 1)``, ``p[:3]``) each come up over the seeds."""
    text = "\n".join(src for _, src, _ in SAMPLES)
    for form in ("wp.expect_eq(", "wp.expect_neq(", "wp.expect_near(", "in reversed(range(", "slice(0, 3, 1)",
                 "p[:3]", "p[0:3]"):
        assert form in text, form
    for v, src, _ in SAMPLES:
        k = [d for d in _defs(src) if _deco(d) == "wp.kernel"][0]
        checks = [ln for ln in ast.unparse(k).splitlines() if "wp.expect_" in ln]
        assert not checks or v in ("generic", "multi_return"), src
        for d in _defs(src):
            if "reversed(" in ast.unparse(d):
                assert _deco(d) == "wp.func" and v == "array_helpers", src


def test_skeletons_are_diverse() -> None:
    assert_skeletons_diverse(SAMPLES, 0.5, 6)


def test_samples_screen_compile_and_execute() -> None:
    from warp_synth.records import Accepted

    picked: list[tuple[str, str, dict]] = []
    for v in fam.VARIANTS:
        picked += [s for s in SAMPLES if s[0] == v][:5]
    for form in ("wp.expect_near(", "in reversed(range(", "slice(0, 3, 1)"):  # one more of each new form
        picked.append(next(s for s in SAMPLES if form in s[1] and s not in picked))
    outs = compile_and_execute(picked, 1 / 20)
    grads = {v: o.kernels[0].execution["grad"]["status"] for (v, _, _), o in zip(picked, outs, strict=True)
             if isinstance(o, Accepted) and v == "custom_grad"}
    assert grads and set(grads.values()) == {"passed"}, grads  # the hand-written adjoints are exact
