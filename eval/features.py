"""What a kernel's source uses: Warp builtins, dtypes and control-flow features.

Everything is read from the Python text with ``ast`` (no Warp import), so mined or old records
without ``metadata["builtins"]`` are measured the same way as fresh ones.

* builtins: ``wp.<name>`` / ``warp.<name>`` attribute references whose name is in Warp's kernel
  builtin registry (``extract.warp_adapter.kernel_builtin_names``).  Type constructors in the
  registry (``float32``, ``vector``, ...) count too, annotations included.
* dtypes: ``wp.<name>`` references to one of ``DTYPE_NAMES``.
* features: ``FEATURES`` below, each present or absent per kernel module.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Sequence

_SCALARS = ("bool", "int8", "uint8", "int16", "uint16", "int32", "uint32", "int64", "uint64",
            "float16", "bfloat16", "float32", "float64")
_VEC_SUFFIXES = ("", "b", "ub", "s", "us", "i", "ui", "l", "ul", "h", "f", "d")
_FLOAT_SUFFIXES = ("", "h", "f", "d")

# The dtypes a kernel can name: scalars, vectors, matrices, quaternions, transforms, spatial types.
DTYPE_NAMES: tuple[str, ...] = (
    _SCALARS
    + tuple(f"vec{n}{s}" for n in (2, 3, 4) for s in _VEC_SUFFIXES)
    + tuple(f"mat{n}{n}{s}" for n in (2, 3, 4) for s in _FLOAT_SUFFIXES)
    + tuple(f"quat{s}" for s in _FLOAT_SUFFIXES)
    + tuple(f"transform{s}" for s in _FLOAT_SUFFIXES)
    + tuple(f"spatial_vector{s}" for s in _FLOAT_SUFFIXES)
    + tuple(f"spatial_matrix{s}" for s in _FLOAT_SUFFIXES)
)
_DTYPES = frozenset(DTYPE_NAMES)

# Control-flow and structure features, in report order.
FEATURES: tuple[str, ...] = (
    "for", "while", "if", "elif", "ternary", "break", "continue", "wp_func_call", "struct", "atomic", "tile",
)

_WARP_MODULE_NAMES = frozenset({"wp", "warp"})
_WP_ATTR_RE = re.compile(r"\b(?:wp|warp)\.([A-Za-z_]\w*)")


def kernel_builtin_names() -> list[str]:
    """Warp's kernel builtins, from the one adapter module allowed to read Warp internals."""
    from extract.warp_adapter import kernel_builtin_names as _names  # lazy: imports Warp

    return _names()


def _decorator_is(dec: ast.expr, attr: str) -> bool:
    target = dec.func if isinstance(dec, ast.Call) else dec
    return (
        isinstance(target, ast.Attribute)
        and target.attr == attr
        and isinstance(target.value, ast.Name)
        and target.value.id in _WARP_MODULE_NAMES
    )


def source_usage(
    source: str, builtin_names: frozenset[str], tree: ast.AST | None = None
) -> tuple[list[str], list[str], list[str]]:
    """(builtins, dtypes, features) used by ``source``, each sorted and without repeats.

    ``tree`` may be passed when the caller already parsed ``source``.  Text that does not parse
    falls back to a regex for ``wp.<name>`` and reports no features.
    """
    if tree is None:
        try:
            tree = ast.parse(source)
        except (SyntaxError, ValueError):
            attrs = set(_WP_ATTR_RE.findall(source))
            return sorted(attrs & builtin_names), sorted(attrs & _DTYPES), []
    attrs: set[str] = set()
    feats: set[str] = set()
    wp_funcs: set[str] = set()
    calls: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute):
            if isinstance(node.value, ast.Name) and node.value.id in _WARP_MODULE_NAMES:
                attrs.add(node.attr)
        elif isinstance(node, ast.For):
            feats.add("for")
        elif isinstance(node, ast.While):
            feats.add("while")
        elif isinstance(node, ast.If):
            feats.add("if")
            if len(node.orelse) == 1 and isinstance(node.orelse[0], ast.If):
                feats.add("elif")
        elif isinstance(node, ast.IfExp):
            feats.add("ternary")
        elif isinstance(node, ast.Break):
            feats.add("break")
        elif isinstance(node, ast.Continue):
            feats.add("continue")
        elif isinstance(node, ast.FunctionDef):
            if any(_decorator_is(d, "func") for d in node.decorator_list):
                wp_funcs.add(node.name)
        elif isinstance(node, ast.ClassDef):
            if any(_decorator_is(d, "struct") for d in node.decorator_list):
                feats.add("struct")
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            calls.add(node.func.id)
    if wp_funcs & calls:
        feats.add("wp_func_call")
    if any(a.startswith("atomic_") for a in attrs):
        feats.add("atomic")
    if any(a == "tile" or a.startswith("tile_") or a == "untile" for a in attrs):
        feats.add("tile")
    return sorted(attrs & builtin_names), sorted(attrs & _DTYPES), [f for f in FEATURES if f in feats]


def entropy_bits(counts: Sequence[int]) -> float:
    """Shannon entropy (bits) of the distribution proportional to ``counts``; 0 for no mass."""
    total = sum(counts)
    if total <= 0:
        return 0.0
    import math

    return -sum((c / total) * math.log2(c / total) for c in counts if c > 0)
