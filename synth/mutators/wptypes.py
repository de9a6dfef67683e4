"""A small static type model of Warp kernel code, enough to keep mutations type-correct.

Types are strings: scalars (``float32``, ``int32``, ``bool`` ...), vectors/matrices by their Warp
name (``vec3``, ``vec3d``, ``mat33`` ...), arrays as ``array<ndim>[<dtype>]`` and structs as
``struct:<Name>``.  ``None`` means "unknown": operators that need a type skip such sites.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import libcst as cst

if TYPE_CHECKING:
    from warp_synth.synth.mutators.base import ModuleInfo

FLOATS = ("float16", "float32", "float64")
INTS = ("int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64")
SCALARS = (*FLOATS, *INTS, "bool")
_SUFFIX = {"h": "float16", "f": "float32", "d": "float64", "i": "int32", "": "float32"}
_COMPOSITE = re.compile(r"^(vec[234]|mat22|mat33|mat44|quat|transform)([hfdi]?)$")

# builtins whose result has the type of their first argument
SAME_AS_ARG = frozenset(
    ["sin", "cos", "tan", "tanh", "sinh", "cosh", "asin", "acos", "atan", "atan2", "exp", "log", "log2", "log10", "sqrt", "cbrt", "abs", "floor", "ceil", "round", "trunc", "frac", "sign", "min", "max", "clamp", "normalize", "cross", "neg", "pow", "step", "lerp"]
)
# builtins that reduce a vector to its scalar type
TO_SCALAR = frozenset(["length", "length_sq", "dot", "determinant", "trace"])
ATOMICS = frozenset(["atomic_add", "atomic_sub", "atomic_min", "atomic_max"])


def scalar_of(t: str | None) -> str | None:
    """Component type of a vector/matrix type; scalars map to themselves."""
    if t is None or t in SCALARS:
        return t
    m = _COMPOSITE.match(t)
    return _SUFFIX[m.group(2)] if m else None


def is_composite(t: str | None) -> bool:
    return t is not None and _COMPOSITE.match(t) is not None


def array_parts(t: str | None) -> tuple[int, str | None] | None:
    """``array2[float32]`` -> (2, "float32")."""
    m = re.match(r"^array(\d)\[(.*)\]$", t or "")
    if not m:
        return None
    return int(m.group(1)), (m.group(2) or None)


def _dotted(node: cst.CSTNode) -> str | None:
    if isinstance(node, cst.Name):
        return node.value
    if isinstance(node, cst.Attribute) and isinstance(node.value, cst.Name):
        return f"{node.value.value}.{node.attr.value}"
    return None


def _named_type(name: str | None, info: ModuleInfo | None) -> str | None:
    if name is None:
        return None
    short = name.removeprefix("wp.")
    if short in ("float", "int", "bool"):
        return {"float": "float32", "int": "int32", "bool": "bool"}[short]
    if short in SCALARS or _COMPOSITE.match(short):
        return short.removesuffix("f") if _COMPOSITE.match(short) and short.endswith("f") else short
    if info is not None and short in info.structs:
        return f"struct:{short}"
    return None


def annotation_type(node: cst.BaseExpression, info: ModuleInfo | None) -> str | None:
    if isinstance(node, cst.Call):
        ctor = _dotted(node.func)
        ndim = {"wp.array": 1, "wp.array2d": 2, "wp.array3d": 3, "wp.array4d": 4}.get(ctor or "")
        if ndim is None:
            return None
        dtype: str | None = None
        for arg in node.args:
            kw = arg.keyword.value if arg.keyword else None
            if kw == "dtype" or (kw is None and dtype is None):
                dtype = _named_type(_dotted(arg.value), info)
            elif kw == "ndim" and isinstance(arg.value, cst.Integer):
                ndim = int(arg.value.value)
        return f"array{ndim}[{dtype or ''}]"
    return _named_type(_dotted(node), info)


def _binop(op: cst.BaseBinaryOp, lt: str | None, rt: str | None) -> str | None:
    if lt is None or rt is None:
        return None
    if lt == rt:
        return lt
    if lt in SCALARS and is_composite(rt) and isinstance(op, cst.Multiply):
        return rt
    if is_composite(lt) and rt in SCALARS and isinstance(op, (cst.Multiply, cst.Divide)):
        return lt
    if lt.startswith("mat") and rt.startswith("vec"):
        return rt
    return None


def infer(node: cst.BaseExpression, env: dict[str, str | None], info: ModuleInfo | None) -> str | None:
    """Static type of ``node`` given the types of the names in scope, or None if unknown."""
    if isinstance(node, cst.Integer):
        return "int32"
    if isinstance(node, cst.Float):
        return "float32"
    if isinstance(node, cst.Name):
        if node.value in ("True", "False"):
            return "bool"
        return env.get(node.value)
    if isinstance(node, (cst.Comparison, cst.BooleanOperation)):
        return "bool"
    if isinstance(node, cst.UnaryOperation):
        return "bool" if isinstance(node.operator, cst.Not) else infer(node.expression, env, info)
    if isinstance(node, cst.BinaryOperation):
        return _binop(node.operator, infer(node.left, env, info), infer(node.right, env, info))
    if isinstance(node, cst.IfExp):
        return infer(node.body, env, info)
    if isinstance(node, cst.Attribute):
        if _dotted(node) in ("math.pi", "math.e", "wp.pi", "wp.e", "wp.tau", "math.tau", "math.inf", "wp.inf"):
            return "float32"
        base = infer(node.value, env, info)
        if is_composite(base) and node.attr.value in ("x", "y", "z", "w"):
            return scalar_of(base)
        return None
    if isinstance(node, cst.Subscript):
        if isinstance(node.value, cst.Attribute) and node.value.attr.value == "shape":
            return "int32"
        base = infer(node.value, env, info)
        parts = array_parts(base)
        if parts is not None:
            return parts[1] if len(node.slice) == parts[0] else None
        if is_composite(base):
            return scalar_of(base) if len(node.slice) == (2 if base.startswith("mat") else 1) else None
        return None
    if isinstance(node, cst.Call):
        return _call_type(node, env, info)
    return None


def _call_type(node: cst.Call, env: dict[str, str | None], info: ModuleInfo | None) -> str | None:
    name = _dotted(node.func)
    if name in ("float", "int", "bool"):
        return _named_type(name, info)
    if name is None or not name.startswith("wp."):
        fn = info.func_named(name) if info is not None and name is not None else None
        if fn is not None and fn.node.returns is not None:
            return annotation_type(fn.node.returns.annotation, info)
        return None
    short = name[3:]
    first = infer(node.args[0].value, env, info) if node.args else None
    if short == "tid":
        return "int32"
    if _named_type(name, info) is not None:
        return _named_type(name, info)
    if short in SAME_AS_ARG:
        return first
    if short in TO_SCALAR:
        return scalar_of(first)
    if short in ATOMICS:
        parts = array_parts(first)
        return parts[1] if parts else None
    if short in ("where", "select") and len(node.args) == 3:
        return infer(node.args[1].value, env, info)
    return None
