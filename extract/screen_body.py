"""Kernel-code rules of the static screen: the bodies of ``@wp.kernel`` and ``@wp.func`` functions.

Python never runs these bodies; Warp translates them.  What Warp itself evaluates or pastes
while translating is what this checker forbids or bounds (see ``screen_rules`` for the rules and
their reasons): ``wp.static`` and anything that could name it, calls of anything but named
functions, attributes beginning with ``_``, strings that C++ would read differently, and
``assert`` text Warp pastes into a C++ string unescaped.
"""

from __future__ import annotations

import ast

from warp_synth.extract.screen_names import (
    BARE_BUILTINS,
    MATH_CONSTANTS,
    MATH_FUNCS,
    WP_BODY,
    WP_ENUMS,
    WP_REFUSED,
    WP_TYPE_CONSTRUCTORS,
)
from warp_synth.extract.screen_rules import (
    Env,
    Unsafe,
    check_attr_name,
    check_binding_name,
    check_name,
    check_string,
    dotted,
    kind_text,
    refused_wp,
    short,
)

_STATEMENT_HINTS = {
    "FunctionDef": "nested function definitions are not allowed",
    "AsyncFunctionDef": "nested function definitions are not allowed",
    "ClassDef": "class definitions inside functions are not allowed",
    "Import": "imports inside functions are not allowed",
    "ImportFrom": "imports inside functions are not allowed",
    "Global": "'global' statements are not allowed",
    "Nonlocal": "'nonlocal' statements are not allowed",
    "AnnAssign": "annotated assignments are not supported in kernels (write x = wp.float32(0.0))",
}
_EXPRESSION_HINTS = {
    "Lambda": "lambda expressions are not allowed",
    "JoinedStr": "f-strings are not allowed in kernel code",
    "FormattedValue": "f-strings are not allowed in kernel code",
    "ListComp": "comprehensions are not allowed in kernel code",
    "SetComp": "comprehensions are not allowed in kernel code",
    "DictComp": "comprehensions are not allowed in kernel code",
    "GeneratorExp": "generator expressions are not allowed in kernel code",
    "NamedExpr": "assignment expressions (:=) are not allowed in kernel code",
}
_ASSERT_BAD = ('"', "\\", "??")


