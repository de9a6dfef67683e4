"""The module that imports Warp internals (``warp._src``), with ``warp_adapter_mining`` (mining's
introspection, re-exported here); a Warp upgrade should touch these two files only.

* ``init_warp()``: quiet initialisation inside a worker;
* ``module_codegen()``: the exact C++ and CUDA text Warp's ``ModuleBuilder`` emits for a loaded module,
  split into a shared *prefix* (headers/macros, equal for equal options) and a per-module *body*;
* ``compile_cpu()`` / ``compile_cuda()``: Warp's CPU compiler (bundled Clang) and NVRTC, with the
  diagnostics captured; at the CUDA level ``frontend`` NVRTC's front end only (``extract.nvrtc``)
  with Warp's own options (``nvrtc_options``) plus ``--fdevice-syntax-only``;
* ``load_cpu_object()`` / ``run_from_object()``: ``wp.launch`` on ``"cpu"`` from the batch's object;
* ``kernel_builtin_names()``: the builtins Warp exposes to kernels (or those without an adjoint).

Validation options (the IR text does not depend on them): CPU ``-O0`` release mode, Warp's array
bounds checks on when kernels are executed (``native/wsynth_bounds_checked.h``); CUDA ``-O3`` PTX for
``sm_75`` or its front end alone (``CUDA_CHECKS``), no line info: here the fastest levels."""

from __future__ import annotations

import contextlib
import ctypes
import functools
import importlib.util
import os
import re
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import warp as wp
import warp._src.build as _build  # noqa: I001  (internals: warp_adapter*.py only)
import warp._src.codegen as _codegen
import warp._src.context as _context
import warp._src.types as _types

from warp_synth.extract import lto_cache
from warp_synth.extract import warp_adapter_mining as _mining

CUDA_ARCH = 75
CPU_OPT_LEVEL = 0
CUDA_OPT_LEVEL = 3
# How far the CUDA translation unit is taken.  "frontend": NVRTC's front end only (parse, semantic
# analysis, template instantiation: every C++ error in the code), no NVVM optimizer, no PTX;
# "ptx": Warp's own full compile to PTX (what ``--with-ptx`` stores).
CUDA_CHECKS = ("frontend", "ptx")
CPU_CHECK = f"clang -O{CPU_OPT_LEVEL} object"
CPU_CHECK_BOUNDS = f"{CPU_CHECK} (array bounds checked)"


def warp_version() -> str:
    return wp.__version__


def init_warp() -> None:
    wp.config.quiet = True
    wp.config.verbose = False
    wp.init()
    if not hasattr(_codegen.log_debug, "notes"):
        _codegen.log_debug = _NoteTaker(_codegen.log_debug)


class _NoteTaker:
    """Codegen's debug log, keeping what it says a kernel's adjoint cannot be trusted for."""

    def __init__(self, log: Any) -> None:
        self.log, self.notes = log, []

    def __call__(self, msg: str, *args: Any, **kwargs: Any) -> Any:
        if "differentiable operation" in msg:
            self.notes.append(msg.split(" at ", 1)[0].removeprefix("Warning: "))
        return self.log(msg, *args, **kwargs)


def take_adjoint_notes() -> list[str]:
    """Codegen's warnings since the last call that an adjoint may be wrong ("detected mutated variable
    x during a dynamic for-loop in function "f": this may not be a differentiable operation")."""
    taker = _codegen.log_debug
    notes, taker.notes = list(dict.fromkeys(getattr(taker, "notes", []))), []
    return notes


@functools.cache
def kernel_builtin_names(non_differentiable: bool = False) -> list[str]:
    """Every builtin in Warp's registry that kernels can call (operators included), sorted; with
    ``non_differentiable``, only those Warp registers without an adjoint (``is_differentiable=False``)."""
    return sorted(k for k, f in _context.builtin_functions.items() if not k.startswith("_")
                  and not (non_differentiable and getattr(f, "is_differentiable", True)))


def is_kernel(obj: Any) -> bool:
    return isinstance(obj, _context.Kernel)


def is_user_function(obj: Any) -> bool:
    return isinstance(obj, _context.Function) and not obj.is_builtin()


def is_struct(obj: Any) -> bool:
    return isinstance(obj, _codegen.Struct)


type_repr = _types.type_repr


def function_id_snapshot() -> dict[str, int]:
    """Warp names each ``@wp.func`` natively ``<name>_<n>`` from a process-wide counter."""
    return dict(_context.function_key_counts)


