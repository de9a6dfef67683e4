"""Child process of ``synth mine``: import the user's Warp files and slice their kernels.

    python -m warp_synth.extract.mining.child FILE...        (cwd = the files' folder)

The user's code is trusted but may print, crash or hang while it is imported, so it runs here,
never in the CLI process.  Protocol (JSON lines on the original stdout; whatever the user's
code prints goes to stderr): ``{"begin": FILE}`` before a file is imported, then one
``FileSlices`` line per file (``warp_synth.extract.mining.slices``).  Stdin is the parent's
lifeline: when it reaches end of file (the parent exited, however it exited) the child leaves at
once, even in the middle of a hanging import; the user's code reads an empty stdin.

For every kernel defined in a file (module attributes, classes, and anything registered in
Warp's module registry, e.g. by a factory called at import time) it emits one
``KernelSlice``: the self-contained unit source from ``warp_synth.extract.mining.kernel_source``
or the ``Reason`` it could not be made.  ``@wp.kernel`` definitions found in the file's syntax
tree but never instantiated are reported too.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import os
import sys
import threading
import traceback
from typing import Any

from warp_synth.extract import warp_adapter as wa
from warp_synth.extract.mining.kernel_source import CannotSlice, slice_kernel
from warp_synth.extract.mining.slices import FileSlices, KernelSlice, all_skipped, file_slices_to_json
from warp_synth.extract.mining.source_scan import LaunchBlockDims, declared_kernels, launch_block_dims
from warp_synth.reasons import Reason

MAX_MESSAGE = 600


def _first_line(text: str) -> str:
    text = text.strip()
    return text.splitlines()[0][:MAX_MESSAGE] if text else ""


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
    """Import a user file as the program would: as its package's module, else by path."""
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
    """The ``warp.Kernel`` objects defined in ``path``: module attributes, class attributes and
    kernels registered with Warp (factories called at import), in source order.  A concrete
    overload held by a name (``k_f32 = wp.overload(k, {...})``) stands for its generic kernel,
    which is sliced once per declared overload."""
    found: dict[int, Any] = {}

    def add(k: Any) -> None:
        k = wa.generic_parent(k) or k
        found.setdefault(id(k), k)

    for value in list(vars(module).values()):
        if wa.is_kernel(value) and _defined_in(value, path):
            add(value)
        elif isinstance(value, type) and value.__module__ == module.__name__:
            for attr in list(vars(value).values()):
                attr = getattr(attr, "__func__", attr)
                if wa.is_kernel(attr) and _defined_in(attr, path):
                    add(attr)
    for k in wa.registered_kernels():
        if _defined_in(k, path):
            found.setdefault(id(k), k)
    return sorted(found.values(), key=lambda k: (k.func.__code__.co_firstlineno, k.key))


def kernel_labels(kernels: list[Any]) -> dict[int, list[str]]:
    """Report names per kernel object: its qualified name (``Class.kernel``,
    ``factory.<locals>.kernel``), ``#2``, ``#3`` for further instances of one definition, and
    one name per declared overload of a generic kernel (``name[array(...), float32]``)."""
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


def _import_failure(path: str, e: BaseException, declared: list[tuple[str, int]]) -> FileSlices:
    """The report of a file whose import raised: every declared kernel skipped as ``import_error``."""
    tb = traceback.extract_tb(e.__traceback__)
    where = next(
        (f" (line {fs.lineno})" for fs in reversed(tb) if os.path.abspath(fs.filename) == os.path.abspath(path)),
        "",
    )
    message = _first_line(f"{type(e).__name__}: {e}") + where
    return all_skipped(path, Reason.IMPORT_ERROR, message, declared)