class BodyChecker:
    """Checks one function's body against the module's bindings ``env``."""

    def __init__(self, fn: ast.FunctionDef, env: Env, source_lines: list[str]) -> None:
        self.fn = fn
        self.env = env
        self.lines = source_lines
        args = fn.args
        # Parameters are Warp symbols from the start (also when Warp resolves wp.static at decoration),
        # so they may be called (a wp.Function parameter) and never fall back to getattr(warp, name).
        self.params = {a.arg for a in (*args.posonlyargs, *args.args, *args.kwonlyargs)}
        self.locals: set[str] = set(self.params)
        for node in ast.walk(fn):
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                check_binding_name(node, node.id, "local variable")
                self.locals.add(node.id)

    def run(self) -> None:
        self.block(self.fn.body, top=True)

    # ------------------------------------------------------------------ statements
    def block(self, body: list[ast.stmt], top: bool = False) -> None:
        for s in body:
            self.stmt(s, top)

    def stmt(self, s: ast.stmt, top: bool) -> None:
        if isinstance(s, ast.Expr):
            if top and isinstance(s.value, ast.Constant):
                return  # docstrings and bare constants directly in the body: Warp skips them
            self.expr(s.value)
        elif isinstance(s, ast.Assign):
            for t in s.targets:
                self.target(t)
            self.expr(s.value)
        elif isinstance(s, ast.AugAssign):
            self.target(s.target)
            self.expr(s.value)
        elif isinstance(s, ast.If | ast.While):
            self.expr(s.test)
            self.block(s.body)
            self.block(s.orelse)
        elif isinstance(s, ast.For):
            self.target(s.target)
            self.expr(s.iter)
            self.block(s.body)
            self.block(s.orelse)
        elif isinstance(s, ast.Return):
            if s.value is not None:
                self.expr(s.value)
        elif isinstance(s, ast.Break | ast.Continue | ast.Pass):
            return
        elif isinstance(s, ast.Assert):
            self.check_assert(s)
        else:
            name = type(s).__name__
            hint = _STATEMENT_HINTS.get(name, f"'{name}' statements are not allowed in kernel code")
            raise Unsafe(s, hint)

    def target(self, t: ast.expr) -> None:
        if isinstance(t, ast.Name):
            return  # checked (check_binding_name) when the locals were collected
        if isinstance(t, ast.Tuple | ast.List):
            for e in t.elts:
                self.target(e)
        elif isinstance(t, ast.Starred):
            self.target(t.value)
        elif isinstance(t, ast.Subscript | ast.Attribute):
            self.expr(t)
        else:
            raise Unsafe(t, f"cannot assign to {type(t).__name__} expressions in kernel code")

    def check_assert(self, s: ast.Assert) -> None:
        if s.end_lineno != s.lineno:
            raise Unsafe(s, "an assert statement must fit on one line: Warp pastes its source text into a C++ "
                            "string")
        text = self.lines[s.lineno - 1][s.col_offset:s.end_col_offset]
        for bad in _ASSERT_BAD:
            if bad in text:
                raise Unsafe(s, f"assert text may not contain {bad!r}: Warp pastes it into a C++ string unescaped "
                                "(use single quotes for an assert message)")
        self.expr(s.test)
        if s.msg is not None and not (isinstance(s.msg, ast.Constant) and isinstance(s.msg.value, str)):
            raise Unsafe(s.msg, "an assert message must be a string literal")

    # ------------------------------------------------------------------ expressions
    def expr(self, node: ast.expr) -> None:
        if isinstance(node, ast.Constant):
            if isinstance(node.value, str | bytes):
                check_string(node)
        elif isinstance(node, ast.Name):
            self.name(node)
        elif isinstance(node, ast.Attribute):
            self.attribute(node)
        elif isinstance(node, ast.Call):
            self.call(node)
        elif isinstance(node, ast.BinOp):
            self.expr(node.left)
            self.expr(node.right)
        elif isinstance(node, ast.UnaryOp):
            self.expr(node.operand)
        elif isinstance(node, ast.BoolOp):
            for v in node.values:
                self.expr(v)
        elif isinstance(node, ast.Compare):
            self.expr(node.left)
            for c in node.comparators:
                self.expr(c)
        elif isinstance(node, ast.IfExp):
            self.expr(node.test)
            self.expr(node.body)
            self.expr(node.orelse)
        elif isinstance(node, ast.Subscript):
            if dotted(node.value) == ["wp", "adjoint"]:
                pass  # wp.adjoint[x]: the adjoint of x in a custom gradient function
            else:
                self.expr(node.value)
            self.expr(node.slice)
        elif isinstance(node, ast.Slice):
            for part in (node.lower, node.upper, node.step):
                if part is not None:
                    self.expr(part)
        elif isinstance(node, ast.Tuple):
            for e in node.elts:
                self.expr(e)
        else:
            name = type(node).__name__
            hint = _EXPRESSION_HINTS.get(name, f"{name} expressions are not allowed in kernel code")
            raise Unsafe(node, hint)

    def _undefined(self, node: ast.AST, name: str) -> Unsafe:
        if name in WP_REFUSED:
            return Unsafe(node, f"bare '{name}' is not allowed in LLM kernels: Warp resolves it as wp.{name}, and "
                                f"{WP_REFUSED[name]}")
        if name in WP_BODY:
            return Unsafe(node, f"name '{name}' is not defined: write wp.{name}")
        return Unsafe(node, f"name '{name}' is not defined (use a parameter, a local variable, a definition of this "
                            "module, or wp.<builtin>)")

    def name(self, node: ast.Name) -> None:
        n = node.id
        check_name(node, n)
        if n in self.locals:
            return
        b = self.env.get(n)
        if b is None:
            if n in BARE_BUILTINS:
                return
            raise self._undefined(node, n)
        if b.kind == "module":
            raise Unsafe(node, f"the module '{n}' can only be used as {n}.<name> (modules are never aliased)")
        if b.kind == "any":
            raise Unsafe(node, "'Any' may only be used in annotations")

    def attribute(self, node: ast.Attribute) -> None:
        parts = dotted(node)
        if parts is None:
            check_attr_name(node)
            self.expr(node.value)
            return
        inner: ast.expr = node
        while isinstance(inner, ast.Attribute):
            check_attr_name(inner)
            inner = inner.value
        self.path(node, parts)

    def path(self, node: ast.AST, parts: list[str]) -> None:
        root = parts[0]
        check_name(node, root)
        if root in self.locals:
            return
        b = self.env.get(root)
        if b is None:
            if root in BARE_BUILTINS:
                raise Unsafe(node, f"attributes of the builtin '{root}' are not allowed")
            raise self._undefined(node, root)
        if b.kind == "module":
            if root == "wp":
                self.wp_path(node, parts)
            elif not (len(parts) == 2 and parts[1] in MATH_FUNCS | MATH_CONSTANTS):
                raise Unsafe(node, f"{'.'.join(parts)} is not allowed in LLM kernels: only math functions Warp maps "
                                   "to its builtins (math.sin, ...) and math.pi/e/tau/inf/nan")
        elif b.kind in ("func", "kernel", "struct", "any"):
            raise Unsafe(node, f"attributes of '{root}' are not allowed in kernel code (it is {kind_text(b.kind)} of this "
                               "module)")

    def wp_path(self, node: ast.AST, parts: list[str]) -> None:
        path = ".".join(parts)
        if len(parts) == 2:
            if parts[1] in WP_BODY:
                return
            raise refused_wp(node, path, parts[1])
        if len(parts) == 3 and parts[1] == "types" and parts[2] in WP_TYPE_CONSTRUCTORS:
            return
        if len(parts) == 3 and parts[2] in WP_ENUMS.get(parts[1], ()):
            return
        if parts[1] not in WP_BODY:
            raise refused_wp(node, "wp." + parts[1], parts[1])
        raise Unsafe(node, f"{path} is not allowed in LLM kernels: only wp.<name> (and wp.types.vector/matrix/"
                           "quaternion/transformation, wp.Volume.LINEAR-style constants)")

    def call(self, node: ast.Call) -> None:
        f = node.func
        if isinstance(f, ast.Name):
            n = f.id
            check_name(f, n)
            if n in self.params:
                pass  # a wp.Function parameter
            elif n in self.locals:
                raise Unsafe(node, f"'{n}' is a local variable and cannot be called: only Warp builtins, this "
                                   "module's functions and structs, and wp.Function parameters can be called")
            elif (b := self.env.get(n)) is None:
                if n not in BARE_BUILTINS:
                    raise self._undefined(node, n)
            elif b.kind in ("kernel", "const", "module", "any"):
                raise Unsafe(node, f"'{n}' cannot be called (it is {kind_text(b.kind)} of this module)")
        elif isinstance(f, ast.Attribute):
            parts = dotted(f)
            b = self.env.get(parts[0]) if parts else None
            if parts is not None and parts[0] in self.params and len(parts) > 1 and set(parts[1:]) == {"dtype"}:
                pass  # a.dtype(x), a.dtype.dtype(x): a value of a parameter's element type (generic code)
            elif parts is not None and parts[0] not in self.locals and b is None:
                raise self._undefined(f, parts[0])
            elif parts is None or parts[0] in self.locals or b is None or b.kind != "module":
                raise Unsafe(node, f"call of {short(f)} is not allowed: method calls are not supported; call "
                                   "wp.<builtin>(...), math.<function>(...) or a function of this module")
            self.attribute(f)
            if parts[0] == "math" and parts[1] in MATH_CONSTANTS:
                raise Unsafe(node, f"{'.'.join(parts)} is a constant and cannot be called")
        elif isinstance(f, ast.Call) and isinstance(f.func, ast.Name) and f.func.id == "type" \
                and "type" not in self.locals and len(f.args) == 1 and not f.keywords:
            self.expr(f.args[0])  # type(x)(...): Warp's type() operator, a value of x's type (generic code)
        elif isinstance(f, ast.Call) and dotted(f.func) == ["wp", "grad"]:
            target = f.args[0] if len(f.args) == 1 and not f.keywords else None
            b = self.env.get(target.id) if isinstance(target, ast.Name) else None
            if b is None or b.kind != "func" or target.id in self.locals:  # type: ignore[union-attr]
                raise Unsafe(f, "wp.grad(...) takes exactly one @wp.func of this module")
        else:
            raise Unsafe(node, f"call of {short(f)} is not allowed: only named functions can be called")
        for a in node.args:
            self.expr(a.value if isinstance(a, ast.Starred) else a)
        for kw in node.keywords:
            if kw.arg is None:
                raise Unsafe(node, "**kwargs are not allowed in kernel code")
            self.expr(kw.value)
