"""warp_synth.usage: the one "what a kernel uses" scanner and its vocabulary (FEATURES, DTYPE_NAMES)."""

from __future__ import annotations

import ast
import textwrap

import pytest

from warp_synth.identity import normalized_and_skeleton
from warp_synth.usage import DTYPE_NAMES, EMPTY, FEATURES, scan

pytestmark = pytest.mark.timeout(120)


def kernel(body: str, params: str = "a: wp.array(dtype=wp.float32)", prelude: str = "") -> str:
    """A module with one kernel whose body is ``body`` (dedented, indented by the helper)."""
    inner = textwrap.indent(textwrap.dedent(body).strip("\n"), "    ")
    return f"import warp as wp\n{textwrap.dedent(prelude)}\n@wp.kernel\ndef k({params}):\n    i = wp.tid()\n{inner}\n"


# The smallest module showing each feature (and, on its own, nothing else but what it needs).
EXAMPLES: dict[str, str] = {
    "for": kernel("for n in range(3):\n    a[i] = a[i]"),
    "while": kernel("while a[i] > 1.0:\n    a[i] = 0.0"),
    "if": kernel("if a[i] > 1.0:\n    a[i] = 0.0"),
    "elif": kernel("if a[i] > 1.0:\n    a[i] = 0.0\nelif a[i] < 0.0:\n    a[i] = 1.0"),
    "break": kernel("for n in range(3):\n    break"),
    "continue": kernel("for n in range(3):\n    continue"),
    "nested_loop": kernel("for n in range(3):\n    for m in range(2):\n        a[i] = a[i]"),
    "bool_op": kernel("a[i] = wp.float32(a[i] > 0.0 and a[i] < 1.0)"),
    "ternary": kernel("a[i] = a[i] if a[i] > 0.0 else 0.0"),
    "aug_assign": kernel("a[i] += 1.0"),
    "wp_func_call": kernel("a[i] = twice(a[i])", prelude="@wp.func\ndef twice(x: float):\n    return x"),
    "struct": kernel("a[i] = p.x", params="a: wp.array(dtype=float), p: P",
                     prelude="@wp.struct\nclass P:\n    x: float\n"),
    "atomic": kernel("wp.atomic_max(a, 0, 1.0)"),
    "tile": kernel("t = wp.tile_load(a, shape=4)"),
    "multi_dim": kernel("a[i, 0] = 1.0", params="a: wp.array2d(dtype=float)"),
    "scalar_param": kernel("a[i] = s", params="a: wp.array(dtype=float), s: float"),
    "constant": kernel("a[i] = C", prelude="C = wp.constant(2.0)\n"),
}

# Features an example needs besides its own (a break needs a loop, ...).
_ALSO = {"elif": {"if"}, "break": {"for"}, "continue": {"for"}, "nested_loop": {"for"}}


def test_every_feature_has_an_example_that_shows_it_and_only_it() -> None:
    assert list(EXAMPLES) == list(FEATURES)
    assert len(set(FEATURES)) == len(FEATURES)
    assert scan(kernel("a[i] = 1.0")).features == set()
    for feature, source in EXAMPLES.items():
        assert scan(source).features == {feature} | _ALSO.get(feature, set()), feature


@pytest.mark.parametrize(
    ("source", "feature"),
    [
        (kernel("a[i] = wp.float32(0.0)\nif a[i] > 0.0:\n    a[i] = 1.0\nelse:\n    a[i] = 2.0"), "elif"),
        (kernel("a[i] = 1.0", prelude="@wp.func\ndef unused(x: float):\n    return x"), "wp_func_call"),
        (kernel("a[i] = 1.0", params="a: wp.array(dtype=float, ndim=1)"), "multi_dim"),
        (kernel("a[i] = 1.0", params="a: wp.array(dtype=wp.vec3), p: P", prelude="@wp.struct\nclass P:\n    x: float\n"),
         "scalar_param"),
        (kernel("for n in range(3):\n    a[i] = 1.0\nfor m in range(3):\n    a[i] = 2.0"), "nested_loop"),
    ],
)
def test_features_not_shown(source: str, feature: str) -> None:
    assert feature not in scan(source).features


@pytest.mark.parametrize(
    ("source", "feature"),
    [
        (kernel("if a[i] > 1.0:\n    a[i] = 0.0\nelse:\n    if a[i] < 0.0:\n        a[i] = 1.0"), "elif"),  # else: if
        (kernel("a[i, 0] = 1.0", params="a: wp.array(dtype=float, ndim=2)"), "multi_dim"),
        ("import warp as wp\n@wp.kernel\ndef k(a: wp.array2d(dtype=float)):\n    i, j = wp.tid()\n", "multi_dim"),
        (kernel("a[i] = v[0]", params="a: wp.array(dtype=float), v: wp.vec3"), "scalar_param"),
        (kernel("a[i] = wp.float32(n)", params="a: wp.array(dtype=float), n: wp.uint8"), "scalar_param"),
        (kernel("while a[i] > 0.0:\n    for n in range(2):\n        a[i] = 0.0"), "nested_loop"),
        (kernel("t = wp.untile(wp.tile(a[i]))"), "tile"),
        ("import warp\n@warp.kernel\ndef k(a: warp.array(dtype=float)):\n    warp.atomic_add(a, 0, 1.0)\n", "atomic"),
        (kernel("a[i] = twice(a[i])", prelude="@wp.func\ndef twice(x: float):\n    return x\n"
                                              "@wp.func\ndef four(x: float):\n    return twice(twice(x))"),
         "wp_func_call"),
    ],
)
def test_features_shown(source: str, feature: str) -> None:
    assert feature in scan(source).features


