"""Cut one kernel out of an imported Warp program as a self-contained module source.

Runs inside the slicer child process (``warp_synth.extract.mining.child``), after the user's
file has been imported normally.  For a ``warp.Kernel`` object it emits, in dependency order:

* ``import warp as wp`` and any other import the code needs (``math``, ``numpy``, names taken
  from ``warp``/``typing`` such as ``from warp import vec3``, other aliases of ``warp``);
* ``wp.set_module_options({...})`` for codegen options the kernel's Warp module changed;
* every ``@wp.struct``, ``@wp.func`` (all overloads, custom grad/replay functions) and global
  value the kernel uses, transitively, resolved exactly as Warp resolves them (closure
  variables first, then the defining module's globals), constants written as their *values*
  (``N = 512``, ``C = wp.constant(wp.vec3f(1.0, 2.0, 3.0))``);
* the kernel (its ``@wp.kernel`` options kept, ``module=`` dropped) and, for one overload of a
  generic kernel, a ``@wp.overload`` stub with that overload's concrete argument types.

Anything that cannot be reproduced (a Python object, a module used by attribute, two things
with one name) raises ``CannotSlice`` with a ``Reason`` and a message.
"""

from __future__ import annotations

import ast
import builtins
import inspect
import sys
import textwrap
import types
import typing
from dataclasses import dataclass, field
from typing import Any

import warp as wp

from warp_synth.extract import warp_adapter as wa
from warp_synth.extract.mining.source_scan import LaunchBlockDims, tile_block_dim
from warp_synth.reasons import Reason

# Modules a self-contained unit may import besides warp (Warp resolves ``math.pi``/``np.pi``).
ALLOWED_MODULES = {"math": "math", "numpy": "numpy"}


class CannotSlice(Exception):
    """This kernel has no self-contained source; ``reason`` says why (a mining ``Reason``)."""

    def __init__(self, reason: Reason, message: str) -> None:
        super().__init__(f"{reason}: {message}")
        self.reason = reason
        self.message = message


@dataclass(slots=True)
class _Def:
    """The text of one ``def``/``class`` with the decorators we keep, and the names it uses."""

    text: str
    names: list[str]
    node: ast.FunctionDef | ast.ClassDef


def resolve(func_or_cls: Any, name: str) -> tuple[str | None, Any]:
    """How Warp resolves ``name`` for code in ``func_or_cls``: closure, globals, builtins.

    Returns ``(where, value)`` with ``where`` one of "closure", "global", "builtin", None."""
    fn = func_or_cls
    if isinstance(fn, types.FunctionType):
        if fn.__closure__ is not None:
            for var, cell in zip(fn.__code__.co_freevars, fn.__closure__, strict=True):
                if var == name:
                    try:
                        return "closure", cell.cell_contents
                    except ValueError:
                        return None, None
        g = fn.__globals__
    else:
        g = vars(sys.modules[fn.__module__]) if fn.__module__ in sys.modules else {}
    if name in g:
        return "global", g[name]
    if hasattr(builtins, name):
        return "builtin", getattr(builtins, name)
    return None, None


def _resolve_expr(owner: Any, node: ast.expr) -> Any:
    """Value of a ``Name``/``Attribute`` chain (a decorator's callee); None if unknown."""
    if isinstance(node, ast.Call):
        node = node.func
    path: list[str] = []
    while isinstance(node, ast.Attribute):
        path.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    where, obj = resolve(owner, node.id)
    if where is None:
        return None
    for attr in reversed(path):
        obj = getattr(obj, attr, None)
    return obj


def _is_warp_object(obj: Any) -> bool:
    mod = getattr(obj, "__module__", "") or ""
    return mod == "warp" or mod.startswith("warp.")


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


def parse_def(obj: Any, keep_decorator: typing.Callable[[ast.expr], str | None]) -> _Def:
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
    return _Def("\n".join([*decorators, body]), list(coll.names), node)


