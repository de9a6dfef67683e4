"""Static safety screen for untrusted kernel source (LLM replies, mutants): an allow-list.

Nothing here imports Warp or executes the source.  A module is admitted only if every part of
it is on an allow-list, applied to exactly the text Python and Warp will read:

1. **text** (``screen_text``): plain printable ASCII, ``\\n`` or ``\\r\\n`` line ends, no coding
   declaration or editor modeline, at most 200,000 characters;
2. **module structure** (this file): only ``import warp as wp``, ``import math``, ``from typing
   import Any``, ``from warp import <builtin or type> [as name]``, a module docstring, constant and
   type-alias assignments ``NAME = <value | type>``, one restricted ``wp.set_module_options({...})``
   (keys ``enable_backward``/``block_dim``/``max_unroll``, literal values), ``@wp.struct`` classes of
   annotated fields, and functions decorated with exactly one of ``@wp.kernel``, ``@wp.func``,
   ``@wp.overload`` (an empty stub of a kernel above) or ``@wp.func_grad(<func>)``; decorator
   arguments are typed literals (``enable_backward=<bool>``, ``name=<identifier>``, ...);
3. **annotations, values and kernel code** (``screen_rules``, ``screen_body``): annotations are
   Warp type expressions (never strings, never names of anything but types), defaults and
   constants are numbers and Warp values, bodies use only resolvable names, ``wp.<name>`` from the
   allow-lists of ``screen_names`` (Warp's kernel builtins and types, never ``wp.static``), no
   attribute beginning with ``_``, strings and ``assert`` text that C++ reads as Python does.

A rejection is ``ScreenResult(False, Reason.UNSAFE, "line N: <what and why>", N)`` (``SYNTAX``
when the text does not parse or defines no kernel).
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass

from warp_synth.extract.screen_body import BodyChecker
from warp_synth.extract.screen_names import WP_IMPORTABLE
from warp_synth.extract.screen_rules import (
    TYPE_BUILTINS,
    Binding,
    Env,
    Unsafe,
    alias_detail,
    check_binding_name,
    check_type,
    check_value,
    dotted,
    is_refused_wp,
    is_tuple_value,
    kind_text,
    looks_like_type,
    refused_wp,
)
from warp_synth.extract.screen_text import TextProblem, check_text
from warp_synth.reasons import Reason

_IDENTIFIER = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,63}", re.ASCII)
_STRUCTURE_HINT = ("a kernel module holds only imports, constants, @wp.struct classes and @wp.func/@wp.kernel "
                   "definitions")

# Decorator keywords: name -> (kind of literal, description for the message).
_KERNEL_KEYWORDS = {"enable_backward": "bool", "name": "identifier", "launch_bounds": "launch_bounds"}
_FUNC_KEYWORDS = {"name": "identifier", "inline": "bool"}
# Module options that only change codegen (never compiler flags, which a batch shares): key -> (min, max)
# of an int literal, or None for a bool literal.
MODULE_OPTIONS = {"enable_backward": None, "block_dim": (1, 1024), "max_unroll": (0, 64)}


@dataclass(slots=True, frozen=True)
class ScreenResult:
    ok: bool
    reason: Reason | None = None  # UNSAFE or SYNTAX when not ok
    message: str = ""
    line: int | None = None


def _rejected(reason: Reason, message: str, line: int | None) -> ScreenResult:
    return ScreenResult(False, reason, f"line {line}: {message}" if line else message, line)


# ---------------------------------------------------------------------------- decorators


def _literal_ok(node: ast.AST, kind: str) -> bool:
    if not isinstance(node, ast.Constant | ast.Tuple):
        return False
    if kind == "bool":
        return isinstance(node, ast.Constant) and isinstance(node.value, bool)
    if kind == "identifier":
        return isinstance(node, ast.Constant) and isinstance(node.value, str) and \
            _IDENTIFIER.fullmatch(node.value) is not None
    items = node.elts if isinstance(node, ast.Tuple) else [node]  # launch_bounds: int or (int, int)
    return 1 <= len(items) <= 2 and all(isinstance(i, ast.Constant) and type(i.value) is int
                                        and 0 < i.value <= 4096 for i in items)


_KIND_TEXT = {"bool": "True or False", "identifier": "an identifier string such as \"my_kernel\"",
              "launch_bounds": "an int or a pair of ints"}


def _decorator(fn: ast.FunctionDef | ast.ClassDef) -> tuple[str, ast.expr]:
    """The one allowed decorator of a definition: its kind and node."""
    what = "class" if isinstance(fn, ast.ClassDef) else "function"
    kinds = []
    for dec in fn.decorator_list:
        parts = dotted(dec.func if isinstance(dec, ast.Call) else dec)
        kind = parts[1] if parts and len(parts) == 2 and parts[0] == "wp" else None
        if kind not in ("kernel", "func", "struct", "overload", "func_grad"):
            if kind is not None and is_refused_wp(kind):
                raise refused_wp(dec, f"@wp.{kind}", kind)
            raise Unsafe(dec, f"decorator '{ast.unparse(dec)[:60]}' is not allowed (only @wp.kernel, @wp.func, "
                              "@wp.struct, @wp.overload, @wp.func_grad(f))")
        kinds.append(kind)
    if not kinds:
        raise Unsafe(fn, f"class '{fn.name}' is not a @wp.struct" if what == "class" else
                     f"function '{fn.name}' has no @wp.kernel/@wp.func decorator")
    if len(kinds) > 1:
        raise Unsafe(fn.decorator_list[1], f"{what} '{fn.name}' must have exactly one decorator (@wp.kernel, "
                                           "@wp.func, @wp.struct, @wp.overload or @wp.func_grad(f))")
    kind, dec = kinds[0], fn.decorator_list[0]
    if (what == "class") != (kind == "struct"):
        raise Unsafe(dec, f"@wp.{kind} cannot decorate a {what}")
    if kind == "func_grad":
        if not isinstance(dec, ast.Call) or len(dec.args) != 1 or dec.keywords or \
                not isinstance(dec.args[0], ast.Name):
            raise Unsafe(dec, "@wp.func_grad takes exactly one argument: a @wp.func defined above")
        return kind, dec
    if isinstance(dec, ast.Call):
        allowed = {"kernel": _KERNEL_KEYWORDS, "func": _FUNC_KEYWORDS}.get(kind, {})
        if dec.args:
            raise Unsafe(dec, f"@wp.{kind}(...) takes keyword arguments only")
        for kw in dec.keywords:
            if kw.arg not in allowed:
                names = ", ".join(allowed) or "none"
                raise Unsafe(dec, f"@wp.{kind} argument '{kw.arg or '**'}' is not allowed (allowed: {names})")
            if not _literal_ok(kw.value, allowed[kw.arg]):
                raise Unsafe(dec, f"@wp.{kind}({kw.arg}=...) must be {_KIND_TEXT[allowed[kw.arg]]}")
    return kind, dec


# ---------------------------------------------------------------------------- definitions


class ModuleChecker:
    def __init__(self, source: str, tree: ast.Module) -> None:
        self.tree = tree
        self.lines = source.split("\n")
        self.env: Env = {}
        self.bodies: list[ast.FunctionDef] = []
        self.kernels = 0
        self.options_seen = False

    def bind(self, node: ast.AST, name: str, kind: str, detail: str = "", bits: int = 64) -> None:
        old = self.env.get(name)
        if old is not None and old.kind != kind:
            raise Unsafe(node, f"'{name}' is already defined as {kind_text(old.kind)} (line {old.line}) and cannot "
                               f"be redefined as {kind_text(kind)}")
        if old is not None and kind == "wp" and old.detail != detail:
            raise Unsafe(node, f"'{name}' is already imported from warp as {old.detail} (line {old.line})")
        if old is not None and kind == "type" and old.detail != detail:
            detail = ""  # a type alias rebound to another kind of type: no longer constructible at import
        if old is not None and kind == "const":
            detail = "tuple" if "tuple" in (old.detail, detail) else ""
            bits = max(bits, old.bits)
        self.env[name] = Binding(kind, getattr(node, "lineno", 0), detail, bits)

    def define(self, node: ast.AST, name: str, what: str) -> None:
        check_binding_name(node, name, what)
        if name in TYPE_BUILTINS:
            raise Unsafe(node, f"{what} '{name}' is not allowed: it shadows the Python builtin '{name}'")

    def run(self) -> None:
        for i, stmt in enumerate(self.tree.body):
            if i == 0 and isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant) \
                    and isinstance(stmt.value.value, str):
                continue  # the module docstring
            self.statement(stmt)
        for fn in self.bodies:
            BodyChecker(fn, self.env, self.lines).run()

    def statement(self, stmt: ast.stmt) -> None:
        if isinstance(stmt, ast.Import):
            for alias in stmt.names:
                if (alias.name, alias.asname) == ("warp", "wp"):
                    self.bind(stmt, "wp", "module")
                elif (alias.name, alias.asname) == ("math", None):
                    self.bind(stmt, "math", "module")
                else:
                    shown = alias.name + (f" as {alias.asname}" if alias.asname else "")
                    raise Unsafe(stmt, f"import of '{shown}' is not allowed (only 'import warp as wp' and "
                                       "'import math')")
        elif isinstance(stmt, ast.ImportFrom):
            self.import_from(stmt)
        elif isinstance(stmt, ast.FunctionDef):
            self.function(stmt)
        elif isinstance(stmt, ast.ClassDef):
            self.struct(stmt)
        elif isinstance(stmt, ast.Assign | ast.AnnAssign):
            self.constant(stmt)
        elif isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call) \
                and dotted(stmt.value.func) == ["wp", "set_module_options"]:
            self.module_options(stmt.value)
        else:
            name = "calls" if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call) else \
                f"{type(stmt).__name__} statements"
            raise Unsafe(stmt, f"top-level {name} are not allowed: {_STRUCTURE_HINT}")

    def import_from(self, stmt: ast.ImportFrom) -> None:
        for alias in stmt.names:
            if alias.name == "*":
                raise Unsafe(stmt, "star imports are not allowed")
            if stmt.level == 0 and stmt.module == "typing" and alias.name == "Any" and alias.asname is None:
                self.bind(stmt, "Any", "any")
            elif stmt.level == 0 and stmt.module == "warp" and alias.name in WP_IMPORTABLE:
                name = alias.asname or alias.name
                self.define(stmt, name, "imported name")
                self.bind(stmt, name, "wp", alias.name)
            else:
                shown = f"from {'.' * stmt.level}{stmt.module or ''} import {alias.name}"
                raise Unsafe(stmt, f"'{shown}' is not allowed (only 'from typing import Any' and 'from warp import "
                                   "<kernel builtin or type>')")

    def constant(self, stmt: ast.Assign | ast.AnnAssign) -> None:
        targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
        if len(targets) != 1 or not isinstance(targets[0], ast.Name):
            raise Unsafe(stmt, "only plain NAME = <constant> assignments are allowed at top level")
        name = targets[0].id
        self.define(stmt, name, "constant")
        if isinstance(stmt, ast.AnnAssign):
            check_type(stmt.annotation, self.env, "annotation")
        if stmt.value is None:
            raise Unsafe(stmt, "bare annotations are not allowed at top level")
        if looks_like_type(stmt.value, self.env):
            check_type(stmt.value, self.env, "type alias")
            self.bind(stmt, name, "type", alias_detail(stmt.value, self.env))
        else:
            bits = check_value(stmt.value, self.env, "module constant", calls=True)
            self.bind(stmt, name, "const", "tuple" if is_tuple_value(stmt.value, self.env) else "", bits)

    def module_options(self, call: ast.Call) -> None:
        if self.options_seen or len(call.args) != 1 or call.keywords or not isinstance(call.args[0], ast.Dict):
            raise Unsafe(call, "wp.set_module_options is allowed once, with one dict literal: "
                               "{'enable_backward': <bool>, 'block_dim': <int>, 'max_unroll': <int>}")
        self.options_seen = True
        d = call.args[0]
        for k, v in zip(d.keys, d.values, strict=True):
            key = k.value if isinstance(k, ast.Constant) else None
            if not isinstance(key, str) or key not in MODULE_OPTIONS:
                raise Unsafe(k or call, f"module option {_shown(k)} is not allowed (allowed: "
                                        f"{', '.join(MODULE_OPTIONS)}; they change codegen, not the compiler)")
            bounds = MODULE_OPTIONS[key]
            ok = isinstance(v, ast.Constant) and (
                isinstance(v.value, bool) if bounds is None
                else type(v.value) is int and bounds[0] <= v.value <= bounds[1])
            if not ok:
                want = "True or False" if bounds is None else f"an int literal from {bounds[0]} to {bounds[1]}"
                raise Unsafe(v, f"module option '{key}' must be {want}")

    def struct(self, cls: ast.ClassDef) -> None:
        _, dec = _decorator(cls)
        if isinstance(dec, ast.Call):
            raise Unsafe(dec, "@wp.struct takes no arguments")
        self.define(cls, cls.name, "struct")
        if cls.bases or cls.keywords:
            raise Unsafe(cls, "@wp.struct classes may not have bases or keywords")
        for i, stmt in enumerate(cls.body):
            if (i == 0 and isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant)
                    and isinstance(stmt.value.value, str)) or isinstance(stmt, ast.Pass):
                continue
            if not isinstance(stmt, ast.AnnAssign) or not isinstance(stmt.target, ast.Name):
                raise Unsafe(stmt, "@wp.struct bodies may only declare annotated fields (name: type)")
            if stmt.target.id.startswith("_"):
                raise Unsafe(stmt, f"struct field '{stmt.target.id}' is not allowed: field names may not begin "
                                   "with '_'")
            check_type(stmt.annotation, self.env, "field annotation")
            if stmt.value is not None:
                check_value(stmt.value, self.env, "field default", calls=False)
        self.bind(cls, cls.name, "struct")

    def function(self, fn: ast.FunctionDef) -> None:
        kind, dec = _decorator(fn)
        self.define(fn, fn.name, "function")
        args = fn.args
        if args.vararg or args.kwarg or args.kwonlyargs or args.posonlyargs:
            raise Unsafe(fn, f"function '{fn.name}' may only have plain parameters (no *args, **kwargs, "
                             "keyword-only or positional-only parameters)")
        for a in args.args:
            check_binding_name(a, a.arg, "parameter")
            if a.annotation is not None:
                check_type(a.annotation, self.env, "annotation")
        for d in args.defaults:
            check_value(d, self.env, "default value", calls=False)
        if fn.returns is not None:
            check_type(fn.returns, self.env, "return annotation", allow_none=True)
        if kind == "overload":
            self.overload_stub(fn)
            return
        if kind == "func_grad":
            target = dec.args[0].id  # type: ignore[attr-defined]
            b = self.env.get(target)
            if b is None or b.kind != "func":
                raise Unsafe(dec, f"@wp.func_grad({target}) must name a @wp.func defined above")
            kind = "func"
        if kind == "kernel":
            self.kernels += 1
        self.bind(fn, fn.name, kind)
        self.bodies.append(fn)

    def overload_stub(self, fn: ast.FunctionDef) -> None:
        b = self.env.get(fn.name)
        if b is None or b.kind != "kernel":
            raise Unsafe(fn, f"@wp.overload '{fn.name}' must follow a generic @wp.kernel of the same name")
        for stmt in fn.body:
            ok = isinstance(stmt, ast.Pass) or (isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant)
                                                and (stmt.value.value is Ellipsis or isinstance(stmt.value.value, str)))
            if not ok:
                raise Unsafe(stmt, "a @wp.overload stub's body may only be '...', 'pass' or a docstring")


def _shown(node: ast.AST | None) -> str:
    return repr(node.value) if isinstance(node, ast.Constant) else (ast.unparse(node)[:40] if node else "**")


def screen(source: str) -> ScreenResult:
    """Decide whether ``source`` may be loaded in a worker.  Never raises."""
    if not isinstance(source, str):
        return ScreenResult(False, Reason.SYNTAX, "the source is not text", None)
    try:
        check_text(source)
    except TextProblem as e:
        return _rejected(Reason.UNSAFE, e.message, e.line)
    try:
        tree = ast.parse(source)
    except SyntaxError as e:
        return _rejected(Reason.SYNTAX, f"SyntaxError: {e.msg}", e.lineno)
    except (ValueError, RecursionError, MemoryError) as e:
        return ScreenResult(False, Reason.SYNTAX, f"unparsable source: {e}", None)
    checker = ModuleChecker(source, tree)
    try:
        checker.run()
    except Unsafe as e:
        return _rejected(Reason.UNSAFE, e.message, e.line)
    except RecursionError:
        return ScreenResult(False, Reason.UNSAFE, "the source nests too deeply", None)
    except Exception as e:  # noqa: BLE001 - fail closed: a module the screen cannot judge is not admitted
        return ScreenResult(False, Reason.UNSAFE, f"the screen could not check this module ({type(e).__name__})", None)
    if checker.kernels == 0:
        return ScreenResult(False, Reason.SYNTAX, "no @wp.kernel defined", None)
    return ScreenResult(True)
