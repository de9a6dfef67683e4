"""Which kernels of a Warp program can Warp itself compile, in their original module?

    python -m warp_synth.extract.mining.oracle FILE...       (prints one JSON line per file)

The yardstick for ``synth mine``: every kernel this reports as compilable should be mined.
Each file is imported in a fresh child process (cwd = its folder), exactly as the slicer
imports it; then every Warp module holding one of the file's kernels is compiled ahead of time
with Warp's public ``wp.compile_aot_module`` for the CPU and for CUDA ``sm_75`` PTX (NVRTC, no
GPU needed).  A kernel counts as compilable when its module compiles; a generic kernel counts
once per declared overload (named like the slicer names them); a generic kernel without
overloads and an ``@wp.kernel`` never instantiated at import count as not compilable.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from typing import Any

from warp_synth.extract.executors.supervisor import run_child, user_environment
from warp_synth.extract.mining.files import discover
from warp_synth.extract.mining.pipeline import mine, mining_options
from warp_synth.extract.mining.source_scan import (
    LaunchBlockDims,
    declared_kernels,
    launch_block_dims,
    tile_block_dim,
)

_CHILD_CODE = "from warp_synth.extract.mining.oracle import child_main; child_main()"


def _block_dim(kernel: Any, launches: LaunchBlockDims) -> int | None:
    """The block_dim the slicer gives this kernel's unit (the same rule, so the same yardstick)."""
    import inspect

    from warp_synth.extract import warp_adapter as wa
    from warp_synth.extract.mining.kernel_source import CannotSlice, slice_kernel

    sigs = wa.kernel_overload_signatures(kernel) if wa.kernel_is_generic(kernel) else [None]
    try:
        text = slice_kernel(kernel, sigs[0]).source if sigs else ""
    except CannotSlice:
        text = ""
    if not text:
        try:
            text = inspect.getsource(kernel.func)
        except (OSError, TypeError):
            text = ""
    return tile_block_dim(kernel.func.__name__, text, launches, wa.kernel_module_option_changes(kernel))


def check_file(path: str, workdir: str) -> dict[str, Any]:
    import warp as wp

    from warp_synth.extract.mining.child import find_kernels, import_file, kernel_labels

    with open(path, encoding="utf-8", errors="replace") as f:
        text = f.read()
    declared = declared_kernels(text)
    result: dict[str, Any] = {"file": path, "error": None, "declared": len(declared), "kernels": {}}
    try:
        module = import_file(path)
    except BaseException as e:
        result["error"] = f"{type(e).__name__}: {e}".splitlines()[0][:300]
        return result
    kernels = find_kernels(module, path)
    launches = launch_block_dims(text, vars(module))
    names = kernel_labels(kernels)
    groups: dict[tuple[int, int | None], tuple[Any, list[Any]]] = {}
    for k in kernels:
        groups.setdefault((id(k.module), _block_dim(k, launches)), (k.module, []))[1].append(k)
    for n, ((_, block_dim), (wmod, members)) in enumerate(groups.items()):
        labels = [label for k in members for label in names[id(k)]]
        if not labels:
            continue
        saved = wmod.options.get("block_dim")
        try:
            if block_dim is not None:
                wp.set_module_options({"block_dim": block_dim}, module=wmod)
            wp.compile_aot_module(
                wmod, device="cpu", arch=[75], use_ptx=True, module_dir=os.path.join(workdir, f"m{n}")
            )
            ok, message = True, ""
        except Exception as e:
            ok, message = False, f"{type(e).__name__}: {e}".strip().splitlines()[0][:300]
        finally:
            if block_dim is not None:
                wp.set_module_options({"block_dim": saved}, module=wmod)
        for label in labels:
            result["kernels"][label] = {"ok": ok, "message": message, "block_dim": block_dim}
    return result


def child_main() -> None:
    proto = os.fdopen(os.dup(1), "w", encoding="utf-8", buffering=1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    from warp_synth.extract import warp_adapter as wa

    wa.init_warp()
    with tempfile.TemporaryDirectory(prefix="wsynth-oracle-") as workdir:
        for path in sys.argv[1:]:
            proto.write(json.dumps(check_file(path, workdir)) + "\n")


def check_files(paths: list[str], timeout: float = 600.0) -> dict[str, dict[str, Any]]:
    """Run the check for each file in its own child; results keyed by absolute path."""
    out: dict[str, dict[str, Any]] = {}
    for path in paths:
        path = os.path.abspath(path)
        with tempfile.TemporaryDirectory(prefix="wsynth-oracle-cache-") as cache:
            env = user_environment() | {"WARP_CACHE_PATH": cache}
            proc = run_child([sys.executable, "-c", _CHILD_CODE, path], workdir=os.path.dirname(path), env=env,
                             timeout=timeout)
            if proc.timed_out:
                out[path] = {"file": path, "error": "timeout", "kernels": {}}
                continue
            lines = [ln for ln in proc.stdout.decode("utf-8", "replace").splitlines() if ln.strip()]
            out[path] = (
                json.loads(lines[-1])
                if lines
                else {"file": path, "error": f"crashed (status {proc.returncode})", "kernels": {}}
            )
    return out


def compare(paths: list[str], *, workers: int = 2, timeout: float = 60.0) -> dict[str, Any]:
    """Run ``synth mine``'s pipeline (writing nothing) and this check over ``paths``; per file,
    the kernels Warp compiles and the kernels mined."""
    files, _ = discover(paths)
    reports = mine(files, options=mining_options(workers), timeout=timeout).reports
    warp = check_files([f.path for f in files])
    table: dict[str, Any] = {}
    for rep in reports:
        w = warp[rep.file.path]
        compiles = sorted(k for k, v in w["kernels"].items() if v["ok"])
        mined = sorted(k.name for k in rep.kernels if k.mined)
        table[rep.file.display] = {
            "importable": w["error"] is None,
            "kernels": len(rep.kernels),
            "warp_compiles": compiles,
            "mined": mined,
            "skipped": {
                k.name: f"{k.reason}: {k.message.splitlines()[0] if k.message else ''}"
                for k in rep.kernels
                if not k.mined
            },
            "warp_failures": {k: v["message"] for k, v in w["kernels"].items() if not v["ok"]},
        }
    return table


def main() -> None:
    args = sys.argv[1:]
    if args and args[0] == "--compare":
        table = compare(args[1:])
        totals = {
            "files": len(table),
            "importable": 0,
            "kernels": 0,
            "warp_compiles": 0,
            "mined": 0,
            "mined_and_compiles": 0,
        }
        for name, row in table.items():
            both = set(row["mined"]) & set(row["warp_compiles"])
            totals["importable"] += row["importable"]
            totals["kernels"] += row["kernels"]
            totals["warp_compiles"] += len(row["warp_compiles"])
            totals["mined"] += len(row["mined"])
            totals["mined_and_compiles"] += len(both)
            flag = "" if set(row["mined"]) == set(row["warp_compiles"]) else "  MISMATCH"
            print(
                f"{name}: {row['kernels']} kernels, Warp compiles {len(row['warp_compiles'])}, "
                f"mined {len(row['mined'])}{flag}"
            )
            for k, why in row["skipped"].items():
                print(f"  skipped {k}: {why}")
            for k, why in row["warp_failures"].items():
                print(f"  Warp fails {k}: {why}")
        print(json.dumps(totals))
        return
    for result in check_files(args).values():
        print(json.dumps(result))


if __name__ == "__main__":
    main()
