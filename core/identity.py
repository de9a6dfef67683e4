"""Source normalisation shared by dedup, record ids and the diversity report.

* ``normalized_source``: comments, docstrings and layout dropped (``ast.unparse``), user
  identifiers renamed by order of first use (``v0, v1, ...``).  Renaming a variable, a helper
  or the kernel never makes a kernel new.
* ``skeleton``: ``normalized_source`` with constants abstracted as well (numbers -> ``N``,
  strings -> ``S``): two kernels with one skeleton differ only in names and literal values.
* ``record_id``: a stable hash of ``normalized_source``.

Pure standard library: no Warp import, usable from ``eval/``.
"""

from __future__ import annotations

import ast
import builtins
import hashlib
import io
import tokenize

# Names that are part of the language or of Warp, never user identifiers.
_RESERVED = frozenset(dir(builtins)) | frozenset({"wp", "warp", "math", "np"})


class _Renamer(ast.NodeTransformer):
    def __init__(self) -> None:
        self.names: dict[str, str] = {}

    def _rename(self, name: str) -> str:
        if name in _RESERVED:
            return name
        new = self.names.get(name)
        if new is None:
            new = f"v{len(self.names)}"
            self.names[name] = new
        return new

    def visit_Name(self, node: ast.Name) -> ast.AST:
        node.id = self._rename(node.id)
        return node

    def visit_arg(self, node: ast.arg) -> ast.AST:
        node.arg = self._rename(node.arg)
        self.generic_visit(node)
        return node

    def visit_FunctionDef(self, node: ast.FunctionDef) -> ast.AST:
        node.name = self._rename(node.name)
        _drop_docstring(node)
        self.generic_visit(node)
        return node

    def visit_ClassDef(self, node: ast.ClassDef) -> ast.AST:
        # struct field names are reached as attributes (``p.gain``), which are never renamed, so
        # the declarations keep their names too
        node.name = self._rename(node.name)
        _drop_docstring(node)
        for stmt in node.body:
            if isinstance(stmt, ast.AnnAssign):
                stmt.annotation = self.visit(stmt.annotation)
                if stmt.value is not None:
                    stmt.value = self.visit(stmt.value)
            else:
                self.visit(stmt)
        return node

    def visit_keyword(self, node: ast.keyword) -> ast.AST:
        # keyword names of user functions would be renamed at the def; Warp builtin keywords
        # (dtype=, shape=) must stay.  Rename only names already known as user identifiers.
        if node.arg is not None and node.arg in self.names:
            node.arg = self.names[node.arg]
        self.generic_visit(node)
        return node


def _drop_docstring(node: ast.FunctionDef | ast.ClassDef | ast.Module) -> None:
    body = node.body
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        if isinstance(body[0].value.value, str):
            node.body = body[1:] or [ast.Pass()]


class _ConstAbstractor(ast.NodeTransformer):
    def visit_Constant(self, node: ast.Constant) -> ast.AST:
        v = node.value
        if isinstance(v, bool) or v is None:
            return node
        if isinstance(v, (int, float, complex)):
            return ast.copy_location(ast.Name(id="N", ctx=ast.Load()), node)
        if isinstance(v, str):
            return ast.copy_location(ast.Name(id="S", ctx=ast.Load()), node)
        return node

    def visit_UnaryOp(self, node: ast.UnaryOp) -> ast.AST:
        # -1.0 and 1.0 are the same shape
        if isinstance(node.op, (ast.USub, ast.UAdd)) and isinstance(node.operand, ast.Constant):
            return self.visit_Constant(node.operand)
        self.generic_visit(node)
        return node


def _tree(source: str | ast.Module) -> ast.Module:
    tree = ast.parse(source) if isinstance(source, str) else source
    _drop_docstring(tree)
    return tree


def normalized_source(source: str) -> str:
    """Canonical text of ``source``; raises ``SyntaxError`` for text that is not Python."""
    tree = _Renamer().visit(_tree(source))
    return ast.unparse(tree)


def skeleton(source: str) -> str:
    tree = _ConstAbstractor().visit(_Renamer().visit(_tree(source)))
    return ast.unparse(tree)


def normalized_and_skeleton(source: str | ast.Module) -> tuple[str, str]:
    """``(normalized_source(source), skeleton(source))`` from a single parse.  ``source`` may be a
    tree from ``ast.parse`` (a reader that parsed already); it is rewritten in place."""
    tree = _Renamer().visit(_tree(source))
    normalized = ast.unparse(tree)
    return normalized, ast.unparse(_ConstAbstractor().visit(tree))


def record_id(source: str) -> str:
    """Stable 16-hex-digit id of a unit: the hash of its normalised source."""
    return hashlib.sha256(normalized_source(source).encode("utf-8")).hexdigest()[:16]


def code_tokens(source: str) -> list[str]:
    """Python tokens of ``source`` without comments, whitespace or layout tokens."""
    skip = {tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT,
            tokenize.ENDMARKER, tokenize.ENCODING}
    out: list[str] = []
    try:
        for tok in tokenize.generate_tokens(io.StringIO(source).readline):
            if tok.type not in skip:
                out.append(tok.string)
    except (tokenize.TokenError, IndentationError, SyntaxError):
        pass
    return out


def _parse_quietly(source: str) -> ast.Module | None:
    try:
        return ast.parse(source)
    except (SyntaxError, ValueError, RecursionError):
        return None


def _wp_attr(node: ast.AST) -> str | None:
    """``X`` for an ``wp.X`` / ``warp.X`` attribute node, else None."""
    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in ("wp", "warp"):
        return node.attr
    return None


def warp_attr_names(source: str) -> set[str]:
    """Names ``X`` referenced as ``wp.X`` (or ``warp.X``) in ``source``; empty if it does not parse."""
    tree = _parse_quietly(source)
    if tree is None:
        return set()
    return {name for node in ast.walk(tree) if (name := _wp_attr(node)) is not None}


def called_warp_names(source: str) -> set[str]:
    """Names ``X`` called as ``wp.X(...)`` inside function bodies (not in annotations or decorators)."""
    tree = _parse_quietly(source)
    if tree is None:
        return set()
    out: set[str] = set()
    for fn in ast.walk(tree):
        if isinstance(fn, ast.FunctionDef):
            for stmt in fn.body:
                for node in ast.walk(stmt):
                    if isinstance(node, ast.Call) and (name := _wp_attr(node.func)) is not None:
                        out.add(name)
    return out
