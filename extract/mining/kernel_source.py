"""Cut one kernel out of an imported Warp program as a self-contained module source.

Runs inside the slicer child process (``warp_synth.extract.mining.child``), after the user's
file has been imported normally.  For a ``warp.Kernel`` object it emits, in dependency order:

* ``import warp as wp`` and any other import the code needs (``math``, ``numpy``, names taken
  from ``warp``/``typing`` such as ``from warp import vec3``, other aliases of ``warp``);
* ``wp.set_module_options({...})`` for codegen options the kernel's Warp module changed;
* every ``@wp.struct``, ``@wp.func`` (all overloads, custom grad/replay functions) and global
  value the kernel uses, transitively, resolved exactly as Warp resolves them (closure
  variables first, then the defining module's globals), constants written as their *values*
  (``N = 512``, ``C = wp.constant(wp.vec3f(1.0, 2.0, 3.0))``); names a kernel factory's
  definitions use in their annotations only (the factory's parameters: neither closure nor
  global) are read off the evaluated annotations (``annotations``); types Warp names only as
  objects are written as their constructors (``wp.types.matrix(shape=(3, 3), dtype=wp.uint32)``);
* the kernel (its ``@wp.kernel`` options kept, ``module=`` dropped; written from the kernel's
  options when it has no decorator, ``wp.Kernel(func, options=...)``, or one naming a factory's
  parameter) and, for one overload of a generic kernel, a ``@wp.overload`` stub with that
  overload's concrete argument types.

Anything that cannot be reproduced (a Python object, a module used by attribute, two things
with one name) raises ``CannotSlice`` with a ``Reason`` and a message.
"""

from __future__ import annotations

import ast
import builtins
import collections
import inspect
import re
import sys
import types
import typing
from dataclasses import dataclass, field
from typing import Any

import warp as wp

from warp_synth.extract import warp_adapter as wa
from warp_synth.extract.mining.annotations import annotation_values
from warp_synth.extract.mining.definitions import CannotSlice, Def, parse_def
from warp_synth.extract.mining.source_scan import LaunchBlockDims, tile_block_dim
from warp_synth.extract.mining.spelling import import_line, is_literal, numpy_scalar
from warp_synth.reasons import Reason