def _slice_one(kernel: Any, label: str, line: int, overload: Any, launches: LaunchBlockDims) -> KernelSlice:
    """The unit source of one kernel (one overload of a generic one), or why there is none."""
    try:
        unit = slice_kernel(kernel, overload, launches)
    except CannotSlice as e:
        return KernelSlice(label, line, reason=e.reason, message=e.message)
    except Exception as e:  # a bug or an exotic construct: report it, keep going
        return KernelSlice(label, line, reason=Reason.SLICE_ERROR, message=_first_line(f"{type(e).__name__}: {e}"))
    return KernelSlice(label, line, unit.source, module_options=unit.module_options)


def _kernel_slices(kernel: Any, labels: list[str], launches: LaunchBlockDims) -> list[KernelSlice]:
    """One slice per kernel object, or per declared overload of a generic kernel."""
    line = kernel.func.__code__.co_firstlineno
    try:
        generic = wa.kernel_is_generic(kernel)
        overloads = wa.kernel_overload_signatures(kernel) if generic else [None]
    except Exception as e:
        message = _first_line(f"{type(e).__name__}: {e}")
        return [KernelSlice(kernel.func.__qualname__, line, reason=Reason.SLICE_ERROR, message=message)]
    if not overloads:
        return [
            KernelSlice(
                kernel.func.__qualname__,
                line,
                reason=Reason.GENERIC_WITHOUT_OVERLOADS,
                message="generic kernel without overloads",
            )
        ]
    return [
        _slice_one(kernel, label, line, overload, launches)
        for overload, label in zip(overloads, labels, strict=True)
    ]


def slice_file(path: str) -> FileSlices:
    """Import ``path`` and slice every kernel it defines; declared kernels without an object
    (factories never called) are reported as ``not_instantiated``."""
    with open(path, encoding="utf-8", errors="replace") as f:
        text = f.read()
    declared = declared_kernels(text)
    try:
        module = import_file(path)
    except BaseException as e:  # SystemExit and KeyboardInterrupt from user code included
        return _import_failure(path, e, declared)
    out = FileSlices(file=path, module=module.__name__)
    kernels = find_kernels(module, path)
    launches = launch_block_dims(text, vars(module))
    labels = kernel_labels(kernels)
    for k in kernels:
        out.kernels.extend(_kernel_slices(k, labels[id(k)], launches))
    instantiated = {k.func.__code__.co_firstlineno for k in kernels}
    for name, line in declared:
        if line not in instantiated:
            out.kernels.append(
                KernelSlice(
                    name,
                    line,
                    reason=Reason.NOT_INSTANTIATED,
                    message="the @wp.kernel is created inside a function that was not called at import "
                    "(kernel factory); no kernel object to slice",
                )
            )
    out.kernels.sort(key=lambda s: (s.line, s.name))
    return out


PARENT_GONE_STATUS = 70


def _leave_when_parent_goes(lifeline: int) -> None:
    """Read ``lifeline`` until end of file (the parent closed it or exited), then exit now."""
    try:
        while os.read(lifeline, 4096):
            pass
    except OSError:
        pass
    os._exit(PARENT_GONE_STATUS)


def _watch_parent() -> None:
    lifeline = os.dup(0)
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)  # the user's code reads an empty stdin, never the lifeline
    os.close(devnull)
    threading.Thread(target=_leave_when_parent_goes, args=(lifeline,), name="lifeline", daemon=True).start()


def main(argv: list[str] | None = None) -> None:
    files = list(sys.argv[1:] if argv is None else argv)
    _watch_parent()
    proto = os.fdopen(os.dup(1), "w", encoding="utf-8", buffering=1)
    os.dup2(2, 1)  # user code printing must not corrupt the protocol
    sys.stdout = sys.stderr
    wa.init_warp()
    for path in files:
        proto.write(json.dumps({"begin": path}) + "\n")
        try:
            result = slice_file(path)
        except BaseException as e:
            result = FileSlices(
                file=path, error=Reason.SLICE_ERROR, message=_first_line(f"{type(e).__name__}: {e}")
            )
        proto.write(file_slices_to_json(result) + "\n")
    proto.flush()


if __name__ == "__main__":
    main()
