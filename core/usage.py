"""What a kernel module uses: Warp builtins, dtypes and language features (the one vocabulary).

``scan(source)`` reads a module statically with ``ast`` (nothing is executed, no Warp import)
and is the only such scanner: the LLM's coverage guidance (``synth.llm.coverage``) and
``synth eval``'s coverage figures (``eval.digest``) both use it, with the names below, so a
feature or dtype means the same thing in a prompt and in a report.  Comments, docstrings and
string contents are never code to ``ast``, so they never count; a source that does not parse
uses nothing.

* builtins: each name ``X`` of a ``wp.X`` / ``warp.X`` reference (calls, annotations,
  ``dtype=`` arguments: type constructors such as ``float32`` count too), the Warp builtin
  behind each arithmetic, bitwise and ``not`` operator (``a * b`` -> ``mul``; a minus sign on a
  number literal is part of the literal, as in Warp's codegen) and each Python builtin called
  by bare name (``min(a, b)``, ``range(n)``, ``float(x)``: Warp resolves those to its builtins
  of the same name) unless the module defines a function of that name.  These are raw names:
  each consumer intersects them with its universe (Warp's registry,
  ``warp_synth.extract.kernel_builtin_names``, or the LLM's suggestible subset of it).
* dtypes: names from ``DTYPE_NAMES`` the module mentions as ``wp.<name>``, or as the Python
  spellings Warp maps onto them (``float`` -> ``float32``, ``int`` -> ``int32``, ``bool``); the
  ``f``-suffixed aliases of the float32 vector, matrix, quaternion, transform and spatial types
  count as their canonical name (``wp.vec3f`` is ``wp.vec3``: one Warp type, one name).
* features: ``FEATURES``, each present or absent per module (see ``FEATURES``).
"""

from __future__ import annotations

import ast
import builtins as _py_builtins
import math
from collections.abc import Sequence
from dataclasses import dataclass

_SCALARS = ("bool", "int8", "uint8", "int16", "uint16", "int32", "uint32", "int64", "uint64",
            "float16", "bfloat16", "float32", "float64")
_VEC_SUFFIXES = ("", "b", "ub", "s", "us", "i", "ui", "l", "ul", "h", "d")
_FLOAT_SUFFIXES = ("", "h", "d")
# Warp spells float32 vector types both ways (``wp.vec3 is wp.vec3f``): the bare name is canonical.
_F32_TYPES = ("vec2", "vec3", "vec4", "mat22", "mat33", "mat44", "quat", "transform", "spatial_vector",
              "spatial_matrix")

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

# Every spelling that names one of DTYPE_NAMES -> that name.
_DTYPE_OF: dict[str, str] = {
    **{name: name for name in DTYPE_NAMES},
    **{f"{name}f": name for name in _F32_TYPES},
    "float": "float32",
    "int": "int32",
}
_PY_TYPE_NAMES = ("float", "int", "bool")  # bare names Warp reads as float32, int32, bool

# Language and structure features, in report and prompt order.  The prompt wording of each
# lives in prompts/chat/vocabulary.j2 (its keys are exactly these).
FEATURES: tuple[str, ...] = (
    "for",  # a for loop
    "while",  # a while loop
    "if",  # an if statement
    "elif",  # an if whose else branch is one if (``elif``, or ``else:`` + ``if``)
    "break",
    "continue",
    "nested_loop",  # a loop inside the body of another loop
    "bool_op",  # ``and`` / ``or``
    "ternary",  # a conditional expression ``a if c else b``
    "aug_assign",  # ``x += ...``, ``a[i] *= ...``
    "wp_func_call",  # a call to a @wp.func defined in the module
    "struct",  # a @wp.struct class
    "atomic",  # wp.atomic_*
    "tile",  # wp.tile, wp.tile_*, wp.untile
    "multi_dim",  # wp.array2d/3d/4d, wp.array(..., ndim=k) with k != 1, or ``i, j = wp.tid()``
    "scalar_param",  # a @wp.kernel parameter of a (non-array) dtype: ``a: float``, ``v: wp.vec3``
    "constant",  # wp.constant(...)
)

# The builtin Warp's codegen calls for each operator (warp codegen's ``builtin_operators``): every
# arithmetic, bitwise and unary operator of Python's ``ast``.
_OPERATOR_BUILTINS: dict[type, str] = {
    ast.Add: "add", ast.Sub: "sub", ast.Mult: "mul", ast.MatMult: "mul", ast.Div: "div",
    ast.FloorDiv: "floordiv", ast.Mod: "mod", ast.Pow: "pow", ast.BitAnd: "bit_and", ast.BitOr: "bit_or",
    ast.BitXor: "bit_xor", ast.LShift: "lshift", ast.RShift: "rshift",
    ast.UAdd: "pos", ast.USub: "neg", ast.Invert: "invert", ast.Not: "unot",
}  # fmt: skip
_PY_BUILTIN_NAMES = frozenset(n for n in dir(_py_builtins) if not n.startswith("_"))
_MULTI_DIM_ARRAYS = frozenset({"array2d", "array3d", "array4d"})
_WP = frozenset({"wp", "warp"})


@dataclass(slots=True, frozen=True)
class Usage:
    """What one kernel module uses (builtins unrestricted; dtypes and features from the tuples)."""

    builtins: frozenset[str]
    dtypes: frozenset[str]
    features: frozenset[str]


EMPTY = Usage(frozenset(), frozenset(), frozenset())


