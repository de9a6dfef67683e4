"""Child process of ``synth extract``: import the user's Warp files and slice their kernels.

    python -m warp_synth.extract.mining.child FILE...        (cwd = the files' folder)

The user's code is trusted but may print, crash or hang while it is imported, so it runs here,
never in the CLI process.  Protocol (JSON lines on the original stdout; whatever the user's
code prints goes to stderr): ``{"begin": FILE}`` before a file is imported, then one
``{"file": FILE, "error": ..., "kernels": [...]}`` per file (see ``FileSlices``).

For every kernel defined in a file (module attributes, classes, and anything registered in
Warp's module registry, e.g. by a factory called at import time) it emits one
``KernelSlice``: the self-contained unit source from ``extract.mining.kernel_source`` or the reason it
could not be made.  ``@wp.kernel`` definitions found in the file's syntax tree but never
instantiated are reported too.
"""

from __future__ import annotations

import ast
import contextlib
import importlib
import importlib.util
import json
import os
import re
import sys
import traceback
from dataclasses import asdict, dataclass, field
from typing import Any

MAX_MESSAGE = 600


@dataclass(slots=True)
class KernelSlice:
    name: str  # the kernel's qualified name (Warp's key), with the overload's types if generic
    line: int  # first line of its definition in the file
    source: str | None = None
    reason: str | None = None  # why no source (when ``source`` is None)
    message: str = ""
    module_options: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class FileSlices:
    file: str
    module: str = ""
    error: str | None = None  # reason the file could not be imported ("import_error", ...)
    message: str = ""
    kernels: list[KernelSlice] = field(default_factory=list)


def _first_line(text: str) -> str:
    text = text.strip()
    return text.splitlines()[0][:MAX_MESSAGE] if text else ""


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


_LAUNCHERS = frozenset({"launch", "launch_tiled", "load_module", "force_load"})
_TILE_USE = re.compile(r"\b(?:wp|warp)\.(?:tile\w*|block_dim)\b")
DEFAULT_BLOCK_DIM = 256


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


def launch_block_dims(source: str, namespace: dict[str, Any]) -> tuple[dict[str, set[int]], set[int]]:
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
    kernel_name: str,
    unit_text: str,
    launches: tuple[dict[str, set[int]], set[int]],
    module_options: dict[str, Any],
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


def module_name_for(path: str) -> tuple[str, str]:
    """``(dotted module name, sys.path entry)`` to import ``path`` with, packages honoured."""
    folder, fname = os.path.split(os.path.abspath(path))
    parts = [os.path.splitext(fname)[0]]
    root = folder
    while os.path.isfile(os.path.join(root, "__init__.py")):
        root, pkg = os.path.split(root)
        parts.insert(0, pkg)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts), root


def import_file(path: str) -> Any:
    name, root = module_name_for(path)
    folder = os.path.dirname(os.path.abspath(path))
    for entry in (folder, root):
        if entry not in sys.path:
            sys.path.insert(0, entry)
    if "." in name:
        return importlib.import_module(name)
    existing = sys.modules.get(name)
    if existing is not None:
        if os.path.abspath(getattr(existing, "__file__", "") or "") == os.path.abspath(path):
            return existing  # already imported as a sibling of an earlier file
        name = f"wsynth_mined_{name}"  # a stdlib/installed module of the same name
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        sys.modules.pop(name, None)
        raise
    return module


def _defined_in(obj: Any, path: str) -> bool:
    code = getattr(getattr(obj, "func", None), "__code__", None)
    return code is not None and os.path.abspath(code.co_filename) == os.path.abspath(path)


def find_kernels(module: Any, path: str) -> list[Any]:
    from warp_synth.extract import warp_adapter as wa

    found: dict[int, Any] = {}
    for value in list(vars(module).values()):
        if wa.is_kernel(value) and _defined_in(value, path):
            found.setdefault(id(value), value)
        elif isinstance(value, type) and value.__module__ == module.__name__:
            for attr in list(vars(value).values()):
                attr = getattr(attr, "__func__", attr)
                if wa.is_kernel(attr) and _defined_in(attr, path):
                    found.setdefault(id(attr), attr)
    for k in wa.registered_kernels():
        if _defined_in(k, path):
            found.setdefault(id(k), k)
    return sorted(found.values(), key=lambda k: (k.func.__code__.co_firstlineno, k.key))