_CLASS_NAMES: dict[str, collections.Counter[str]] = {}  # file -> class statements per qualified name
# Builtins that Warp itself reads as its scalar types in annotations (``float`` is ``wp.float32``).
_WARP_SCALARS = frozenset({"int", "float", "bool"})
# Modules a self-contained unit may import besides warp (Warp resolves ``math.pi``/``np.pi``).
ALLOWED_MODULES = {"math": "math", "numpy": "numpy"}


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
    emitted: dict[int, str] = field(default_factory=dict)  # id of a function/struct -> its name in the unit
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

    def require(self, owner: Any, name: str, hints: dict[str, Any] | None = None) -> None:
        """Emit what ``name`` stands for in ``owner``; ``hints`` (``annotation_values``) tell
        names that only its annotations use (a factory's locals: not in the closure, and a global
        or builtin of that name, ``dtype`` or ``type``, is not what the annotation saw)."""
        where, obj = resolve(owner, name)
        if where != "closure" and hints is not None and name in hints and name not in _WARP_SCALARS:
            where, obj = "annotation", hints[name]
        if where is None or where == "builtin":
            return  # an undefined name fails in the original module as well; Warp reports it
        self.require_object(owner, name, obj)

    def require_names(self, owner: Any, d: Def, skip: str) -> None:
        """``require`` every name definition ``d`` of ``owner`` uses, but its own (``skip``)."""
        hints = annotation_values(owner, d.node)
        for n in d.names:
            if n != skip:
                self.require(owner, n, hints)

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
        elif is_literal(obj):
            if self.bind(name, f"lit:{obj!r}", f"the constant {obj!r}"):
                self.blocks.append(f"{name} = {obj!r}")
        elif numpy_scalar(obj) is not None:
            text = numpy_scalar(obj)
            if self.bind(name, f"lit:{text}", f"the constant {text}"):
                self.imports["import numpy as np"] = None
                self.blocks.append(f"{name} = {text}")
        else:
            line = import_line(name, obj)
            if line is not None:
                if self.bind(name, f"import:{line}", line):
                    self.imports[line] = None
                return
            if isinstance(obj, type) or wa.annotation_parts(obj).get("ndim") is not None:
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
            if not _is_warp_object(_resolve_expr(owner, d)):
                return None
            if isinstance(d, ast.Call) and any(k.arg == "module" for k in d.keywords):  # the unit is the module
                kws = [k for k in d.keywords if k.arg != "module"]
                return ast.unparse(d.func if not kws and not d.args else ast.Call(d.func, d.args, kws))
            return ast.unparse(d)

        return keep

    def fresh(self, name: str, identity: str) -> str:
        """``name``, or ``name__2``, ``name__3``, ... the first not bound to something else: two
        definitions of one name (a redefined ``@wp.func``, a factory's ``f`` made twice) each get one."""
        candidate, n = name, 1
        while (prev := self.bound.get(candidate)) is not None and prev[0] != identity:
            n += 1
            candidate = f"{name}__{n}"
        return candidate

    def renamed(self, d: Def, real: str, as_name: str) -> str:
        """``d``'s text with its ``def``/``class`` named ``as_name``, and ``real`` in its decorators
        (``@wp.func_grad(f)``); a body that names ``real`` itself cannot be renamed."""
        if as_name == real:
            return d.text
        if real in d.names and not isinstance(d.node, ast.ClassDef):
            head = d.text.split("\n")
            n_dec = sum(1 for line in head if line.startswith("@"))
            if any(re.search(rf"\b{re.escape(real)}\b", line) for line in head[n_dec + 1 :]):
                raise CannotSlice(Reason.NAME_CLASH, f"'{real}' names two definitions, and one uses the name itself")
        lines = d.text.split("\n")
        for i, line in enumerate(lines):
            if line.startswith("@"):
                lines[i] = re.sub(rf"\b{re.escape(real)}\b", as_name, line)
            elif re.match(rf"(async\s+)?(def|class)\s+{re.escape(real)}\b", line):
                lines[i] = re.sub(rf"\b{re.escape(real)}\b", as_name, line, count=1)
                break
        return "\n".join(lines)

    def emit_function(self, fn: Any) -> str:
        key = id(fn)
        defs = wa.function_definitions(fn)
        if not defs:
            raise CannotSlice(Reason.NO_SOURCE, f"@wp.func {fn.key} has no Python definition")
        real = defs[0].__name__
        if key in self.done or key in self.visiting:
            return self.emitted.get(key, real)
        as_name = self.emitted[key] = self.fresh(real, f"fn:{key}")
        self.bind(as_name, f"fn:{key}", f"@wp.func {as_name}")
        self.visiting.add(key)
        texts = []
        for pyfunc in defs:
            d = parse_def(pyfunc, self.keep_warp_decorator(pyfunc))
            self.require_names(pyfunc, d, real)
            texts.append(self.renamed(d, real, as_name))
        self.visiting.discard(key)
        self.done.add(key)
        self.blocks.append("\n\n\n".join(texts))
        for custom in wa.function_custom_definitions(fn):
            d = parse_def(custom, self.keep_warp_decorator(custom))
            self.require_names(custom, d, real)
            custom_name = self.fresh(custom.__name__, f"custom:{id(custom)}")
            self.bind(custom_name, f"custom:{id(custom)}", f"custom function {custom_name}")
            d.text = self.renamed(d, real, as_name)
            self.blocks.append(self.renamed(d, custom.__name__, custom_name))
        return as_name

    def emit_struct(self, st: Any) -> str:
        cls = wa.struct_class(st)
        key = id(st)
        name = cls.__name__
        if key in self.done or key in self.visiting:
            return self.emitted.get(key, name)
        if self._class_count(cls) > 1:  # inspect finds a class's source by its name: the first one
            raise CannotSlice(Reason.NAME_CLASH, f"'{name}' names two classes of {cls.__module__}")
        as_name = self.emitted[key] = self.fresh(name, f"struct:{key}")
        self.bind(as_name, f"struct:{key}", f"@wp.struct {as_name}")
        self.visiting.add(key)
        d = parse_def(cls, self.keep_warp_decorator(cls))
        self.require_names(cls, d, name)
        self.visiting.discard(key)
        self.done.add(key)
        self.blocks.append(self.renamed(d, name, as_name))
        return as_name

    def _class_count(self, cls: type) -> int:
        """How many ``class`` statements of ``cls``'s file carry its qualified name."""
        try:
            filename = inspect.getsourcefile(cls) or ""
        except TypeError:
            return 1
        counts = _CLASS_NAMES.get(filename)
        if counts is None:
            try:
                with open(filename, encoding="utf-8") as f:
                    tree = ast.parse(f.read())
            except (OSError, SyntaxError, ValueError):
                tree = ast.Module(body=[], type_ignores=[])
            counts = _CLASS_NAMES[filename] = collections.Counter(_class_qualnames(tree.body, ""))
        return counts.get(cls.__qualname__, 1)

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
        """The user's ``@wp.kernel(...)`` without ``module``/``module_options`` (the module's
        options are set by the unit); written from the kernel's options instead when it names
        what the unit cannot define (a factory's parameter: decorators are evaluated once)."""

        def keep(d: ast.expr) -> str | None:
            if _resolve_expr(func, d) is not wp.kernel:
                return None
            if not isinstance(d, ast.Call):
                return ast.unparse(d)
            kws = [k for k in d.keywords if k.arg not in ("module", "module_options")]
            if not kws and not d.args:
                return ast.unparse(d.func)
            call = ast.Call(func=d.func, args=d.args, keywords=kws)
            names = {n.id for n in ast.walk(call) if isinstance(n, ast.Name)}
            if any(resolve(func, n)[0] is None for n in names):
                return self.written_decorator()
            return ast.unparse(call)

        return keep

    def written_decorator(self) -> str:
        """``wp.kernel(...)`` with the kernel's own options (``Kernel.options``) as keywords."""
        try:
            kws = [f"{k}={wa.option_source(v)}" for k, v in wa.kernel_decorator_options(self.kernel).items()]
        except wa.UnsupportedType as e:
            raise CannotSlice(Reason.UNSUPPORTED_TYPE, f"kernel option: {e}") from e
        return f"wp.kernel({', '.join(kws)})" if kws else "wp.kernel"

    def build(self, overload: list[tuple[str, Any]] | None) -> UnitSource:
        k = self.kernel
        func = k.func
        d = parse_def(func, self.kernel_decorator(func))
        if not any(line.lstrip().startswith("@") for line in d.text.splitlines()[:1]):
            d.text = f"@{self.written_decorator()}\n" + d.text  # made by wp.Kernel(func, options=...)
        name = func.__name__
        self.bind(name, f"kernel:{id(k)}", f"kernel {name}")
        self.require_names(func, d, name)
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
            try:
                parts.append(f"wp.set_module_options({wa.option_source(options)})\n")
            except wa.UnsupportedType as e:
                raise CannotSlice(Reason.UNSUPPORTED_TYPE, f"module option: {e}") from e
        parts.append(_join_blocks([*self.blocks, d.text]))
        if stub:
            parts.append(stub)
        return UnitSource("\n\n".join(parts), options)


def _class_qualnames(body: list[ast.stmt], prefix: str) -> typing.Iterator[str]:
    """The ``__qualname__`` of every ``class`` statement under ``body`` (as inspect matches them)."""
    for node in body:
        if isinstance(node, ast.ClassDef):
            yield prefix + node.name
            yield from _class_qualnames(node.body, f"{prefix}{node.name}.")
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            yield from _class_qualnames(node.body, f"{prefix}{node.name}.<locals>.")
        else:  # if/for/while/with/try blocks do not open a scope
            for field in ("body", "orelse", "finalbody"):
                yield from _class_qualnames(getattr(node, field, None) or [], prefix)
            for handler in getattr(node, "handlers", None) or []:
                yield from _class_qualnames(handler.body, prefix)


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