def scan(source: str | ast.AST) -> Usage:
    """Builtins, dtypes and features of a kernel module, from its text or its parsed tree.

    A tree may come from ``ast.parse`` or from ``core.identity``'s normalisation (identifiers
    renamed consistently, constants abstracted): the result is the same, since Warp names and
    Python builtins are never renamed.  Text that does not parse gives ``EMPTY``.
    """
    if isinstance(source, ast.AST):
        tree = source
    else:
        try:
            tree = ast.parse(source)
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            return EMPTY
    attrs: set[str] = set()
    builtins: set[str] = set()
    dtypes: set[str] = set()
    features: set[str] = set()
    called: set[str] = set()  # names called bare, ``f(...)``
    defined: set[str] = set()  # functions the module defines
    wp_funcs: set[str] = set()  # ... of which @wp.func

    stack: list[tuple[ast.AST, bool]] = [(tree, False)]  # (node, inside a loop body)
    pop, push = stack.pop, stack.append
    while stack:
        node, in_loop = pop()
        kind = type(node)
        if kind is ast.Attribute:
            value = node.value
            if type(value) is ast.Name and value.id in _WP:
                attrs.add(node.attr)
                continue
        elif kind is ast.Name:
            if node.id in _PY_TYPE_NAMES:
                dtypes.add(_DTYPE_OF[node.id])
            continue
        elif kind is ast.Constant:
            continue
        elif kind is ast.Call:
            func = node.func
            if type(func) is ast.Name:
                called.add(func.id)
            elif _wp_attr(func) == "array" and any(
                k.arg == "ndim" and not (type(k.value) is ast.Constant and k.value.value == 1) for k in node.keywords
            ):
                features.add("multi_dim")
        elif kind is ast.BinOp:
            builtins.add(_OPERATOR_BUILTINS[type(node.op)])
        elif kind is ast.UnaryOp:
            op = type(node.op)
            operand = node.operand
            if not (op is ast.USub and type(operand) is ast.Constant and isinstance(operand.value, (int, float))):
                builtins.add(_OPERATOR_BUILTINS[op])
        elif kind is ast.AugAssign:
            builtins.add(_OPERATOR_BUILTINS[type(node.op)])
            features.add("aug_assign")
        elif kind is ast.Assign:
            if type(node.targets[0]) is ast.Tuple and type(node.value) is ast.Call and _wp_attr(node.value.func) == "tid":
                features.add("multi_dim")
        elif kind is ast.If:
            features.add("if")
            orelse = node.orelse
            if len(orelse) == 1 and type(orelse[0]) is ast.If:
                features.add("elif")
        elif kind is ast.For or kind is ast.AsyncFor or kind is ast.While:
            features.add("while" if kind is ast.While else "for")
            if in_loop:
                features.add("nested_loop")
            for child in ast.iter_child_nodes(node):
                push((child, True))
            continue
        elif kind is ast.Break:
            features.add("break")
        elif kind is ast.Continue:
            features.add("continue")
        elif kind is ast.BoolOp:
            features.add("bool_op")
        elif kind is ast.IfExp:
            features.add("ternary")
        elif kind is ast.FunctionDef or kind is ast.AsyncFunctionDef:
            defined.add(node.name)
            decorators = {_wp_attr(d.func if type(d) is ast.Call else d) for d in node.decorator_list}
            if "func" in decorators:
                wp_funcs.add(node.name)
            if "kernel" in decorators and any(_is_value_type(a.annotation) for a in node.args.args):
                features.add("scalar_param")
        elif kind is ast.ClassDef:
            if any(_wp_attr(d.func if type(d) is ast.Call else d) == "struct" for d in node.decorator_list):
                features.add("struct")
        for child in ast.iter_child_nodes(node):
            push((child, in_loop))

    builtins |= attrs
    builtins |= (called & _PY_BUILTIN_NAMES) - defined
    for name in attrs:
        dtype = _DTYPE_OF.get(name)
        if dtype is not None:
            dtypes.add(dtype)
        elif name.startswith("atomic_"):
            features.add("atomic")
        elif name == "tile" or name == "untile" or name.startswith("tile_"):
            features.add("tile")
        elif name in _MULTI_DIM_ARRAYS:
            features.add("multi_dim")
        elif name == "constant":
            features.add("constant")
    if called & wp_funcs:
        features.add("wp_func_call")
    return Usage(frozenset(builtins), frozenset(dtypes), frozenset(features))


def _wp_attr(node: ast.AST) -> str | None:
    """``X`` for a ``wp.X`` / ``warp.X`` node, else None."""
    if type(node) is ast.Attribute and type(node.value) is ast.Name and node.value.id in _WP:
        return node.attr
    return None


def _is_value_type(annotation: ast.expr | None) -> bool:
    """A parameter annotation naming a dtype (``float``, ``wp.int32``, ``wp.vec3``), not an array or struct."""
    if type(annotation) is ast.Name:
        return annotation.id in _PY_TYPE_NAMES
    attr = _wp_attr(annotation) if annotation is not None else None
    return attr is not None and attr in _DTYPE_OF


def entropy_bits(counts: Sequence[int]) -> float:
    """Shannon entropy (bits) of the distribution proportional to ``counts``; 0 for no mass."""
    total = sum(counts)
    if total <= 0:
        return 0.0
    return -sum((c / total) * math.log2(c / total) for c in counts if c > 0)
