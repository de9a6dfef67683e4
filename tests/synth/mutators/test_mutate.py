"""Before/after tests for every mutation operator, plus API and compile checks.

Each operator test shows a small kernel before and after one mutation at a fixed rng seed
(libcst codemod style).  ``test_mutants_compile`` compiles one mutant per operator of the
realistic seed kernels with Warp for CPU and CUDA.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass
from textwrap import dedent

import pytest

from warp_synth.synth.mutators import analyze
from warp_synth.synth.mutators.examples import EXAMPLE_KERNELS
from warp_synth.synth.mutators.mutate import OPERATORS, Mutation, applicable, mutate
from warp_synth.synth.mutators.statements import WrapInBranch

# rejections of a kernel that compiled, by the execution checks (reason: message)
RUNTIME_REJECTIONS = ("crash:", "out_of_bounds:", "non_finite:", "nondeterministic:", "trivial:", "timeout:")

pytestmark = pytest.mark.timeout(300)


@dataclass(slots=True, frozen=True)
class Case:
    before: str
    after: str
    seed: int = 0

    def text(self, which: str) -> str:
        """The dedented before/after module; ``import warp as wp`` is implied when not written."""
        body = dedent(getattr(self, which)).lstrip("\n")
        return body if body.startswith("import") else "import warp as wp\n\n\n" + body


CASES: dict[str, Case] = {
    # ``a + b`` -> ``a - b`` (and ``*``/``/`` when both sides have the same scalar type).
    "swap_arith": Case(
        """
        @wp.kernel
        def k(a: wp.array(dtype=float), b: wp.array(dtype=float)):
            i = wp.tid()
            b[i] = a[i] + 2.0 * a[i]
        """,
        """
        @wp.kernel
        def k(a: wp.array(dtype=float), b: wp.array(dtype=float)):
            i = wp.tid()
            b[i] = a[i] + (2.0 - a[i])
        """,
    ),
    # ``x < y`` -> ``x >= y`` (any other ordering/equality operator).
    "swap_compare": Case(
        """
        @wp.kernel
        def k(a: wp.array(dtype=float), n: int):
            i = wp.tid()
            if i < n:
                a[i] = 1.0
        """,
        """
        @wp.kernel
        def k(a: wp.array(dtype=float), n: int):
            i = wp.tid()
            if i == n:
                a[i] = 1.0
        """,
    ),
    # ``wp.sin(x)`` -> another builtin of its family (never one unbounded or constant on [0.25, 1]) for a float ``x``.
    "swap_math_func": Case(
        """
        @wp.kernel
        def k(a: wp.array(dtype=float)):
            i = wp.tid()
            a[i] = wp.sin(a[i])
        """,
        """
        @wp.kernel
        def k(a: wp.array(dtype=float)):
            i = wp.tid()
            a[i] = wp.abs(a[i])
        """,
    ),
    # ``wp.min`` <-> ``wp.max``, ``wp.length`` <-> ``wp.length_sq``, ``wp.cross`` <-> ``wp.cw_mul`` ...
    "swap_reduction": Case(
        """
        @wp.kernel
        def k(v: wp.array(dtype=wp.vec3), out: wp.array(dtype=float)):
            i = wp.tid()
            out[i] = wp.length(v[i])
        """,
        """
        @wp.kernel
        def k(v: wp.array(dtype=wp.vec3), out: wp.array(dtype=float)):
            i = wp.tid()
            out[i] = wp.length_sq(v[i])
        """,
    ),
    # ``wp.atomic_add(a, i, v)`` -> ``wp.atomic_sub(a, i, v)``, min <-> max (add/sub only for vector arrays).
    "swap_atomic": Case(
        """
        @wp.kernel
        def k(a: wp.array(dtype=float), total: wp.array(dtype=float)):
            i = wp.tid()
            wp.atomic_add(total, 0, a[i])
        """,
        """
        @wp.kernel
        def k(a: wp.array(dtype=float), total: wp.array(dtype=float)):
            i = wp.tid()
            wp.atomic_sub(total, 0, a[i])
        """,
    ),
    # Change a numeric literal: floats are scaled or resampled, ints nudged (indices are left alone).
    "perturb_constant": Case(
        """
        @wp.kernel
        def k(a: wp.array(dtype=float)):
            i = wp.tid()
            a[i] = a[i] * 0.5
        """,
        """
        @wp.kernel
        def k(a: wp.array(dtype=float)):
            i = wp.tid()
            a[i] = a[i] * 9.66
        """,
    ),
    # Hoist a sub-expression into a fresh local: ``y = a * (b + c)`` -> ``t = b + c; y = a * t``.
    "split_temporary": Case(
        """
        @wp.kernel
        def k(a: wp.array(dtype=float), s: float):
            i = wp.tid()
            # scale and shift
            a[i] = s * (a[i] + 1.0)
        """,
        """
        @wp.kernel
        def k(a: wp.array(dtype=float), s: float):
            i = wp.tid()
            # scale and shift
            val = a[i] + 1.0
            a[i] = s * val
        """,
    ),
    # Put a statement under a data-independent condition: ``s`` -> ``if i % 2 == 0: s``.
    "wrap_in_branch": Case(
        """
        @wp.kernel
        def k(a: wp.array(dtype=float)):
            i = wp.tid()
            a[i] = 0.0
        """,
        """
        @wp.kernel
        def k(a: wp.array(dtype=float)):
            i = wp.tid()
            if i % 2 == 0:
                a[i] = 0.0
        """, seed=1,
    ),
    # Skip some iterations: prepend ``if k % 3 == 1: continue`` to a ``for k in range(...)`` body.
    "early_continue": Case(
        """
        @wp.kernel
        def k(a: wp.array(dtype=float), n: int):
            i = wp.tid()
            s = float(0.0)
            for j in range(n):
                s += a[j]
            a[i] = s
        """,
        """
        @wp.kernel
        def k(a: wp.array(dtype=float), n: int):
            i = wp.tid()
            s = float(0.0)
            for j in range(n):
                if j % 3 != 0:
                    continue
                s += a[j]
            a[i] = s
        """,
    ),
    # Bounds guard right after ``i = wp.tid()``: ``if i >= a.shape[0]: return``.
    "early_return_guard": Case(
        """
        @wp.kernel
        def k(a: wp.array(dtype=float)):
            i = wp.tid()
            a[i] = 0.0
        """,
        """
        @wp.kernel
        def k(a: wp.array(dtype=float)):
            i = wp.tid()
            if i >= a.shape[0]:
                return
            a[i] = 0.0
        """,
    ),
    # Repeat an accumulation: ``s += x`` / ``wp.atomic_add(...)`` -> ``for r in range(3): ...``.
    "loop_accumulation": Case(
        """
        @wp.kernel
        def k(a: wp.array(dtype=float), out: wp.array(dtype=float)):
            i = wp.tid()
            s = a[i]
            s += 1.0
            out[i] = s
        """,
        """
        @wp.kernel
        def k(a: wp.array(dtype=float), out: wp.array(dtype=float)):
            i = wp.tid()
            s = a[i]
            for rep in range(2):
                s += 1.0
            out[i] = s
        """,
    ),
    # Unroll ``for k in range(C)`` (C <= 4, no break/continue/return) with ``k`` replaced by literals.
    "unroll_loop": Case(
        """
        @wp.kernel
        def k(a: wp.array(dtype=float)):
            i = wp.tid()
            s = float(0.0)
            for j in range(3):
                s += a[i + j]
            a[i] = s
        """,
        """
        @wp.kernel
        def k(a: wp.array(dtype=float)):
            i = wp.tid()
            s = float(0.0)
            s += a[i + 0]
            s += a[i + 1]
            s += a[i + 2]
            a[i] = s
        """,
    ),
    # ``a[i] = v`` -> ``wp.atomic_add(a, i, v)`` (also ``+=``/``-=`` and min/max for scalars).
    "store_to_atomic": Case(
        """
        @wp.kernel
        def k(a: wp.array(dtype=float), b: wp.array(dtype=float)):
            i = wp.tid()
            b[i] = a[i] * 2.0
        """,
        """
        @wp.kernel
        def k(a: wp.array(dtype=float), b: wp.array(dtype=float)):
            i = wp.tid()
            wp.atomic_max(b, i, a[i] * 2.0)
        """,
    ),
    # ``if c: A else: B`` -> ``if not (c): B else: A``.
    "negate_branch": Case(
        """
        @wp.kernel
        def k(a: wp.array(dtype=float)):
            i = wp.tid()
            if a[i] > 0.0:
                a[i] = 1.0
            else:
                a[i] = -1.0
        """,
        """
        @wp.kernel
        def k(a: wp.array(dtype=float)):
            i = wp.tid()
            if not (a[i] > 0.0):
                a[i] = -1.0
            else:
                a[i] = 1.0
        """,
    ),
    # Move an expression into a new ``@wp.func`` taking its free variables as typed parameters.
    "extract_func": Case(
        """
        @wp.kernel
        def k(a: wp.array(dtype=float), s: float):
            i = wp.tid()
            x = a[i]
            a[i] = x * s + wp.sin(x)
        """,
        """
        @wp.func
        def apply_op(x: float, s: float):
            return x * s


        @wp.kernel
        def k(a: wp.array(dtype=float), s: float):
            i = wp.tid()
            x = a[i]
            a[i] = apply_op(x, s) + wp.sin(x)
        """,
    ),
    # Replace a call of a one-line ``@wp.func`` by its body (the def goes when it has no caller left).
    "inline_func": Case(
        """
        @wp.func
        def scale(x: float, s: float):
            return x * s


        @wp.kernel
        def k(a: wp.array(dtype=float)):
            i = wp.tid()
            a[i] = scale(a[i] + 1.0, 2.0)
        """,
        """
        @wp.kernel
        def k(a: wp.array(dtype=float)):
            i = wp.tid()
            a[i] = (a[i] + 1.0) * 2.0
        """,
    ),
    # Move the whole module from float32 to float64: annotations, constructors, literals, constants.
    "retype_float64": Case(
        """
        import warp as wp

        GAIN = 1.5


        @wp.kernel
        def k(a: wp.array(dtype=wp.float32), v: wp.array(dtype=wp.vec3), s: float):
            i = wp.tid()
            x = float(i) * GAIN
            v[i] = wp.vec3(x, s, 0.5) * wp.sin(a[i])
        """,
        """
        import warp as wp

        GAIN = 1.5


        @wp.kernel
        def k(a: wp.array(dtype=wp.float64), v: wp.array(dtype=wp.vec3d), s: wp.float64):
            i = wp.tid()
            x = wp.float64(i) * wp.float64(GAIN)
            v[i] = wp.vec3d(x, s, wp.float64(0.5)) * wp.sin(a[i])
        """,
    ),
    # A float32 array becomes a ``wp.vec3`` array: stores broadcast, loads read one component or length.
    "lift_array_vec3": Case(
        """
        @wp.kernel
        def k(a: wp.array(dtype=float), b: wp.array(dtype=float)):
            i = wp.tid()
            b[i] = a[i] * 2.0
        """,
        """
        @wp.kernel
        def k(a: wp.array(dtype=float), b: wp.array(dtype=wp.vec3)):
            i = wp.tid()
            b[i] = wp.vec3(a[i] * 2.0)
        """,
    ),
    # 1D launch -> 2D: ``i = wp.tid()`` -> ``i, j = wp.tid()``, arrays become ``wp.array2d`` indexed ``[i, j]``.
    "tid_to_2d": Case(
        """
        @wp.kernel
        def k(a: wp.array(dtype=float), b: wp.array(dtype=float)):
            i = wp.tid()
            if i >= a.shape[0]:
                return
            b[i] = a[i] * 2.0
        """,
        """
        @wp.kernel
        def k(a: wp.array2d(dtype=float), b: wp.array2d(dtype=float)):
            i, col = wp.tid()
            if i >= a.shape[0]:
                return
            b[i, col] = a[i, col] * 2.0
        """,
    ),
}


@pytest.mark.parametrize("operator", list(CASES))
def test_operator_before_after(operator: str) -> None:
    case = CASES[operator]
    result = mutate(case.text("before"), random.Random(case.seed), operator)
    assert result == Mutation(source=case.text("after"), operator=operator)


def test_every_operator_has_a_before_after_case() -> None:
    assert list(CASES) == list(OPERATORS)


# ----------------------------------------------------------------------------- API behaviour

EXPECTED_ORDER = [
    "swap_arith", "swap_compare", "swap_math_func", "swap_reduction", "swap_atomic", "perturb_constant",
    "split_temporary", "wrap_in_branch", "early_continue", "early_return_guard", "loop_accumulation",
    "unroll_loop", "store_to_atomic", "negate_branch", "extract_func", "inline_func", "retype_float64",
    "lift_array_vec3", "tid_to_2d",
]


def test_operator_table_is_stable() -> None:
    assert list(OPERATORS) == EXPECTED_ORDER
    assert all(cls.name == name for name, cls in OPERATORS.items())


@pytest.mark.parametrize("source", ["", "def (:", "x = 1\n", "import warp as wp\n", "\x00\x01", "@wp.kernel\n"])
def test_bad_input_gives_none(source: str) -> None:
    assert mutate(source, random.Random(0)) is None
    assert applicable(source) == []
    for name in OPERATORS:
        assert mutate(source, random.Random(0), name) is None


def test_unknown_operator_gives_none() -> None:
    assert mutate(EXAMPLE_KERNELS["arithmetic"], random.Random(0), "rename_everything") is None


def test_operator_without_site_gives_none() -> None:
    source = EXAMPLE_KERNELS["arithmetic"]  # no if/else, no loop, no @wp.func
    for name in ("negate_branch", "unroll_loop", "early_continue", "inline_func", "swap_atomic"):
        assert name not in applicable(source)
        assert mutate(source, random.Random(0), name) is None


def test_applicable_lists_operators_in_table_order() -> None:
    names = applicable(EXAMPLE_KERNELS["func"])
    assert "inline_func" in names and "negate_branch" not in names
    assert names == [n for n in OPERATORS if n in names]


def test_every_operator_applies_to_some_seed() -> None:
    covered = {name for source in EXAMPLE_KERNELS.values() for name in applicable(source)}
    assert covered == set(OPERATORS)


def test_mutate_is_deterministic_for_a_seed() -> None:
    for source in EXAMPLE_KERNELS.values():
        for name in [*OPERATORS, None]:
            first = mutate(source, random.Random(42), name)
            assert first == mutate(source, random.Random(42), name)


def test_random_operator_is_an_applicable_one() -> None:
    for k, source in enumerate(EXAMPLE_KERNELS.values()):
        m = mutate(source, random.Random(k), None)
        assert m is not None and m.operator in applicable(source) and m.source != source


def test_wrap_in_branch_never_hides_a_definition_used_later() -> None:
    source = dedent(
        """
        @wp.kernel
        def k(a: wp.array(dtype=float)):
            i = wp.tid()
            x = a[i]
            a[i] = x
        """
    ).lstrip("\n")
    info = analyze(source)
    assert info is not None
    sites = [s.node for s in WrapInBranch().sites(info)]
    assert [type(s).__name__ for s in sites] == ["SimpleStatementLine"]  # only the store
    assert "a[i] = x" in info.module.code_for_node(sites[0])


@pytest.mark.slow
def test_mutants_compile(compile_sources) -> None:  # type: ignore[no-untyped-def]
    """Every "after" text above, and one mutant per operator of a realistic seed kernel (a different
    seed per operator where possible), compiles with Warp for CPU and CUDA through the extraction engine."""
    seeds = list(EXAMPLE_KERNELS.values())
    mutants: list[tuple[str, str]] = []
    for k, name in enumerate(OPERATORS):
        rotated = seeds[k % len(seeds) :] + seeds[: k % len(seeds)]
        source = next(s for s in rotated if name in applicable(s))
        m = mutate(source, random.Random(k), name)
        assert m is not None, name
        mutants.append((name, m.source))
    mutants += [(f"{name} (before/after case)", case.text("after")) for name, case in CASES.items()]
    results = compile_sources([src for _, src in mutants])
    # the engine also executes what compiles; this test is about compiling: the before/after cases are
    # minimal kernels (constant stores, arrays indexed by a width parameter) that the runtime checks reject
    failures = {name: res for (name, _), res in zip(mutants, results, strict=True)
                if res is not True and not str(res).startswith(RUNTIME_REJECTIONS)}
    assert failures == {}


def test_extract_func_never_lifts_a_loops_range():
    """``range(...)`` is a loop's iterable, not a value: a @wp.func returning it fails inside Warp's
    headers (``+=`` of two ranges in the adjoint)."""
    src = dedent("""
        import warp as wp

        @wp.kernel
        def k(a: wp.array(dtype=float), lo: int, n: int):
            i = wp.tid()
            for j in range(lo, n):
                a[i] = a[i] * 2.0
        """)
    info = analyze(src)
    assert info is not None
    sites = OPERATORS["extract_func"]().sites(info)
    texts = [info.module.code_for_node(c.node) for c in sites]
    assert texts and not any(t.startswith("range(") for t in texts), texts


def test_no_operator_can_make_a_while_loop_endless():
    """A ``while`` loop's counter step is never put under a branch or repeated, and its test is never
    swapped: ``while n < 8`` with ``if j < 2: n += 1`` (a mutant once seen) spins until the unit's
    deadline, 20 s of CPU for one rejected kernel."""
    src = dedent("""
        import warp as wp

        @wp.kernel
        def k(a: wp.array(dtype=float), b: wp.array(dtype=float)):
            i = wp.tid()
            n = int(0)
            s = float(0.0)
            while n < 8:
                s += a[i]
                if a[i] > 0.5:
                    n += 1
                n += 1
            b[i] = s
        """)
    info = analyze(src)
    assert info is not None
    for name in ("wrap_in_branch", "loop_accumulation"):
        texts = [info.module.code_for_node(c.node).strip() for c in OPERATORS[name]().sites(info)]
        assert "s += a[i]" in texts and not any(t.startswith(("n += 1", "if a[i] > 0.5")) for t in texts), texts
    compares = [info.module.code_for_node(c.node) for c in OPERATORS["swap_compare"]().sites(info)]
    assert compares == ["a[i] > 0.5"]
    for seed in range(200):  # and whatever the operator, the loop still steps n on every iteration
        m = mutate(src, random.Random(seed))
        loop = re.search(r"\n( +)while n < 8:\n", m.source) if m else None
        assert m is None or (loop and f"\n{loop.group(1)}    n += 1\n" in m.source), m


def test_a_threshold_written_through_a_type_constructor_stays_inside_the_inputs_range():
    """``x <= wp.float64(0.5)`` perturbed to ``0.25`` (the floor of the drawn inputs) was a dead branch:
    a kernel that writes nothing."""
    src = dedent("""
        import warp as wp

        @wp.kernel
        def k(a: wp.array(dtype=wp.float64), b: wp.array(dtype=wp.float64)):
            i = wp.tid()
            x = a[i]
            if x <= wp.float64(0.5):
                b[i] = x
        """)
    values = []
    for seed in range(40):
        m = mutate(src, random.Random(seed), "perturb_constant")
        if m is not None:
            values.append(float(re.search(r"x <= wp\.float64\(([^)]+)\)", m.source).group(1)))
    assert len(values) >= 30 and all(0.3 <= v <= 0.9 for v in values), values