@dataclass(slots=True)
class UnitSource:
    source: str
    module_options: dict[str, Any]


@dataclass(slots=True)
class _Slicer:
    kernel: Any
    imports: dict[str, None] = field(default_factory=dict)
    blocks: list[str] = field(default_factory=list)
    bound: dict[str, tuple[str, str]] = field(default_factory=dict)  # name -> (identity, what)
    done: set[int] = field(default_factory=set)
    visiting: set[int] = field(default_factory=set)
    wrapped_constants: dict[str, set[str]] = field(default_factory=dict)  # file -> wp.constant names
    launches: LaunchBlockDims | None = None

    # ------------------------------------------------------------------ names
    def bind(self, name: str, identity: str, what: str) -> bool:
        """Reserve ``name``; False if already bound to the same thing; raises on a clash."""
        prev = self.bound.get(name)
        if prev is None:
            self.bound[name] = (identity, what)
            return True
        if prev[0] == identity:
            return False
        raise CannotSlice(Reason.NAME_CLASH, f"'{name}' names both {prev[1]} and {what}")

    def require(self, owner: Any, name: str) -> None:
        where, obj = resolve(owner, name)
        if where is None or where == "builtin":
            return  # an undefined name fails in the original module as well; Warp reports it
        self.require_object(owner, name, obj)

    def require_object(self, owner: Any, name: str, obj: Any) -> None:
        if isinstance(obj, types.ModuleType):
            self.require_module(name, obj)
        elif wa.is_kernel(obj):
            raise CannotSlice(Reason.KERNEL_REFERENCE, f"uses kernel '{name}' as a value")
        elif wa.is_user_function(obj):
            real = self.emit_function(obj)
            if real != name and self.bind(name, f"fn:{id(obj)}", f"@wp.func {real}"):
                self.blocks.append(f"{name} = {real}")
        elif wa.is_struct(obj):
            real = self.emit_struct(obj)
            if real != name and self.bind(name, f"struct:{id(obj)}", f"@wp.struct {real}"):
                self.blocks.append(f"{name} = {real}")
        elif wa.is_value(obj):
            self.emit_constant(owner, name, obj)
        elif _is_literal(obj):
            if self.bind(name, f"lit:{obj!r}", f"the constant {obj!r}"):
                self.blocks.append(f"{name} = {obj!r}")
        elif _numpy_scalar(obj) is not None:
            text = _numpy_scalar(obj)
            if self.bind(name, f"lit:{text}", f"the constant {text}"):
                self.imports["import numpy as np"] = None
                self.blocks.append(f"{name} = {text}")
        else:
            line = _import_line(name, obj)
            if line is not None:
                if self.bind(name, f"import:{line}", line):
                    self.imports[line] = None
                return
            if isinstance(obj, type):
                try:
                    text = wa.type_source(obj, self.emit_struct)
                except wa.UnsupportedType:
                    text = None
                if text is not None:
                    if self.bind(name, f"type:{text}", f"the type {text}"):
                        self.blocks.append(f"{name} = {text}")
                    return
            kind = type(obj).__name__
            what = getattr(obj, "__qualname__", None) or repr(obj)[:60]
            raise CannotSlice(
                Reason.PYTHON_OBJECT,
                f"uses '{name}', a Python {kind} ({what}) that is not a Warp function, struct or constant",
            )

    def require_module(self, name: str, mod: types.ModuleType) -> None:
        mname = mod.__name__
        if mname == "warp" or mname.startswith("warp."):
            line = (
                f"import {mname}"
                if name == mname.split(".")[0] and mname == "warp"
                else f"import {mname} as {name}"
            )
            if name == "wp" and mname == "warp":
                return
        elif mname in ALLOWED_MODULES:
            line = f"import {mname}" if name == mname else f"import {mname} as {name}"
        else:
            raise CannotSlice(
                Reason.MODULE_REFERENCE,
                f"uses module '{name}' ({mname}) by attribute; a self-contained unit imports only "
                "warp, math and numpy",
            )
        if self.bind(name, f"module:{mname}", f"module {mname}"):
            self.imports[line] = None

    # ------------------------------------------------------------------ definitions
    def keep_warp_decorator(self, owner: Any) -> typing.Callable[[ast.expr], str | None]:
        def keep(d: ast.expr) -> str | None:
            return ast.unparse(d) if _is_warp_object(_resolve_expr(owner, d)) else None

        return keep

    def emit_function(self, fn: Any) -> str:
        key = id(fn)
        defs = wa.function_definitions(fn)
        if not defs:
            raise CannotSlice(Reason.NO_SOURCE, f"@wp.func {fn.key} has no Python definition")
        real = defs[0].__name__
        if key in self.done or key in self.visiting:
            return real
        self.bind(real, f"fn:{key}", f"@wp.func {real}")
        self.visiting.add(key)
        texts = []
        for pyfunc in defs:
            d = parse_def(pyfunc, self.keep_warp_decorator(pyfunc))
            for n in d.names:
                if n != real:
                    self.require(pyfunc, n)
            texts.append(d.text)
        self.visiting.discard(key)
        self.done.add(key)
        self.blocks.append("\n\n\n".join(texts))
        for custom in wa.function_custom_definitions(fn):
            d = parse_def(custom, self.keep_warp_decorator(custom))
            for n in d.names:
                if n != real:
                    self.require(custom, n)
            self.bind(custom.__name__, f"custom:{id(custom)}", f"custom function {custom.__name__}")
            self.blocks.append(d.text)
        return real

    def emit_struct(self, st: Any) -> str:
        cls = wa.struct_class(st)
        key = id(st)
        name = cls.__name__
        if key in self.done or key in self.visiting:
            return name
        self.bind(name, f"struct:{key}", f"@wp.struct {name}")
        self.visiting.add(key)
        d = parse_def(cls, self.keep_warp_decorator(cls))
        for n in d.names:
            if n != name:
                self.require(cls, n)
        self.visiting.discard(key)
        self.done.add(key)
        self.blocks.append(d.text)
        return name

    def emit_constant(self, owner: Any, name: str, value: Any) -> None:
        text = wa.value_source(value)
        if name in self._wp_constant_names(owner):
            text = f"wp.constant({text})"
        if self.bind(name, f"value:{text}", f"the constant {text}"):
            self.blocks.append(f"{name} = {text}")

    def _wp_constant_names(self, owner: Any) -> set[str]:
        """Globals of the owner's file assigned as ``NAME = <...>.constant(...)``."""
        code = getattr(owner, "__code__", None)
        filename = code.co_filename if code is not None else inspect.getfile(owner)
        cached = self.wrapped_constants.get(filename)
        if cached is None:
            cached = set()
            try:
                with open(filename, encoding="utf-8") as f:
                    tree = ast.parse(f.read())
            except (OSError, SyntaxError, ValueError):
                tree = ast.Module(body=[], type_ignores=[])
            for stmt in ast.walk(tree):
                if isinstance(stmt, ast.Assign) and isinstance(stmt.value, ast.Call):
                    f_ = stmt.value.func
                    if (isinstance(f_, ast.Attribute) and f_.attr == "constant") or (
                        isinstance(f_, ast.Name) and f_.id == "constant"
                    ):
                        cached |= {t.id for t in stmt.targets if isinstance(t, ast.Name)}
            self.wrapped_constants[filename] = cached
        return cached

    # ------------------------------------------------------------------ the kernel
    def kernel_decorator(self, func: Any) -> typing.Callable[[ast.expr], str | None]:
        def keep(d: ast.expr) -> str | None:
            if _resolve_expr(func, d) is not wp.kernel:
                return None
            if not isinstance(d, ast.Call):
                return ast.unparse(d)
            kws = [k for k in d.keywords if k.arg not in ("module", "module_options")]
            if not kws and not d.args:
                return ast.unparse(d.func)
            call = ast.Call(func=d.func, args=d.args, keywords=kws)
            return ast.unparse(call)

        return keep

    def build(self, overload: list[tuple[str, Any]] | None) -> UnitSource:
        k = self.kernel
        func = k.func
        d = parse_def(func, self.kernel_decorator(func))
        if not any(line.lstrip().startswith("@") for line in d.text.splitlines()[:1]):
            d.text = "@wp.kernel\n" + d.text
        name = func.__name__
        self.bind(name, f"kernel:{id(k)}", f"kernel {name}")
        for n in d.names:
            if n != name:
                self.require(func, n)
        stub = None
        if overload is not None:
            params = []
            for arg, t in overload:
                try:
                    params.append(f"{arg}: {wa.type_source(t, self.emit_struct)}")
                except wa.UnsupportedType as e:
                    raise CannotSlice(Reason.UNSUPPORTED_TYPE, f"overload argument '{arg}' has type {e}") from e
            stub = f"@wp.overload\ndef {name}({', '.join(params)}): ...\n"
        options = wa.kernel_module_option_changes(k)
        if self.launches is not None:
            bd = tile_block_dim(name, "\n".join([*self.blocks, d.text]), self.launches, options)
            if bd is not None:
                options["block_dim"] = bd
        head = ["import warp as wp", *[i for i in self.imports if i != "import warp as wp"]]
        parts = ["\n".join(head) + "\n"]
        if options:
            parts.append(f"wp.set_module_options({options!r})\n")
        parts.append(_join_blocks([*self.blocks, d.text]))
        if stub:
            parts.append(stub)
        return UnitSource("\n\n".join(parts), options)


