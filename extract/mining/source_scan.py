"""What a Warp file's syntax tree says, read without importing it (no Warp here).

* ``declared_kernels``: every ``@...kernel``-decorated ``def`` (so kernels that were never
  instantiated, or that sit in a file that does not import, are still accounted for);
* ``launch_block_dims`` and ``tile_block_dim``: the ``block_dim`` a tile kernel is launched
  with, when the program states it statically, so its unit keeps it as a module option.

Shared by the slicer child, ``kernel_source`` (the block_dim rule), the parent (kernels of a file
whose import failed) and the oracle (the same rule, so the same yardstick).
"""

from __future__ import annotations

import ast
import contextlib
import re
from typing import Any

# ``block_dim=`` values of a file's launches: per launched kernel name, and over all calls.
LaunchBlockDims = tuple[dict[str, set[int]], set[int]]

_LAUNCHERS = frozenset({"launch", "launch_tiled", "load_module", "force_load"})
_TILE_USE = re.compile(r"\b(?:wp|warp)\.(?:tile\w*|block_dim)\b")
DEFAULT_BLOCK_DIM = 256


def _is_kernel_decorator(d: ast.expr) -> bool:
    if isinstance(d, ast.Call):
        d = d.func
    return (isinstance(d, ast.Attribute) and d.attr == "kernel") or (
        isinstance(d, ast.Name) and d.id == "kernel"
    )


def declared_kernels(source: str) -> list[tuple[str, int]]:
    """``(qualname, first line)`` of every ``@...kernel``-decorated def in a file."""
    out: list[tuple[str, int]] = []

    def walk(body: list[ast.stmt], prefix: str) -> None:
        for node in body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                if any(_is_kernel_decorator(d) for d in node.decorator_list):
                    first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
                    out.append((prefix + node.name, first))
                walk(node.body, f"{prefix}{node.name}.<locals>.")
            elif isinstance(node, ast.ClassDef):
                walk(node.body, f"{prefix}{node.name}.")
            elif isinstance(node, (ast.If, ast.For, ast.While, ast.With, ast.Try)):
                for sub in ("body", "orelse", "finalbody"):
                    walk(getattr(node, sub, []) or [], prefix)
                for h in getattr(node, "handlers", []):
                    walk(h.body, prefix)

    with contextlib.suppress(SyntaxError):
        walk(ast.parse(source).body, "")
    return out


def _static_int(node: ast.expr, namespace: dict[str, Any]) -> int | None:
    """Value of an integer expression of literals and module globals; None if not static."""
    if isinstance(node, ast.Constant) and type(node.value) is int:
        return node.value
    if isinstance(node, ast.Name):
        v = namespace.get(node.id)
        return v if type(v) is int else None
    if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Mult, ast.Add, ast.Sub, ast.FloorDiv)):
        a, b = _static_int(node.left, namespace), _static_int(node.right, namespace)
        if a is None or b is None or (isinstance(node.op, ast.FloorDiv) and b == 0):
            return None
        ops = {ast.Mult: a * b, ast.Add: a + b, ast.Sub: a - b}
        return ops.get(type(node.op), a // b if b else 0)
    return None


def launch_block_dims(source: str, namespace: dict[str, Any]) -> LaunchBlockDims:
    """``block_dim=`` values of the file's ``wp.launch``/``wp.launch_tiled``/``wp.load_module``
    calls that are static: per launched kernel name, and over all calls."""
    per_kernel: dict[str, set[int]] = {}
    every: set[int] = set()
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return per_kernel, every
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        f = node.func
        fname = f.attr if isinstance(f, ast.Attribute) else f.id if isinstance(f, ast.Name) else ""
        if fname not in _LAUNCHERS:
            continue
        kw = {k.arg: k.value for k in node.keywords if k.arg}
        if "block_dim" not in kw:
            continue
        value = _static_int(kw["block_dim"], namespace)
        if value is None or value <= 0:
            continue
        every.add(value)
        target = node.args[0] if node.args else kw.get("kernel")
        if isinstance(target, ast.Name):
            per_kernel.setdefault(target.id, set()).add(value)
    return per_kernel, every


def tile_block_dim(
    kernel_name: str, unit_text: str, launches: LaunchBlockDims, module_options: dict[str, Any]
) -> int | None:
    """The ``block_dim`` a tile kernel is launched with, when the program says so statically and
    its Warp module does not set one: its own launches' single value, else the file's."""
    if "block_dim" in module_options or not _TILE_USE.search(unit_text):
        return None
    per_kernel, every = launches
    own = per_kernel.get(kernel_name, set())
    candidates = own if own else every
    if len(candidates) == 1:
        value = next(iter(candidates))
        return value if value != DEFAULT_BLOCK_DIM else None
    return None
