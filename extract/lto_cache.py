"""A machine-wide store of the MathDx LTOs that our own tile templates need, built once by trusted code.

Warp's code generator for CUDA builds a link-time object with libmathdx for every distinct
``tile_matmul`` / ``tile_cholesky`` / triangular-solve / ``tile_fft`` configuration it meets
(shapes, layouts, block size, architecture), a few seconds each, and keeps it in the kernel
cache's ``lto/`` folder.  Our workers have a kernel cache of their own that lives as long as the
worker, and each sandboxed batch sees it through a copy-on-write view whose writes are thrown away
(so a kernel that got past the screen cannot poison what later batches read): without help every
batch would build every LTO it needs again.

So the LTOs are built *outside* the workers, by trusted code, from trusted sources (the tile
family's enumeration of the configurations it draws, ``tiles.warm_sources()``):

* ``warm(sources)`` (the parent, before a run) codegens those sources for CUDA in a child process
  whose Warp kernel cache is the store (``store_root()``): the LTOs land there, once per machine and
  Warp version; a warm store costs the child's start-up and a cache lookup per configuration;
* ``seed()`` (each worker's or re-derivation's start, trusted, before any untrusted code) copies the
  store's LTOs into the process's own kernel cache, where Warp finds them like its own.

Nothing untrusted ever writes to the store: the child only loads the sources it is given by our
own template code, and the workers only read it.  A configuration the store lacks (an LLM kernel's
own shapes) is still built, in its batch, as before.  Only LTOs are shared: they are keyed by a hash
of the configuration's full symbol, so a copy cannot stand in for another configuration.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

# the tile builtins whose CUDA code needs a MathDx LTO (and depends on the target architecture)
MATHDX_BUILTINS = frozenset({"tile_matmul", "tile_fft", "tile_ifft", "tile_cholesky", "tile_cholesky_inplace",
                             "tile_cholesky_solve", "tile_cholesky_solve_inplace", "tile_lower_solve",
                             "tile_lower_solve_inplace", "tile_upper_solve", "tile_upper_solve_inplace"})
STORE_ENV = "WSYNTH_LTO_STORE"  # the store's root, passed to every child (see executors.supervisor)


def store_root() -> Path:
    """``$WSYNTH_LTO_STORE``, else ``$XDG_CACHE_HOME/warp-synth/lto-store`` (``~/.cache/...``)."""
    env = os.environ.get(STORE_ENV)
    if env:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "warp-synth" / "lto-store"


@dataclass(slots=True)
class WarmReport:
    sources: int
    built: int = 0  # LTO files added to the store
    seconds: float = 0.0
    errors: list[str] = field(default_factory=list)


def _lto_files(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.glob("*/lto/*") if p.is_file()}


def warm(sources: Sequence[str], *, timeout_s: float = 1800.0,
         progress: Callable[[str], None] | None = None) -> WarmReport:
    """Codegen ``sources`` (trusted template kernels) for CUDA in a child whose kernel cache is the
    store.  Failures are reported in ``errors`` (a run goes on without the store, only slower)."""
    from warp_synth.extract.executors.supervisor import ChildFolder, isolated_environment, run_child

    report = WarmReport(len(sources))
    if not sources:
        return report
    root = store_root()
    t0 = time.monotonic()
    # the same sources warmed before on this Warp: nothing to build (not even a child to start)
    marker = root / "warmed" / hashlib.sha256("\0".join([_warp_version(), *sources]).encode()).hexdigest()
    if marker.exists():
        report.seconds = time.monotonic() - t0
        return report
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        report.errors.append(f"cannot create the LTO store {root}: {e.strerror}")
        return report
    before = _lto_files(root)
    folder = ChildFolder("wsynth-lto-")
    try:
        env = isolated_environment(folder.path, mem_limit_mb=0)
        env["WARP_CACHE_PATH"] = str(root)
        if progress:
            progress(f"MathDx LTOs for {len(sources)} tile configurations (built once per machine, "
                     f"kept in {root})")
        proc = run_child([sys.executable, "-m", "warp_synth.extract.lto_cache"], workdir=folder.path, env=env,
                         input=json.dumps(list(sources)).encode(), timeout=timeout_s)
        if proc.timed_out:
            report.errors.append(f"building the LTOs timed out after {timeout_s:.0f} s")
        elif proc.returncode != 0:
            tail = proc.stderr.decode("utf-8", "replace").strip().splitlines()[-1:] or [f"exit {proc.returncode}"]
            report.errors.append(f"building the LTOs failed: {tail[0]}")
        else:
            lines = proc.stdout.decode("utf-8", "replace").strip().splitlines()
            report.errors.extend(json.loads(lines[-1])["errors"] if lines else ["no reply from the LTO builder"])
    finally:
        folder.remove()
    report.built = len(_lto_files(root) - before)
    report.seconds = time.monotonic() - t0
    if not report.errors:
        marker.parent.mkdir(exist_ok=True)
        marker.touch()
    return report


def _warp_version() -> str:
    """The installed warp's version, without importing it (the parent stays free of Warp)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("warp-lang")
    except PackageNotFoundError:
        return "unknown"


def seed(kernel_cache_dir: str) -> int:
    """Copy the store's LTOs (this Warp version's) into ``kernel_cache_dir/lto``; the number copied."""
    from warp_synth.extract import warp_adapter as wa

    src = store_root() / wa.warp_version() / "lto"
    if not src.is_dir():
        return 0
    dst = Path(kernel_cache_dir) / "lto"
    dst.mkdir(parents=True, exist_ok=True)
    n = 0
    for f in src.iterdir():
        target = dst / f.name
        if f.is_file() and not f.name.startswith(".") and not target.exists():
            try:
                shutil.copyfile(f, target)  # a copy, never a link: a batch without a private view of
                n += 1  # the cache (a weaker sandbox) could otherwise write through to the store
            except OSError:  # a file being written by a concurrent warm: it is built again if needed
                target.unlink(missing_ok=True)
    return n


def _build(sources: list[str]) -> list[str]:
    """The child: load each source and run Warp's codegen for the CPU and CUDA (the LTO builds)."""
    from warp_synth.extract import warp_adapter as wa
    from warp_synth.identity import warp_attr_names

    wa.init_warp()
    errors: list[str] = []
    workdir = tempfile.mkdtemp(prefix="lto_", dir=os.getcwd())
    for n, source in enumerate(sources):
        name = f"wsynth_lto_{n}"
        path = os.path.join(workdir, f"{name}.py")
        Path(path).write_text(source, encoding="utf-8")
        try:
            wa.import_file(name, path)
            wa.module_codegen(wa.get_warp_module(name), warp_attr_names(source))
        except Exception as e:  # one configuration's failure must not stop the others
            errors.append(f"source {n}: {type(e).__name__}: {str(e)[:300]}")
    return errors


if __name__ == "__main__":
    print(json.dumps({"errors": _build(json.load(sys.stdin))}), flush=True)
