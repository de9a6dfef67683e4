"""The values of names a definition uses only in its annotations (kernel factories).

A kernel, ``@wp.func`` or ``@wp.struct`` made inside a function may name the factory's locals in
its annotations only (``def k(q: wp.array[quat_type])`` with ``quat_type`` a parameter of the
factory): Python evaluates annotations once, when the ``def`` runs, so such names are in neither
the closure nor the globals, and a unit that copies the annotation text would not define them.
The evaluated annotations are still there (``__annotations__``); matching each annotation's
syntax against its value recovers what every name stood for: ``quat_type`` is the array type's
``dtype``, ``N`` in ``wp.types.vector(length=N, dtype=T)`` its length, ``T`` its scalar type.
Runs in the slicer child (``kernel_source``), after the user's file was imported.
"""

from __future__ import annotations

import ast
from typing import Any

from warp_synth.extract import warp_adapter as wa


def annotation_values(owner: Any, node: ast.FunctionDef | ast.ClassDef) -> dict[str, Any]:
    """``name -> value`` for the names in ``node``'s annotations (arguments and return of a
    function, fields of a class), read off ``owner.__annotations__``; a name whose value cannot
    be told from its annotation, or that a function's body uses as well, is left out."""
    try:
        evaluated = dict(getattr(owner, "__annotations__", None) or {})
    except Exception:  # an annotation that raises when evaluated lazily
        return {}
    pairs: list[tuple[ast.expr, Any]] = []
    if isinstance(node, ast.FunctionDef):
        a = node.args
        for arg in (*a.posonlyargs, *a.args, *a.kwonlyargs, a.vararg, a.kwarg):
            if arg is not None and arg.annotation is not None and arg.arg in evaluated:
                pairs.append((arg.annotation, evaluated[arg.arg]))
        if node.returns is not None and "return" in evaluated:
            pairs.append((node.returns, evaluated["return"]))
    else:
        for stmt in node.body:
            if isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name) and stmt.target.id in evaluated:
                pairs.append((stmt.annotation, evaluated[stmt.target.id]))
    out: dict[str, Any] = {}
    for expr, value in pairs:
        if not isinstance(value, str):  # a postponed annotation: Warp evaluates it, we cannot match it
            _match(expr, value, out)
    if isinstance(node, ast.FunctionDef):  # a name the body uses too is what the body sees
        for stmt in node.body:
            for sub in ast.walk(stmt):
                if isinstance(sub, ast.Name):
                    out.pop(sub.id, None)
    return out


def _positional(parts: dict[str, Any]) -> tuple[str, ...]:
    """Parameter names of the constructor positionally: ``vector(length, dtype)``,
    ``matrix(shape, dtype)``, ``quaternion(dtype)``; an array annotation takes keywords only."""
    if "ndim" in parts:
        return ()
    if "length" in parts:
        return ("length", "dtype")
    if "shape" in parts:
        return ("shape", "dtype")
    return ("dtype",)


def _match(node: ast.expr, value: Any, out: dict[str, Any]) -> None:
    if isinstance(node, ast.Name):
        out.setdefault(node.id, value)
        return
    if isinstance(node, ast.Tuple):
        if isinstance(value, tuple) and len(value) == len(node.elts):
            for sub, v in zip(node.elts, value, strict=True):
                _match(sub, v, out)
        return
    try:
        parts = wa.annotation_parts(value)
    except Exception:
        return
    if not parts:
        return
    if isinstance(node, ast.Subscript):  # wp.array[T], wp.array2d[T], wp.array[T, 2]
        elts = node.slice.elts if isinstance(node.slice, ast.Tuple) else [node.slice]
        for sub, key in zip(elts, ("dtype", "ndim"), strict=False):
            if key in parts:
                _match(sub, parts[key], out)
    elif isinstance(node, ast.Call):  # wp.array(dtype=T, ndim=N), wp.types.vector(length=N, dtype=T)
        for sub, key in zip(node.args, _positional(parts), strict=False):
            _match(sub, parts[key], out)
        for kw in node.keywords:
            if kw.arg in parts:
                _match(kw.value, parts[kw.arg], out)
