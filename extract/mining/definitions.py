"""One ``def``/``class`` of the user's code as text, with the names it uses (``parse_def``).

Runs in the slicer child; ``kernel_source`` decides what each name stands for.
"""

from __future__ import annotations

import ast
import inspect
import textwrap
import typing
from dataclasses import dataclass
from typing import Any

from warp_synth.reasons import Reason


class CannotSlice(Exception):
    """This kernel has no self-contained source; ``reason`` says why (a mining ``Reason``)."""

    def __init__(self, reason: Reason, message: str) -> None:
        super().__init__(f"{reason}: {message}")
        self.reason = reason
        self.message = message


@dataclass(slots=True)
class Def:
    """The text of one ``def``/``class`` with the decorators we keep, and the names it uses."""

    text: str
    names: list[str]
    node: ast.FunctionDef | ast.ClassDef


class _NameCollector(ast.NodeVisitor):
    """Free names of a def: loads not bound locally, including string annotations."""

    def __init__(self) -> None:
        self.names: dict[str, None] = {}

    def visit_Name(self, node: ast.Name) -> None:
        if isinstance(node.ctx, ast.Load):
            self.names.setdefault(node.id, None)

    def visit_Constant(self, node: ast.Constant) -> None:
        pass

    def annotation(self, node: ast.expr | None) -> None:
        if node is None:
            return
        if isinstance(node, ast.Constant) and isinstance(node.value, str):  # postponed annotation
            try:
                node = ast.parse(node.value, mode="eval").body
            except SyntaxError:
                return
        self.visit(node)


def _local_names(node: ast.FunctionDef) -> set[str]:
    a = node.args
    out = {x.arg for x in (*a.posonlyargs, *a.args, *a.kwonlyargs)}
    out |= {x.arg for x in (a.vararg, a.kwarg) if x is not None}
    for sub in ast.walk(node):
        if isinstance(sub, ast.Name) and isinstance(sub.ctx, (ast.Store, ast.Del)):
            out.add(sub.id)
        elif isinstance(sub, (ast.FunctionDef, ast.ClassDef)) and sub is not node:
            out.add(sub.name)
    return out


def parse_def(obj: Any, keep_decorator: typing.Callable[[ast.expr], str | None]) -> Def:
    """Source of a function or class, decorators filtered by ``keep_decorator`` (which returns
    the decorator text to emit, or None to drop it)."""
    try:
        src = textwrap.dedent(inspect.getsource(obj))
    except (OSError, TypeError) as e:
        raise CannotSlice(
            Reason.NO_SOURCE, f"source of {getattr(obj, '__qualname__', obj)!r} unavailable: {e}"
        ) from e
    tree = ast.parse(src)
    node = tree.body[0]
    if not isinstance(node, (ast.FunctionDef, ast.ClassDef)):
        raise CannotSlice(Reason.NO_SOURCE, f"{obj!r} is not defined by a def/class statement")
    lines = src.splitlines()
    body = "\n".join(lines[node.lineno - 1 : node.end_lineno])
    decorators = []
    coll = _NameCollector()
    for d in node.decorator_list:
        text = keep_decorator(d)
        if text is not None:
            decorators.append("@" + text)
            coll.visit(ast.parse(text, mode="eval"))
    if isinstance(node, ast.FunctionDef):
        a = node.args
        for arg in (*a.posonlyargs, *a.args, *a.kwonlyargs, a.vararg, a.kwarg):
            if arg is not None:
                coll.annotation(arg.annotation)
        for default in (*a.defaults, *a.kw_defaults):
            if default is not None:
                coll.visit(default)
        coll.annotation(node.returns)
        local = _local_names(node)
        inner = _NameCollector()
        for stmt in node.body:
            inner.visit(stmt)
        for n in inner.names:
            if n not in local:
                coll.names.setdefault(n, None)
    else:
        for stmt in node.body:
            if isinstance(stmt, ast.AnnAssign):
                coll.annotation(stmt.annotation)
                if stmt.value is not None:
                    coll.visit(stmt.value)
            else:
                coll.visit(stmt)
    return Def("\n".join([*decorators, body]), list(coll.names), node)