def _join_blocks(blocks: list[str]) -> str:
    """Definitions two blank lines apart; runs of one-line assignments kept together."""
    out = ""
    prev_short = False
    for b in blocks:
        b = b.strip("\n")
        short = "\n" not in b
        if out:
            out += "\n" if short and prev_short else "\n\n\n"
        out += b
        prev_short = short
    return out + "\n"


def slice_kernel(
    kernel: Any,
    overload: list[tuple[str, Any]] | None = None,
    launches: LaunchBlockDims | None = None,
) -> UnitSource:
    """Self-contained module source for ``kernel`` (one overload of it if generic).

    ``launches`` (from ``source_scan.launch_block_dims``) lets a tile kernel keep the
    ``block_dim`` its program launches it with, as a module option of the unit."""
    return _Slicer(kernel, launches=launches).build(overload)


def _is_literal(obj: Any) -> bool:
    if obj is None or type(obj) in (str, bytes, int, float, bool):
        return True
    if type(obj) is tuple:
        return all(_is_literal(x) for x in obj)
    return False


def _numpy_scalar(obj: Any) -> str | None:
    np = sys.modules.get("numpy")
    if np is None or not isinstance(obj, np.generic) or type(obj).__module__ != "numpy":
        return None
    if isinstance(obj, (np.integer, np.bool_)):
        return f"np.{type(obj).__name__}({obj.item()!r})"
    if isinstance(obj, np.floating):
        return f"np.{type(obj).__name__}({float(obj)!r})"
    return None


_WARP_NAMES: dict[int, str] = {}


def _import_line(name: str, obj: Any) -> str | None:
    """An import that binds ``name`` to ``obj`` (a public Warp or typing name), or None."""
    for mod, modname in ((typing, "typing"), (wp, "warp"), (wp.types, "warp.types")):
        if getattr(mod, name, None) is obj:
            return f"from {modname} import {name}"
    if not _WARP_NAMES:
        for attr in dir(wp):
            if not attr.startswith("_"):
                _WARP_NAMES.setdefault(id(getattr(wp, attr)), attr)
    attr = _WARP_NAMES.get(id(obj))
    if attr is not None and getattr(wp, attr, None) is obj:
        return f"from warp import {attr} as {name}"
    return None