def kernel_labels(kernels: list[Any]) -> dict[int, list[str]]:
    """Report names per kernel object: its qualified name (``Class.kernel``,
    ``factory.<locals>.kernel``), ``#2``, ``#3`` for further instances of one definition, and
    one name per declared overload of a generic kernel (``name[array(...), float32]``)."""
    from warp_synth.extract import warp_adapter as wa

    out: dict[int, list[str]] = {}
    seen: dict[str, int] = {}
    for k in kernels:
        base = k.func.__qualname__
        seen[base] = seen.get(base, 0) + 1
        if seen[base] > 1:
            base = f"{base}#{seen[base]}"
        if wa.kernel_is_generic(k):
            out[id(k)] = [
                f"{base}[{', '.join(wa.type_repr(t) for _, t in sig)}]"
                for sig in wa.kernel_overload_signatures(k)
            ]
        else:
            out[id(k)] = [base]
    return out


def slice_file(path: str) -> FileSlices:
    from warp_synth.extract import warp_adapter as wa
    from warp_synth.extract.mining.kernel_source import CannotSlice, slice_kernel

    out = FileSlices(file=path)
    with open(path, encoding="utf-8", errors="replace") as f:
        text = f.read()
    declared = declared_kernels(text)
    try:
        module = import_file(path)
    except BaseException as e:  # SystemExit and KeyboardInterrupt from user code included
        tb = traceback.extract_tb(e.__traceback__)
        where = next(
            (
                f" (line {fs.lineno})"
                for fs in reversed(tb)
                if os.path.abspath(fs.filename) == os.path.abspath(path)
            ),
            "",
        )
        out.error = "import_error"
        out.message = _first_line(f"{type(e).__name__}: {e}") + where
        out.kernels = [
            KernelSlice(name, line, reason="import_error", message=out.message) for name, line in declared
        ]
        return out
    out.module = module.__name__
    kernels = find_kernels(module, path)
    launches = launch_block_dims(text, vars(module))
    labels = kernel_labels(kernels)
    seen_lines = set()
    for k in kernels:
        line = k.func.__code__.co_firstlineno
        seen_lines.add(line)
        name = k.func.__qualname__
        try:
            if wa.kernel_is_generic(k):
                sigs = wa.kernel_overload_signatures(k)
                if not sigs:
                    out.kernels.append(
                        KernelSlice(
                            name,
                            line,
                            reason="generic_without_overloads",
                            message="generic kernel without overloads",
                        )
                    )
                    continue
                for sig, label in zip(sigs, labels[id(k)], strict=True):
                    try:
                        unit = slice_kernel(k, sig, launches)
                        out.kernels.append(
                            KernelSlice(label, line, unit.source, module_options=unit.module_options)
                        )
                    except CannotSlice as e:
                        out.kernels.append(KernelSlice(label, line, reason=e.reason, message=e.message))
                continue
            name = labels[id(k)][0]
            unit = slice_kernel(k, None, launches)
            out.kernels.append(KernelSlice(name, line, unit.source, module_options=unit.module_options))
        except CannotSlice as e:
            out.kernels.append(KernelSlice(name, line, reason=e.reason, message=e.message))
        except Exception as e:  # a bug or an exotic construct: report it, keep going
            out.kernels.append(
                KernelSlice(name, line, reason="slice_error", message=_first_line(f"{type(e).__name__}: {e}"))
            )
    for name, line in declared:
        if line not in seen_lines:
            out.kernels.append(
                KernelSlice(
                    name,
                    line,
                    reason="not_instantiated",
                    message="the @wp.kernel is created inside a function that was not called at import "
                    "(kernel factory); no kernel object to slice",
                )
            )
    out.kernels.sort(key=lambda s: (s.line, s.name))
    return out


def main(argv: list[str] | None = None) -> None:
    files = list(sys.argv[1:] if argv is None else argv)
    proto = os.fdopen(os.dup(1), "w", encoding="utf-8", buffering=1)
    os.dup2(2, 1)  # user code printing must not corrupt the protocol
    sys.stdout = sys.stderr
    from warp_synth.extract import warp_adapter as wa

    wa.init_warp()
    for path in files:
        proto.write(json.dumps({"begin": path}) + "\n")
        try:
            result = slice_file(path)
        except BaseException as e:
            result = FileSlices(
                file=path, error="slice_error", message=_first_line(f"{type(e).__name__}: {e}")
            )
        proto.write(json.dumps(asdict(result), default=repr) + "\n")
    proto.flush()


if __name__ == "__main__":
    main()
