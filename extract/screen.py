"""Static safety screen for untrusted kernel source (LLM replies, mutants).

Nothing here imports or executes the source.  A module is admitted only if it consists of:

* ``import warp as wp`` and ``import math``;
* top-level ``@wp.kernel`` / ``@wp.func`` / ``@wp.struct`` (and ``@wp.overload`` stub)
  definitions, whose decorators, annotations and defaults are *static type expressions*;
* constant assignments ``NAME = <literal | wp.constant(...) | wp.vec3(1.0, ...) ...>``;
* an optional module docstring.

Python evaluates decorators, annotations, defaults and top-level assignments when the module
is imported, and Warp evaluates ``wp.static`` expressions and string annotations at codegen,
so each of those positions is restricted to names, ``wp.*`` attributes, literals and calls of
an allow-list of Warp type constructors.  Anything else is rejected with a reason and a line.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass

from warp_synth.reasons import Reason

ALLOWED_DECORATORS = frozenset({"kernel", "func", "struct", "overload"})

# Warp attributes that run or configure things rather than describe kernel code.
FORBIDDEN_WP_ATTRS = frozenset(
    {
        "static", "func_native", "func_grad", "func_replay", "launch", "launch_tiled", "load_module",
        "force_load", "config", "context", "build", "set_module_options", "get_module", "init",
        "synchronize", "compile_aot_module", "load_aot_module", "capture_begin", "capture_end",
        "capture_launch", "ScopedTimer", "utils", "jax", "torch", "paddle", "native", "map", "Tape",
        "Kernel", "Function", "from_numpy", "from_torch", "to_torch", "from_jax", "to_jax", "copy",
        "empty", "zeros", "ones", "full", "clone", "array_from", "get_device", "set_device",
        "ScopedDevice", "ScopedStream", "Stream", "Event", "apic", "fem", "sparse", "optim", "render",
        "examples", "tests", "sim", "interop", "__builtins__",
    }
)

# Python builtins a kernel body may name (Warp maps them to builtins or types).
_DANGEROUS_BUILTINS = frozenset(
    {
        "eval", "exec", "compile", "open", "getattr", "setattr", "delattr", "globals", "locals", "vars",
        "__import__", "input", "breakpoint", "memoryview", "type", "object", "super", "help", "exit",
        "quit", "dir", "classmethod", "staticmethod", "property", "callable", "issubclass",
    }
)

# Warp callables that may appear in static positions (annotations, constants, decorators).
STATIC_WP_CALLS = frozenset(
    {
        "array", "array1d", "array2d", "array3d", "array4d", "indexedarray", "fabricarray", "constant",
        "vector", "matrix", "quaternion", "transformation", "tile", "types",
        "vec2", "vec3", "vec4", "vec2h", "vec3h", "vec4h", "vec2f", "vec3f", "vec4f", "vec2d", "vec3d",
        "vec4d", "vec2i", "vec3i", "vec4i", "vec2ui", "vec3ui", "vec4ui", "vec2b", "vec3b", "vec4b",
        "mat22", "mat33", "mat44", "mat22h", "mat33h", "mat44h", "mat22f", "mat33f", "mat44f", "mat22d",
        "mat33d", "mat44d", "quat", "quath", "quatf", "quatd", "transform", "transformh", "transformf",
        "transformd", "spatial_vector", "spatial_matrix", "spatial_vectorf", "spatial_vectord",
        "spatial_matrixf", "spatial_matrixd", "float16", "float32", "float64", "int8", "int16", "int32",
        "int64", "uint8", "uint16", "uint32", "uint64", "bool",
    }
)


@dataclass(slots=True, frozen=True)
class ScreenResult:
    ok: bool
    reason: Reason | None = None  # UNSAFE or SYNTAX when not ok
    message: str = ""
    line: int | None = None


class _Unsafe(Exception):
    def __init__(self, node: ast.AST | None, message: str) -> None:
        super().__init__(message)
        self.line = getattr(node, "lineno", None)
        self.message = message


def _dotted(node: ast.AST) -> list[str] | None:
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
        return parts[::-1]
    return None


def _check_static_expr(node: ast.AST, where: str, *, allow_calls: bool = True) -> None:
    """Expressions Python evaluates at import time: names, wp.* types, literals, type calls."""
    if isinstance(node, ast.Constant):
        if isinstance(node.value, str) and where in ("annotation", "return annotation"):
            raise _Unsafe(node, f"string {where}s are not allowed (Warp would evaluate them)")
        return
    if isinstance(node, ast.Name):
        if node.id.startswith("__") or node.id in _DANGEROUS_BUILTINS:
            raise _Unsafe(node, f"name '{node.id}' is not allowed in a {where}")
        return
    if isinstance(node, ast.Attribute):
        parts = _dotted(node)
        if parts is None or parts[0] not in ("wp", "math"):
            raise _Unsafe(node, f"only wp.* and math.* attributes are allowed in a {where}")
        return
    if isinstance(node, (ast.Tuple, ast.List)):
        for elt in node.elts:
            _check_static_expr(elt, where, allow_calls=allow_calls)
        return
    if isinstance(node, ast.UnaryOp):
        _check_static_expr(node.operand, where, allow_calls=allow_calls)
        return
    if isinstance(node, ast.BinOp):
        _check_static_expr(node.left, where, allow_calls=allow_calls)
        _check_static_expr(node.right, where, allow_calls=allow_calls)
        return
    if isinstance(node, ast.Subscript):
        _check_static_expr(node.value, where, allow_calls=allow_calls)
        _check_static_expr(node.slice, where, allow_calls=allow_calls)
        return
    if isinstance(node, ast.Call):
        if not allow_calls:
            raise _Unsafe(node, f"a {where} may not call anything")
        parts = _dotted(node.func)
        ok = parts is not None and len(parts) >= 2 and parts[0] == "wp" and parts[-1] in STATIC_WP_CALLS
        if ok and len(parts) == 3:
            ok = parts[1] == "types"
        if not ok or len(parts) > 3:
            name = ".".join(parts) if parts else ast.unparse(node.func)
            raise _Unsafe(node, f"call of '{name}' is not allowed in a {where}")
        for a in node.args:
            _check_static_expr(a, where, allow_calls=allow_calls)
        for kw in node.keywords:
            if kw.arg is None:
                raise _Unsafe(node, f"**kwargs are not allowed in a {where}")
            _check_static_expr(kw.value, where, allow_calls=allow_calls)
        return
    raise _Unsafe(node, f"{type(node).__name__} expressions are not allowed in a {where}")


def _check_decorator(dec: ast.expr, *, struct: bool) -> str:
    target = dec.func if isinstance(dec, ast.Call) else dec
    parts = _dotted(target)
    if parts is None or len(parts) != 2 or parts[0] != "wp" or parts[1] not in ALLOWED_DECORATORS:
        raise _Unsafe(dec, f"decorator '{ast.unparse(dec)}' is not allowed (only @wp.kernel, @wp.func, "
                           "@wp.struct, @wp.overload)")
    if struct != (parts[1] == "struct"):
        raise _Unsafe(dec, f"@wp.{parts[1]} cannot decorate a {'class' if struct else 'function'}")
    if isinstance(dec, ast.Call):
        if dec.args:
            raise _Unsafe(dec, "decorator arguments must be keywords with constant values")
        for kw in dec.keywords:
            if kw.arg is None or not isinstance(kw.value, ast.Constant):
                raise _Unsafe(dec, "decorator arguments must be keywords with constant values")
    return parts[1]


def _check_function(fn: ast.FunctionDef) -> None:
    kinds = [_check_decorator(d, struct=False) for d in fn.decorator_list]
    if not kinds:
        raise _Unsafe(fn, f"function '{fn.name}' has no @wp.kernel/@wp.func decorator")
    args = fn.args
    for a in (*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg, args.kwarg):
        if a is None:
            continue
        if a.annotation is not None:
            _check_static_expr(a.annotation, "annotation")
    for d in (*args.defaults, *args.kw_defaults):
        if d is not None:
            _check_static_expr(d, "default value", allow_calls=False)
    if fn.returns is not None:
        _check_static_expr(fn.returns, "return annotation")
    _check_body(fn)


def _check_body(fn: ast.FunctionDef) -> None:
    """Bodies are never executed by Python, only translated by Warp; forbid what Warp would
    evaluate in Python (wp.static, ...) and anything that reaches outside the kernel language."""
    for node in ast.walk(fn):
        if node is fn:
            continue
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            raise _Unsafe(node, "imports inside functions are not allowed")
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
            raise _Unsafe(node, "nested function, class or lambda definitions are not allowed")
        if isinstance(node, (ast.Global, ast.Nonlocal, ast.Yield, ast.YieldFrom, ast.Await, ast.AsyncFor,
                             ast.AsyncWith, ast.With, ast.Try, ast.Raise, ast.Delete)):
            raise _Unsafe(node, f"'{type(node).__name__}' statements are not allowed in kernels")
        if isinstance(node, ast.Name) and node.id in _DANGEROUS_BUILTINS:
            raise _Unsafe(node, f"name '{node.id}' is not allowed in kernel code")
        if isinstance(node, ast.JoinedStr):
            raise _Unsafe(node, "f-strings are not allowed in kernel code")


def _check_struct(cls: ast.ClassDef) -> None:
    if not cls.decorator_list:
        raise _Unsafe(cls, f"class '{cls.name}' is not a @wp.struct")
    for d in cls.decorator_list:
        _check_decorator(d, struct=True)
    if cls.bases or cls.keywords:
        raise _Unsafe(cls, "@wp.struct classes may not have bases or keywords")
    for i, stmt in enumerate(cls.body):
        if i == 0 and isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant):
            continue
        if not isinstance(stmt, ast.AnnAssign) or stmt.value is not None or not isinstance(stmt.target, ast.Name):
            raise _Unsafe(stmt, "@wp.struct bodies may only declare annotated fields")
        _check_static_expr(stmt.annotation, "annotation")


def _check_constant(stmt: ast.Assign | ast.AnnAssign) -> None:
    targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
    for t in targets:
        if not isinstance(t, ast.Name) or t.id.startswith("__"):
            raise _Unsafe(stmt, "only plain NAME = constant assignments are allowed at top level")
    if isinstance(stmt, ast.AnnAssign):
        _check_static_expr(stmt.annotation, "annotation")
    if stmt.value is None:
        raise _Unsafe(stmt, "bare annotations are not allowed at top level")
    _check_static_expr(stmt.value, "constant")


def _check_names_and_attrs(tree: ast.Module) -> None:
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute):
            if node.attr.startswith("_"):
                raise _Unsafe(node, f"attribute '{node.attr}' is not allowed (private/dunder attributes)")
            parts = _dotted(node)
            if parts and parts[0] == "wp" and len(parts) > 1 and parts[1] in FORBIDDEN_WP_ATTRS:
                raise _Unsafe(node, f"'wp.{parts[1]}' is not allowed")
        elif isinstance(node, ast.Name) and node.id.startswith("__"):
            raise _Unsafe(node, f"name '{node.id}' is not allowed (dunder names)")


def screen(source: str) -> ScreenResult:
    """Decide whether ``source`` may be loaded in a worker.  Never raises."""
    try:
        tree = ast.parse(source)
    except SyntaxError as e:
        return ScreenResult(False, Reason.SYNTAX, f"SyntaxError: {e.msg}", e.lineno)
    except (ValueError, RecursionError, MemoryError) as e:
        return ScreenResult(False, Reason.SYNTAX, f"unparsable source: {e}", None)
    try:
        _check_names_and_attrs(tree)
        kernels = 0
        for i, stmt in enumerate(tree.body):
            if i == 0 and isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant) \
                    and isinstance(stmt.value.value, str):
                continue
            if isinstance(stmt, ast.Import):
                for alias in stmt.names:
                    if (alias.name, alias.asname) not in (("warp", "wp"), ("math", None)):
                        raise _Unsafe(stmt, f"import of '{alias.name}' is not allowed "
                                            "(only 'import warp as wp' and 'import math')")
            elif isinstance(stmt, ast.FunctionDef):
                _check_function(stmt)
                if any(_dotted(d.func if isinstance(d, ast.Call) else d) == ["wp", "kernel"]
                       for d in stmt.decorator_list):
                    kernels += 1
            elif isinstance(stmt, ast.ClassDef):
                _check_struct(stmt)
            elif isinstance(stmt, (ast.Assign, ast.AnnAssign)):
                _check_constant(stmt)
            else:
                raise _Unsafe(stmt, f"top-level '{type(stmt).__name__}' statements are not allowed")
        if kernels == 0:
            return ScreenResult(False, Reason.SYNTAX, "no @wp.kernel defined", None)
    except _Unsafe as e:
        return ScreenResult(False, Reason.UNSAFE, e.message, e.line)
    except RecursionError:
        return ScreenResult(False, Reason.UNSAFE, "source nests too deeply", None)
    return ScreenResult(True)
