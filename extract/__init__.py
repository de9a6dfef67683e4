"""Everything that touches Warp: the static screen, isolated extraction workers and their
executors, codegen and the compilers, re-derivation (``synth verify``) and mining.

This module is the folder's face: ``synth/`` and ``eval/`` import from here, never from the
engine's pool or the Warp adapter directly.  Importing it does not import Warp.

    with Extractor(ExtractOptions(workers=2)) as ex:
        outcomes = ex.extract([Unit("k1", source), ...])   # one Outcome per unit, in order
"""

from __future__ import annotations

from warp_synth.extract import lto_cache, sandbox
from warp_synth.extract.engine import CUDA_CHECKS, ExtractOptions, Extractor, MicroBatcher, verified_by
from warp_synth.extract.executors.local import WorkerStartError
from warp_synth.extract.lto_cache import MATHDX_BUILTINS


def kernel_builtin_names() -> list[str]:
    """Warp's kernel builtins (imports Warp, through the one adapter module)."""
    from warp_synth.extract.warp_adapter import kernel_builtin_names as names

    return names()


__all__ = ["CUDA_CHECKS", "MATHDX_BUILTINS", "ExtractOptions", "Extractor", "MicroBatcher", "WorkerStartError",
           "kernel_builtin_names", "lto_cache", "sandbox", "verified_by"]