def test_builtins_are_wp_names_operators_and_python_builtins_called_bare() -> None:
    source = kernel(
        """
        x = wp.sin(a[i]) * 2.0 + wp.float32(1) - -1.0
        y = -x / 3.0 // 2.0 % 5.0 ** 2.0
        n = int(x) & 3 | 4 ^ 5 << 1 >> 1
        m = ~n
        b = not (x > y)
        x += +y
        z = min(x, y) + abs(y) + max(x, 0.0)
        for q in range(len(a)):
            print(q)
        """
    )
    assert scan(source).builtins == {
        "array", "float32", "kernel", "sin", "tid",  # wp.<name>, decorators and annotations included
        "add", "sub", "mul", "div", "floordiv", "mod", "pow", "neg", "pos", "bit_and", "bit_or", "bit_xor",
        "lshift", "rshift", "invert", "unot",  # operators ("- -1.0": one sub, the literal's minus is folded)
        "abs", "int", "len", "max", "min", "print", "range",  # Python builtins called bare
    }  # fmt: skip
    assert "neg" not in scan(kernel("a[i] = -1.0")).builtins
    matmul = kernel("a[i] = (m @ v)[0]", params="a: wp.array(dtype=float), m: wp.mat33, v: wp.vec3")
    assert "mul" in scan(matmul).builtins


def test_a_function_of_the_module_shadows_a_python_builtin() -> None:
    source = kernel("a[i] = min(a[i])", prelude="@wp.func\ndef min(x: float):\n    return x")
    usage = scan(source)
    assert "min" not in usage.builtins and "wp_func_call" in usage.features


def test_dtypes_fold_aliases_onto_one_name() -> None:
    source = kernel(
        "v = wp.vec3f(1.0, 2.0, 3.0)\nw = wp.vec3(v)\nn = int(0)\nb = bool(False)\nq = wp.quatf()\nh = wp.vec2ub()",
        params="a: wp.array(dtype=float), s: wp.spatial_vectorf, t: wp.transformd",
    )
    assert scan(source).dtypes == {"float32", "vec3", "int32", "bool", "quat", "vec2ub", "spatial_vector",
                                   "transformd"}
    assert scan(kernel("a[i] = 1.0", params="a: wp.array(dtype=float)")).dtypes == {"float32"}
    assert scan(kernel("a[i] = 1.0", params="a: wp.array(dtype=wp.float64)")).dtypes == {"float64"}


def test_dtype_names_are_canonical_and_complete() -> None:
    assert len(DTYPE_NAMES) == len(set(DTYPE_NAMES)) == 67
    assert not [d for d in DTYPE_NAMES if d in {"vec2f", "vec3f", "vec4f", "mat33f", "quatf", "transformf"}]
    for name in ("bool", "int8", "uint64", "bfloat16", "float16", "vec3", "vec4ub", "mat44d", "quath",
                 "spatial_matrix", "spatial_vectord"):
        assert name in DTYPE_NAMES


def test_vocabulary_matches_warp() -> None:
    import warp as wp

    from warp_synth.extract import kernel_builtin_names

    registry = set(kernel_builtin_names())
    assert all(hasattr(wp, d) for d in DTYPE_NAMES)
    assert len({id(getattr(wp, d)) for d in DTYPE_NAMES}) == len(DTYPE_NAMES)  # no two names for one type
    for base in ("vec2", "vec3", "vec4", "mat22", "mat33", "mat44", "quat", "transform", "spatial_vector",
                 "spatial_matrix"):
        assert getattr(wp, base) is getattr(wp, base + "f")
        assert scan(f"import warp as wp\nx = wp.{base}f\n").dtypes == {base}
    operators = scan(kernel("x = -a[i] + 1.0 - 2.0 * 3.0 / 4.0 // 5.0 % 6.0 ** 7.0\nn = ~(1 & 2 | 3 ^ 4 << 5 >> 6)"
                            "\nb = not n\nm = +n")).builtins - {"array", "float32", "kernel", "tid"}
    assert len(operators) == 16 and operators <= registry


def test_comments_docstrings_and_strings_are_not_usage() -> None:
    source = kernel('"""wp.cos, for, while"""\n# wp.sqrt(wp.vec3())\nwp.printf("wp.exp %d", 1)\na[i] = wp.sin(1.0)')
    usage = scan(source)
    assert usage.builtins == {"array", "float32", "kernel", "printf", "sin", "tid"}
    assert (usage.dtypes, usage.features) == ({"float32"}, set())


def test_text_that_does_not_parse_uses_nothing() -> None:
    assert scan("def broken(:\n    wp.cos(wp.float32(1))") == EMPTY
    assert scan("") == EMPTY


@pytest.mark.parametrize("feature", list(EXAMPLES))
def test_a_tree_and_the_normalised_tree_give_the_same_usage(feature: str) -> None:
    source = EXAMPLES[feature]
    _, skeleton = normalized_and_skeleton(source)
    assert scan(ast.parse(source)) == scan(source) == scan(ast.parse(skeleton))
