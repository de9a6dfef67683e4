"""NVIDIA's NVRTC, called through ctypes: the CUDA front-end check (``--cuda-check frontend``).

Warp links NVRTC into its own native library and always asks it for PTX, i.e. it runs NVRTC's
front end (parsing, semantic analysis, template instantiation) *and* NVVM's optimizer and PTX
backend; on this workload the backend is ~95% of NVRTC's time, and its PTX is thrown away unless
``--with-ptx``.  To run the front end alone we need to pass ``--fdevice-syntax-only``, which Warp
does not expose, so this module loads the NVRTC library of NVIDIA's ``nvidia-cuda-nvrtc`` wheel (a
dependency, pinned to the release Warp is built with) and calls it directly.  The option list is
Warp's own (``warp_adapter.nvrtc_options``); this module knows nothing of Warp.

The library is loaded once per process (the worker loads it in its zygote, before the sandbox;
it lives under site-packages, which the sandbox can read anyway).  A missing or unusable library
is a ``CudaCheckUnavailable`` (a ``UserError``: one line, naming the fix).
"""

from __future__ import annotations

import ctypes
import functools
import importlib.metadata
import os
from dataclasses import dataclass

from warp_synth.errors import UserError

DISTRIBUTION = "nvidia-cuda-nvrtc"  # NVIDIA's wheel of the NVRTC shared library
_NVRTC_SUCCESS = 0


class CudaCheckUnavailable(UserError):
    """The CUDA front-end check cannot run here (no NVRTC library, or the wrong release)."""


def _install_hint(requirement: str) -> str:
    return (f"install it (pip install '{DISTRIBUTION}{requirement}') or pass --cuda-check ptx "
            "(Warp's own NVRTC, a full compile to PTX: many times slower per kernel)")


def _is_library(name: str) -> bool:
    if "builtins" in name:
        return False
    return name.startswith("libnvrtc.so.") or (name.startswith("nvrtc64_") and name.endswith(".dll"))


def library_path(requirement: str = "") -> str:
    """The NVRTC shared library of the installed ``nvidia-cuda-nvrtc`` wheel (``requirement``,
    e.g. ``==13.4.*``, only names the fix in the error)."""
    try:
        dist = importlib.metadata.distribution(DISTRIBUTION)
    except importlib.metadata.PackageNotFoundError:
        raise CudaCheckUnavailable(f"--cuda-check frontend needs NVIDIA's NVRTC library, and the {DISTRIBUTION} "
                                   f"package is not installed; {_install_hint(requirement)}") from None
    names = [f for f in (dist.files or []) if _is_library(os.path.basename(str(f)))]
    for f in sorted(names, key=lambda f: len(str(f))):  # libnvrtc.so.13 before libnvrtc.so.13.4.x
        path = str(dist.locate_file(f))
        if os.path.isfile(path):
            return path
    raise CudaCheckUnavailable(f"the {DISTRIBUTION} package ({dist.version}) holds no NVRTC library for this "
                               f"platform; {_install_hint(requirement)}")


@dataclass(frozen=True, slots=True)
class Result:
    ok: bool
    log: str  # NVRTC's program log (diagnostics in ``file(line): error: ...`` form)
    status: str  # NVRTC's name for the result, e.g. NVRTC_ERROR_COMPILATION


