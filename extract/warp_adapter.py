"""The one module that imports Warp internals (``warp._src``).

A Warp upgrade should touch this file only.  It offers:

* ``init_warp()``: quiet initialisation inside a worker;
* ``module_codegen()``: the exact C++ and CUDA text Warp's ``ModuleBuilder`` emits for a
  loaded Python module, split into a shared *prefix* (headers/macros, identical for every
  module with the same options) and a per-module *body*;
* ``compile_cpu()`` / ``compile_cuda()``: Warp's own CPU compiler (bundled Clang/LLVM) and
  NVRTC (CUDA -> PTX, no GPU needed), with the compiler's diagnostics captured;
* ``kernel_builtin_names()``: the builtins Warp exposes to kernels.

Validation compile options (the generated IR text does not depend on them):
CPU ``-O0`` via Warp's ``optimization_level=0`` with precompiled headers; CUDA ``-O1`` (NVRTC in
CUDA >= 13.1 mis-handles Warp's level 0, which Warp itself bumps to 1), PTX for ``sm_75``,
release mode, no line info.  The shipped IR is what Warp generates for its default options.
"""

from __future__ import annotations

import contextlib
import functools
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import warp as wp

import warp._src.build as _build  # noqa: I001  (internals: this module only)
import warp._src.codegen as _codegen
import warp._src.context as _context
import warp._src.types as _types

CUDA_ARCH = 75
CPU_OPT_LEVEL = 0
CUDA_OPT_LEVEL = 1


def warp_version() -> str:
    return wp.__version__


def init_warp() -> None:
    wp.config.quiet = True
    wp.config.verbose = False
    wp.init()


@functools.cache
def kernel_builtin_names() -> list[str]:
    """Every builtin in Warp's registry that kernels can call (operators included), sorted."""
    return sorted(k for k in _context.builtin_functions if not k.startswith("_"))


def is_kernel(obj: Any) -> bool:
    return isinstance(obj, _context.Kernel)


def is_user_function(obj: Any) -> bool:
    return isinstance(obj, _context.Function) and not obj.is_builtin()


def is_struct(obj: Any) -> bool:
    return isinstance(obj, _codegen.Struct)


def type_repr(t: Any) -> str:
    return _types.type_repr(t)


def function_id_snapshot() -> dict[str, int]:
    """Warp names each ``@wp.func`` natively ``<name>_<n>`` from a process-wide counter."""
    return dict(_context.function_key_counts)


def restore_function_ids(snapshot: dict[str, int]) -> None:
    """Reset that counter so a module loaded now gets the native names it would get if it were
    the first module loaded in a fresh process (batched units live in separate namespaces)."""
    _context.function_key_counts.clear()
    _context.function_key_counts.update(snapshot)


def get_warp_module(name: str) -> Any:
    return _context.get_module(name)


def forget_module(name: str) -> None:
    """Drop a Warp module from the registry so a long-lived worker does not accumulate them."""
    mod = _context.user_modules.pop(name, None)
    if mod is not None:
        with contextlib.suppress(Exception):
            mod.unload()


@dataclass(slots=True)
class ModuleCode:
    prefix: str  # header + macros; equal for modules with equal options
    body: str  # structs, functions and kernels of this module
    options: dict[str, Any]


def _prefix(source: str, device: str, block_dim: int) -> str:
    header = (_codegen.cpu_module_header if device == "cpu" else _codegen.cuda_module_header).format(
        block_dim=block_dim
    )
    for defines in ("#define WP_NO_BFLOAT16\n", ""):
        p = defines + header + _codegen.codegen_cast_macros
        if source.startswith(p):
            return p
    return ""


def module_codegen(wmod: Any, device: str) -> ModuleCode:
    """Run Warp's code generator for ``device`` ("cpu" | "cuda") on a loaded module.

    This is the same ``ModuleBuilder`` pass ``Module.load`` runs before compiling; exceptions
    (``WarpCodegenError`` and friends) propagate to the caller.
    """
    options = wmod.resolve_options(wp.config)
    wmod.hash_module()  # assigns kernel hashes, i.e. the mangled names in the generated code
    options = options | {"output_arch": None if device == "cpu" else CUDA_ARCH}
    source, _ext, _meta, ltoirs, fatbins = wmod._run_codegen(options, device == "cpu")
    if ltoirs or fatbins:
        # link-time inputs (MathDx) cannot be batched into a shared translation unit
        prefix = ""
    else:
        prefix = _prefix(source, device, options["block_dim"])
    return ModuleCode(prefix=prefix, body=source[len(prefix):], options=options)


def kernel_entry_names(kernel: Any) -> list[tuple[Any, str]]:
    """``(kernel_or_overload, mangled_name)`` for a kernel, one per concrete overload."""
    if kernel.is_generic:
        out = []
        for ov in kernel.overloads.values():
            out.append((ov, ov.get_mangled_name()))
        return out
    return [(kernel, kernel.get_mangled_name())]


def kernel_args(kernel: Any) -> dict[str, str]:
    return {a.label: type_repr(a.type) for a in kernel.adj.args}


@contextlib.contextmanager
def _capture_fd2() -> Iterator[list[str]]:
    """Capture what native code (Clang, NVRTC) prints on file descriptor 2."""
    out: list[str] = []
    saved = os.dup(2)
    with tempfile.TemporaryFile(mode="w+b") as tmp:
        os.dup2(tmp.fileno(), 2)
        try:
            yield out
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            tmp.seek(0)
            out.append(tmp.read().decode("utf-8", "replace"))


class CompileError(Exception):
    def __init__(self, log: str) -> None:
        super().__init__(log)
        self.log = log


def compile_cpu(cpp_path: str, obj_path: str, options: dict[str, Any]) -> None:
    with _capture_fd2() as log:
        try:
            _build.build_cpu(
                obj_path,
                cpp_path,
                mode="release",
                fast_math=False,
                verify_fp=False,
                fuse_fp=True,
                extra_flags=options.get("cpu_compiler_flags", ""),
                optimization_level=CPU_OPT_LEVEL,
                use_precompiled_headers=True,
                pch_dir=_context.runtime.get_clang_pch_dir(),
                block_dim=options.get("block_dim", 256),
                enable_tiles_in_stack_memory=options.get("enable_tiles_in_stack_memory", True),
            )
            failed = False
        except Exception:
            failed = True
    if failed:
        raise CompileError(log[0] if log else "")


def compile_cuda(cu_path: str, ptx_path: str, options: dict[str, Any]) -> None:
    with _capture_fd2() as log:
        try:
            _build.build_cuda(
                cu_path,
                CUDA_ARCH,
                ptx_path,
                config="release",
                optimization_level=CUDA_OPT_LEVEL,
                verify_fp=False,
                fast_math=False,
                fuse_fp=True,
                lineinfo=False,
                pch_dir=_context.runtime.get_nvrtc_pch_dir(),
                use_precompiled_headers=True,
            )
            failed = False
        except Exception:
            failed = True
    if failed:
        raise CompileError(log[0] if log else "")


def cpu_forward_name(mangled: str) -> str:
    return f"{mangled}_cpu_kernel_forward"


def cpu_backward_name(mangled: str) -> str:
    return f"{mangled}_cpu_kernel_backward"


def cuda_forward_name(mangled: str) -> str:
    return f"{mangled}_cuda_kernel_forward"


def cuda_backward_name(mangled: str) -> str:
    return f"{mangled}_cuda_kernel_backward"
