"""Coverage guidance for the LLM chats: what accepted kernels used, and what to ask for next.

``Coverage`` counts, per axis (builtins, dtypes, features), how many accepted kernels used each
name, read by ``warp_synth.usage.scan``: the same scanner and vocabulary ``synth eval`` reports
with, so "uncovered" here means what the report would show as unused.  ``suggest`` samples the
least-used names (uncovered ones first) into a ``CoverageHint`` for the next diversify prompt.

The universes: builtins are Warp's registry filtered by ``suggestible_builtins``; dtypes and
features are ``warp_synth.usage.DTYPE_NAMES`` and ``FEATURES``.  ``Coverage`` is thread-safe
and round-trips through ``to_dict`` / ``from_dict`` (the run's state file).
"""

from __future__ import annotations

import random
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from warp_synth.usage import DTYPE_NAMES, FEATURES, Usage, scan

AXES: tuple[str, ...] = ("builtins", "dtypes", "features")

# Builtins never worth suggesting: they need scene objects (meshes, volumes, ...) a standalone
# kernel cannot get, are operators or type constructors (the scanner counts them, but a prompt
# need not ask for them), or are plumbing/debugging.
_UNSUGGESTED_PREFIXES = (
    "mesh_",
    "bvh_",
    "volume_",
    "hash_grid_",
    "texture_",
    "tile_bvh_",
    "tile_mesh_",
    "dense_",
)
_UNSUGGESTED = frozenset(
    {
        "add", "sub", "mul", "div", "floordiv", "mod", "pow", "neg", "pos", "bit_and", "bit_or", "bit_xor",
        "lshift", "rshift", "invert", "unot", "address", "array", "array_store", "assign", "assign_copy",
        "assign_inplace", "index", "indexref", "iter_next", "load", "store", "extract", "view", "static",
        "copy", "breakpoint", "expect_eq", "expect_near", "expect_neq", "print", "printf", "tid", "range",
        "reversed", "len", "tuple", "slice", "zeros", "float", "int", "bool", "bfloat16", "float16",
        "float32", "float64", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
        "vector", "matrix", "quaternion", "transformation", "spatial_vector", "tile", "untile",
        "lower_bound", "closest_point_edge_edge", "intersect_tri_tri", "block_dim", "cast",
    }
)  # fmt: skip

# Feature names of state files written before the vocabulary was merged with eval's.
_LEGACY_FEATURES = {"wp_func": "wp_func_call"}


def suggestible_builtins(names: Iterable[str]) -> list[str]:
    """Filter Warp's builtin registry down to builtins a standalone kernel can sensibly use."""
    return sorted(
        {
            n
            for n in names
            if n not in _UNSUGGESTED
            and not n.startswith(_UNSUGGESTED_PREFIXES)
            and not n.endswith("_inplace")
        }
    )


@dataclass(slots=True, frozen=True)
class CoverageHint:
    """What one prompt should nudge the model towards."""

    builtins: tuple[str, ...] = ()
    dtypes: tuple[str, ...] = ()
    features: tuple[str, ...] = ()


@dataclass(slots=True)
class Coverage:
    """Counts of builtins, dtypes and features seen in accepted kernels; thread-safe.

    Build it with ``Coverage.create(kernel_builtin_names())`` so unusable builtins are dropped.
    """

    builtins: tuple[str, ...]
    dtypes: tuple[str, ...] = DTYPE_NAMES
    features: tuple[str, ...] = FEATURES
    counts: dict[str, dict[str, int]] = field(default_factory=dict)
    kernels_seen: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def __post_init__(self) -> None:
        for axis in AXES:
            self.counts.setdefault(axis, {})

    @classmethod
    def create(cls, builtin_names: Iterable[str]) -> Coverage:
        return cls(builtins=tuple(suggestible_builtins(builtin_names)))

    def universe(self, axis: str) -> tuple[str, ...]:
        if axis not in AXES:
            raise ValueError(f"unknown coverage axis {axis!r}; expected one of {AXES}")
        return getattr(self, axis)

    def observe(self, source: str) -> Usage:
        """Count what an accepted kernel module uses (names outside the universes are ignored)."""
        usage = scan(source)
        with self._lock:
            self.kernels_seen += 1
            for axis in AXES:
                known = set(self.universe(axis))
                bucket = self.counts[axis]
                for name in getattr(usage, axis):
                    if name in known:
                        bucket[name] = bucket.get(name, 0) + 1
        return usage

    def uncovered(self, axis: str) -> list[str]:
        """Names of ``axis`` no accepted kernel has used yet, in universe order."""
        with self._lock:
            seen = self.counts[axis]
            return [n for n in self.universe(axis) if not seen.get(n)]

    def suggest(
        self, rng: random.Random, *, builtins: int = 4, dtypes: int = 2, features: int = 2
    ) -> CoverageHint:
        """Sample a few of the least-used names per axis (uncovered ones first), rng-driven."""
        return CoverageHint(
            builtins=self._least_used("builtins", builtins, rng),
            dtypes=self._least_used("dtypes", dtypes, rng),
            features=self._least_used("features", features, rng),
        )

    def _least_used(self, axis: str, k: int, rng: random.Random) -> tuple[str, ...]:
        with self._lock:
            seen = self.counts[axis]
            by_count: dict[int, list[str]] = {}
            for name in self.universe(axis):
                by_count.setdefault(seen.get(name, 0), []).append(name)
        picked: list[str] = []
        for count in sorted(by_count):
            if len(picked) >= k:
                break
            group = by_count[count]
            picked.extend(rng.sample(group, min(len(group), k - len(picked))))
        return tuple(picked)

    def summary(self) -> dict[str, dict[str, int]]:
        """Covered/total per axis, for stats.json."""
        with self._lock:
            return {
                axis: {
                    "covered": sum(1 for n in self.universe(axis) if self.counts[axis].get(n)),
                    "total": len(self.universe(axis)),
                }
                for axis in AXES
            }

    def to_dict(self) -> dict[str, Any]:
        with self._lock:
            return {
                "builtins": list(self.builtins),
                "dtypes": list(self.dtypes),
                "features": list(self.features),
                "counts": {axis: dict(sorted(self.counts[axis].items())) for axis in AXES},
                "kernels_seen": self.kernels_seen,
            }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], builtins: Iterable[str] | None = None) -> Coverage:
        """Restore a saved tracker; ``builtins`` replaces the saved universe (e.g. after a Warp upgrade).

        Saved dtype and feature universes keep their order but lose names the vocabulary
        (``warp_synth.usage``) no longer has; feature names of older state files are renamed.
        """
        universe = tuple(suggestible_builtins(builtins)) if builtins is not None else tuple(data["builtins"])
        saved = data.get("counts", {})
        counts = {axis: {str(k): int(v) for k, v in saved.get(axis, {}).items()} for axis in AXES}
        counts["features"] = {_LEGACY_FEATURES.get(k, k): v for k, v in counts["features"].items()}
        return cls(
            builtins=universe,
            dtypes=_known(data.get("dtypes"), DTYPE_NAMES),
            features=_known([_LEGACY_FEATURES.get(f, f) for f in data.get("features") or ()], FEATURES),
            counts=counts,
            kernels_seen=int(data.get("kernels_seen", 0)),
        )


def _known(saved: Iterable[str] | None, vocabulary: tuple[str, ...]) -> tuple[str, ...]:
    """The saved universe restricted to ``vocabulary`` (all of it when nothing usable was saved)."""
    names = tuple(dict.fromkeys(n for n in saved or () if n in vocabulary))
    return names or vocabulary