class NVRTC:
    """One loaded NVRTC library."""

    def __init__(self, path: str) -> None:
        try:
            lib = ctypes.CDLL(path)
        except OSError as e:
            raise CudaCheckUnavailable(f"NVRTC library {path} does not load ({e}); {_install_hint('')}") from None
        self.path = path
        c_int_p, c_size_p, prog_p = ctypes.POINTER(ctypes.c_int), ctypes.POINTER(ctypes.c_size_t), ctypes.POINTER(
            ctypes.c_void_p)
        sig = {
            "nvrtcVersion": [c_int_p, c_int_p],
            "nvrtcGetNumSupportedArchs": [c_int_p],
            "nvrtcGetSupportedArchs": [c_int_p],
            "nvrtcCreateProgram": [prog_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_int,
                                   ctypes.POINTER(ctypes.c_char_p), ctypes.POINTER(ctypes.c_char_p)],
            "nvrtcCompileProgram": [ctypes.c_void_p, ctypes.c_int, ctypes.POINTER(ctypes.c_char_p)],
            "nvrtcGetProgramLogSize": [ctypes.c_void_p, c_size_p],
            "nvrtcGetProgramLog": [ctypes.c_void_p, ctypes.c_char_p],
            "nvrtcDestroyProgram": [prog_p],
        }
        try:
            for name, argtypes in sig.items():
                fn = getattr(lib, name)
                fn.argtypes, fn.restype = argtypes, ctypes.c_int
            lib.nvrtcGetErrorString.argtypes, lib.nvrtcGetErrorString.restype = [ctypes.c_int], ctypes.c_char_p
        except AttributeError as e:
            raise CudaCheckUnavailable(f"{path} is not a usable NVRTC library ({e}); {_install_hint('')}") from None
        self._lib = lib
        major, minor = ctypes.c_int(), ctypes.c_int()
        self._check(lib.nvrtcVersion(ctypes.byref(major), ctypes.byref(minor)), "nvrtcVersion")
        self.version = (major.value, minor.value)

    def _check(self, res: int, what: str) -> None:
        if res != _NVRTC_SUCCESS:
            raise RuntimeError(f"{what} failed: {self.status(res)}")

    def status(self, res: int) -> str:
        s = self._lib.nvrtcGetErrorString(res)
        return s.decode("ascii", "replace") if s else f"NVRTC error {res}"

    def supported_archs(self) -> list[int]:
        n = ctypes.c_int()
        self._check(self._lib.nvrtcGetNumSupportedArchs(ctypes.byref(n)), "nvrtcGetNumSupportedArchs")
        arr = (ctypes.c_int * n.value)()
        self._check(self._lib.nvrtcGetSupportedArchs(arr), "nvrtcGetSupportedArchs")
        return list(arr)

    def compile(self, source: bytes, name: str, options: list[str]) -> Result:
        """``nvrtcCompileProgram`` on ``source`` (no headers but those found on include paths)."""
        lib = self._lib
        prog = ctypes.c_void_p()
        self._check(lib.nvrtcCreateProgram(ctypes.byref(prog), source, name.encode("utf-8"), 0, None, None),
                    "nvrtcCreateProgram")
        try:
            opts = (ctypes.c_char_p * len(options))(*[o.encode("utf-8") for o in options])
            res = lib.nvrtcCompileProgram(prog, len(options), opts)
            size = ctypes.c_size_t()
            log = ""
            if lib.nvrtcGetProgramLogSize(prog, ctypes.byref(size)) == _NVRTC_SUCCESS and size.value > 1:
                buf = ctypes.create_string_buffer(size.value)
                if lib.nvrtcGetProgramLog(prog, buf) == _NVRTC_SUCCESS:
                    log = buf.value.decode("utf-8", "replace")
            return Result(res == _NVRTC_SUCCESS, log, self.status(res))
        finally:
            lib.nvrtcDestroyProgram(ctypes.byref(prog))


def distribution_version() -> str:
    """The installed wheel's version (``13.4.92``), or "" when it is not installed."""
    try:
        return importlib.metadata.version(DISTRIBUTION)
    except importlib.metadata.PackageNotFoundError:
        return ""


@functools.cache
def _load(path: str) -> NVRTC:
    return NVRTC(path)


def load(expect: tuple[int, int], arch: int) -> NVRTC:
    """The wheel's NVRTC, checked against the release Warp links (``expect``, major and minor:
    the front end must judge the code exactly as Warp's NVRTC would) and the target ``arch``."""
    want = f"{expect[0]}.{expect[1]}"
    nv = _load(library_path(f"=={want}.*"))
    if nv.version != expect:
        raise CudaCheckUnavailable(
            f"--cuda-check frontend needs NVRTC {want} (the release Warp is built with), but the {DISTRIBUTION} "
            f"package provides {nv.version[0]}.{nv.version[1]} ({distribution_version() or nv.path}); "
            f"{_install_hint(f'=={want}.*')}")
    if arch not in nv.supported_archs():
        raise CudaCheckUnavailable(f"NVRTC {want} ({nv.path}) cannot target sm_{arch}; pass --cuda-check ptx")
    return nv