def restore_function_ids(snapshot: dict[str, int]) -> None:
    """Reset that counter: a module loaded now gets the native names it would get first in a fresh process."""
    _context.function_key_counts.clear()
    _context.function_key_counts.update(snapshot)


def import_file(modname: str, path: str) -> Any:
    """Import the Python file ``path`` as module ``modname`` (registered in ``sys.modules``, where Warp's
    codegen looks its globals up); the module's own exceptions propagate."""
    spec = importlib.util.spec_from_file_location(modname, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[modname] = module
    spec.loader.exec_module(module)
    return module


def get_warp_module(name: str) -> Any:
    return _context.get_module(name)


def forget_module(name: str) -> None:
    """Drop a Warp module from the registry so a long-lived worker does not accumulate them."""
    mod = _context.user_modules.pop(name, None)
    with contextlib.suppress(Exception):
        if mod is not None:
            mod.unload()


@dataclass(slots=True)
class ModuleCode:
    prefix: str  # header + macros; equal for modules with equal options
    body: str  # structs, functions and kernels of this module
    options: dict[str, Any]


def _prefix(source: str, device: str, block_dim: int) -> str:
    header = (_codegen.cpu_module_header if device == "cpu" else _codegen.cuda_module_header).format(block_dim=block_dim)
    for defines in ("#define WP_NO_BFLOAT16\n", ""):
        p = defines + header + _codegen.codegen_cast_macros
        if source.startswith(p):
            return p
    return ""


# Builtins whose codegen depends on the CUDA target architecture (MathDx link-time code).
_ARCH_DEPENDENT = lto_cache.MATHDX_BUILTINS


# Debug mode (and ``lineinfo``) puts ``#line N "/abs/path/of/unit.py"`` before each statement: named
# ``kernel.py``, the file ``synth verify`` writes, the text does not depend on where it was built.
_LINE_DIRECTIVE = re.compile(r'^#line (\d+) "[^"\n]*\.py"$', re.M)


def canonical_line_directives(source: str) -> str:
    return _LINE_DIRECTIVE.sub(r'#line \1 "kernel.py"', source) if "#line " in source else source


def _module_code(source: str, device: str, options: dict[str, Any], linked: bool) -> ModuleCode:
    source = canonical_line_directives(source)
    # link-time inputs (MathDx) cannot be batched into a shared translation unit
    prefix = "" if linked else _prefix(source, device, options["block_dim"])
    return ModuleCode(prefix=prefix, body=source[len(prefix):], options=options)


def module_codegen(wmod: Any, uses: set[str]) -> dict[str, ModuleCode]:
    """Warp's code generator for the CPU and CUDA on a loaded module: the ``ModuleBuilder`` pass of
    ``Module.load``, adjoints built once for both (``target`` matters only for architecture-dependent
    tile builtins, in ``uses``: the ``wp.*`` names the source references).  Codegen errors propagate."""
    options = wmod.resolve_options(wp.config)
    wmod.hash_module()  # assigns kernel hashes, i.e. the mangled names in the generated code
    hasher = wmod.hashers.get(options["block_dim"])
    cpu_options = options | {"output_arch": None}
    builder = _context.ModuleBuilder(wmod, cpu_options, hasher=hasher, target="cpu")
    cpu_source = builder.codegen("cpu")
    linked = bool(builder.ltoirs or builder.fatbins or builder.ltoirs_decl)
    out = {"cpu": _module_code(cpu_source, "cpu", cpu_options, linked)}
    cuda_options = options | {"output_arch": CUDA_ARCH}
    if uses & _ARCH_DEPENDENT:
        builder = _context.ModuleBuilder(wmod, cuda_options, hasher=hasher, target="cuda")
        linked = bool(builder.ltoirs or builder.fatbins or builder.ltoirs_decl)
    out["cuda"] = _module_code(builder.codegen("cuda"), "cuda", cuda_options, linked)
    return out


def kernel_entry_names(kernel: Any) -> list[tuple[Any, str]]:
    """``(kernel_or_overload, mangled_name)`` for a kernel, one per concrete overload."""
    kernels = list(kernel.overloads.values()) if kernel.is_generic else [kernel]
    return [(k, k.get_mangled_name()) for k in kernels]


def kernel_params(kernel: Any) -> list[tuple[str, Any]]:
    """``(name, Warp type)`` of each parameter, in signature order (``kernel_args``: type names)."""
    return [(a.label, a.type) for a in kernel.adj.args]


def kernel_args(kernel: Any) -> dict[str, str]:
    return {name: type_repr(t) for name, t in kernel_params(kernel)}


def struct_fields(st: Any) -> dict[str, Any]:
    return {name: var.type for name, var in st.vars.items()}


def load_cpu_object(obj_path: str, handle: str, kernels: list[str]) -> None:
    """Load and link an object file as ``handle``; looking up the ``kernels``' (mangled names) entry
    points links it here, once, instead of in every process forked from this one (~30 ms each)."""
    llvm = _context.runtime.llvm
    if llvm.wp_load_obj(obj_path.encode(), handle.encode(), wp.config.legacy_cpu_linker) != 0:
        raise RuntimeError(f"could not load the compiled object {os.path.basename(obj_path)}")
    for symbol in (name + entry for name in kernels for entry in ("_cpu_forward", "_cpu_backward")):
        llvm.wp_lookup(handle.encode(), symbol.encode())


def unload_cpu_object(handle: str) -> None:
    _context.runtime.llvm.wp_unload_obj(handle.encode())


def run_from_object(wmod: Any, handle: str) -> int:
    """Make ``wp.launch(..., device="cpu", block_dim=B)`` run ``wmod``'s kernels from the object
    loaded as ``handle`` (``load_cpu_object``), the code compiled with the records' options; ``B``
    (returned) is the module's block_dim, the variant the records' IR is."""
    block_dim, cpu = int(wmod.resolve_options(wp.config)["block_dim"]), wp.get_device("cpu")
    wmod.execs[(cpu.context, block_dim)] = _context.ModuleExec(handle, wmod.get_module_hash(block_dim), cpu, {},
                                                               block_dim, kernel_hashes=wmod.hashers[block_dim].kernel_hashes)
    return block_dim


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


def kernel_cache_dir() -> str:
    return str(wp.config.kernel_cache_dir)


def precompiled_header_dirs() -> list[str]:
    """Where Warp keeps the compilers' precompiled headers (read by every batch's process)."""
    dirs = [_context.runtime.get_clang_pch_dir(), _context.runtime.get_nvrtc_pch_dir()]
    # CUDA 13's NVRTC keeps its own automatic PCH folder in TMPDIR, named after the process
    tmp = tempfile.gettempdir()
    dirs += [os.path.join(tmp, n) for n in os.listdir(tmp) if n.startswith(f"__nvrtc_auto_pch_{os.getpid()}_")]
    return [d for d in dirs if d and os.path.isdir(d)]


def _captured(build: Any, *args: Any, **kwargs: Any) -> None:
    """Run a Warp build function; its failure is a ``CompileError`` with what the compiler printed."""
    with _capture_fd2() as log:
        try:
            build(*args, **kwargs)
            failed = False
        except Exception:
            failed = True
    if failed:
        raise CompileError(log[0] if log else "")


def compile_cpu(cpp_path: str, obj_path: str, options: dict[str, Any], bounds_checked: bool = False) -> None:
    """``bounds_checked``: Warp's array index asserts live (``NDEBUG`` undone ahead of its headers), for execution."""
    # by absolute path (Clang would look in the working directory first, which a sandbox may not let it read)
    header = os.path.join(os.path.dirname(os.path.abspath(__file__)), "native", "wsynth_bounds_checked.h")
    _captured(_build.build_cpu, obj_path, cpp_path, mode="release", fast_math=False, verify_fp=False, fuse_fp=True,
              extra_flags=options.get("cpu_compiler_flags", "") + f" -include {header}" * bounds_checked,
              optimization_level=CPU_OPT_LEVEL, use_precompiled_headers=True,
              pch_dir=_context.runtime.get_clang_pch_dir(), block_dim=options.get("block_dim", 256),
              enable_tiles_in_stack_memory=options.get("enable_tiles_in_stack_memory", True))


def linked_nvrtc_version() -> tuple[int, int]:
    """The NVRTC release linked into Warp's native library (``(13, 4)``); before ``init_warp()`` it
    loads the library for this call only (no device probe, no messages): the parent checks it at start."""
    runtime = _context.runtime
    if runtime is not None and getattr(runtime, "core", None) is not None:
        v = int(runtime.core.wp_nvrtc_version())
    else:
        name = {"win32": "warp.dll", "darwin": "libwarp.dylib"}.get(sys.platform, "warp.so")
        v = int(ctypes.CDLL(os.path.join(_build.warp_home, "bin", name)).wp_nvrtc_version())
    return v // 1000, (v % 1000) // 10


@functools.cache
def _mathdx_enabled() -> bool:
    return bool(_context.runtime.core.wp_is_mathdx_enabled())


def nvrtc_options(*, syntax_only: bool) -> list[str]:
    """The NVRTC options of Warp's own compile of a module in ``compile_cuda`` (``build_cuda`` ->
    ``wp_cuda_compile_program`` and ``append_common_nvrtc_compile_options`` in ``native/warp.cu``):
    PTX for ``compute_{CUDA_ARCH}``, release, ``CUDA_OPT_LEVEL``, precise fp, fused multiply-add,
    no line info, precompiled headers; with ``syntax_only`` plus ``--fdevice-syntax-only``."""
    major, minor = linked_nvrtc_version()
    cuda = major * 1000 + minor * 10
    opts = [f"--gpu-architecture=compute_{CUDA_ARCH}", f"--include-path={os.path.join(_build.warp_home, 'native')}"]
    if cuda >= 12080:
        opts.append("-pch")  # CUDA 13 keeps its own per-process PCH folder (no --pch-dir)
    opts.append("--std=c++17")
    if cuda >= 12090:
        fast = {0: "max" if cuda < 13010 else "mid", 1: "mid", 2: "min"}.get(CUDA_OPT_LEVEL, "0")
        opts.append(f"--Ofast-compile={fast}")
    opts += ["--define-macro=NDEBUG", "--undefine-macro=WP_VERIFY_FP",
             f"--define-macro=WP_ENABLE_MATHDX={int(_mathdx_enabled())}", "--fmad=true",
             "--device-as-default-execution-space", "--extra-device-vectorization", "--restrict",
             "--diag-suppress=177,550"]
    if syntax_only:
        opts.append("--fdevice-syntax-only")
    return opts


def cuda_front_end() -> Any:
    """The NVRTC that runs the front-end check (``extract.nvrtc``), loaded and checked against
    Warp's own release; raises ``nvrtc.CudaCheckUnavailable`` (a one-line ``UserError``)."""
    from warp_synth.extract import nvrtc

    return nvrtc.load(linked_nvrtc_version(), CUDA_ARCH)


def cuda_check_description(level: str) -> str:
    """What a record's CUDA check was, for ``metadata.verified.cuda``: the NVRTC release that ran
    (the wheel's full version for the front end), the level and the target."""
    if level == "frontend":
        from warp_synth.extract import nvrtc

        nv = cuda_front_end()
        version = nvrtc.distribution_version() or f"{nv.version[0]}.{nv.version[1]}"
        return f"nvrtc {version} front end, sm_{CUDA_ARCH}"
    if level == "ptx":
        major, minor = linked_nvrtc_version()
        return f"nvrtc {major}.{minor} ptx, sm_{CUDA_ARCH}"
    raise ValueError(f"unknown CUDA check level {level!r} (expected one of {', '.join(CUDA_CHECKS)})")


def compile_cuda(cu_path: str, ptx_path: str, options: dict[str, Any], level: str = "ptx") -> None:
    """Compile a CUDA translation unit: ``level`` "ptx" writes PTX to ``ptx_path`` (Warp's own
    compile), "frontend" only checks it (nothing is written).  Raises ``CompileError`` with
    NVRTC's diagnostics either way (the same ``file(line): error: ...`` text)."""
    if level == "frontend":
        with open(cu_path, "rb") as f:
            result = cuda_front_end().compile(f.read(), os.path.basename(cu_path), nvrtc_options(syntax_only=True))
        if not result.ok:
            raise CompileError(result.log or f"NVRTC front end failed: {result.status}")
        return
    if level != "ptx":
        raise ValueError(f"unknown CUDA check level {level!r} (expected one of {', '.join(CUDA_CHECKS)})")
    _captured(_build.build_cuda, cu_path, CUDA_ARCH, ptx_path, config="release", optimization_level=CUDA_OPT_LEVEL,
              verify_fp=False, fast_math=False, fuse_fp=True, lineinfo=False,
              pch_dir=_context.runtime.get_nvrtc_pch_dir(), use_precompiled_headers=True)



# Mining's introspection lives in ``warp_adapter_mining`` (this module's size limit); its names are
# reachable from here as before.
UnsupportedType = _mining.UnsupportedType
annotation_parts = _mining.annotation_parts
function_custom_definitions = _mining.function_custom_definitions
function_definitions = _mining.function_definitions
generic_parent = _mining.generic_parent
is_value = _mining.is_value
kernel_decorator_options = _mining.kernel_decorator_options
kernel_is_generic = _mining.kernel_is_generic
kernel_module_option_changes = _mining.kernel_module_option_changes
kernel_overload_signatures = _mining.kernel_overload_signatures
option_source = _mining.option_source
registered_kernels = _mining.registered_kernels
struct_class = _mining.struct_class
type_source = _mining.type_source
value_source = _mining.value_source
