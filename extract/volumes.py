"""Volume ids for execution: ``wp.uint64`` kernel parameters that name a ``wp.Volume`` (NanoVDB grid), drawn as
real single-tile volumes built on the CPU in the unit's own (sandboxed) process (``extract.geometry`` finds
them; this module types, draws, stores and builds them).

A volume's value type is read from the builtins its id flows into (``value_type``): ``volume_*_f`` (and the
generic ``volume_sample``/``volume_lookup``/``volume_sample_grad`` with ``dtype=float``) a ``float32`` grid,
``*_i`` an ``int32`` grid, ``*_v`` a ``vec3f`` grid, ``volume_sample_index``/``volume_sample_grad_index``/
``volume_lookup_index`` an index grid (active voxels numbered 0..N-1, the data in a kernel array); the
transforms, ``volume_voxel_count`` and the generic ``volume_store`` take any grid (a ``float32`` one when nothing
else says).  Every volume builtin runs on the CPU (checked on Warp 1.19), so none is left ``not_executed``.

Stored form (``execution.inputs``): ``{"dtype": "volume", "type": "float32"|"int32"|"vec3f", "min": [x, y, z],
"max": [x, y, z], "voxel_size": v, "background": b, "field": <what was drawn>, "values": <8x8x8 array>}``, or
for an index grid ``{"dtype": "volume", "type": "index", "min", "max", "voxel_size", "voxels": <vec3i array>}``.
One 8^3 tile of voxels ``(i, j, k)`` at world ``min + voxel_size * (i, j, k)`` covers [0.25, 1]^3, where drawn
points lie; ``values[i, j, k]`` is voxel ``(i, j, k)``.  An index grid has at most as many active voxels as the
launch's extent (so a voxel's index reads a 1-d data array of the launch in range).

Building: ``wp.Volume.allocate_by_tiles`` (native on the CPU: no Warp kernel, which a sandboxed unit would
have to compile) makes the tile filled with the background; the values are then written into the tile's
voxels in the volume's own CPU buffer (``Volume.array()``), found as the one run of words that differs from a
twin allocated with another background.  They are rewritten before every launch (``volume_store_*`` writes
into the volume), so each launch starts from the stored values.
"""

from __future__ import annotations

import ast
from typing import Any

import numpy as np
import warp as wp

from warp_synth.extract import vectors as vec

TILE = 8  # voxels per axis: one NanoVDB leaf
TYPES = {"float32": (wp.float32, 1), "int32": (wp.int32, 1), "vec3f": (wp.vec3f, 3)}
VOXEL_SIZES = (0.15, 0.175, 0.2)
_DTYPE_KW = {"float": "float32", "float32": "float32", "int": "int32", "int32": "int32", "vec3": "vec3f",
             "vec3f": "vec3f"}
ANY = "any"


def call_type(call: ast.Call) -> str:
    """The grid type a ``wp.volume_*`` call needs of its first argument: a ``TYPES`` key, ``"index"`` or ``ANY``."""
    name = call.func.attr  # type: ignore[attr-defined]
    if name.endswith("_index") and name != "volume_world_to_index":
        return "index"
    for suffix, t in (("_f", "float32"), ("_i", "int32"), ("_v", "vec3f")):
        if name.endswith(suffix):
            return t
    if name in ("volume_sample", "volume_lookup", "volume_sample_grad"):
        for kw in call.keywords:
            if kw.arg == "dtype":
                spelled = ast.unparse(kw.value).removeprefix("wp.")
                return _DTYPE_KW.get(spelled, spelled)
    return ANY


def value_type(name: str, types: set[str]) -> str:
    """The one grid type the calls on parameter ``name`` agree on; ``vec.UnsupportedParameter`` otherwise."""
    known = types - {ANY}
    if len(known) > 1:
        raise vec.UnsupportedParameter(f"parameter {name!r} is used as volumes of types {', '.join(sorted(known))}")
    t = next(iter(known), "float32")
    if t != "index" and t not in TYPES:
        raise vec.UnsupportedParameter(f"parameter {name!r} is a {t} volume (only float32, int32, vec3f and index "
                                       "grids are drawn)")
    return t


# -- drawing ------------------------------------------------------------------------------------------------
def _centers(lo: np.ndarray, h: float) -> np.ndarray:
    ijk = np.stack(np.meshgrid(*(np.arange(TILE),) * 3, indexing="ij"), axis=-1)
    return lo + h * ijk


def draw(vtype: str, rng: np.random.Generator, extent: int) -> dict[str, Any]:
    h = float(rng.choice(VOXEL_SIZES))
    lo = np.round(rng.uniform(-0.05, 0.05, size=3), 3)
    out: dict[str, Any] = {"dtype": "volume", "type": vtype, "min": [float(x) for x in lo], "voxel_size": h}
    if vtype == "index":  # active voxels: a random subset of a 4^3 block, at most one per launch index
        o = int(rng.integers(1, 4))
        block = np.stack(np.meshgrid(*(np.arange(o, o + 4),) * 3, indexing="ij"), axis=-1).reshape(-1, 3)
        keep = np.sort(rng.choice(len(block), size=min(extent, len(block)), replace=False))
        return {**out, "voxels": block[keep].astype(np.int32)}
    p = _centers(lo, h)
    if vtype == "int32":  # labels in [0, extent): a value read indexes a launch array in range
        return {**out, "background": 0, "field": "labels",
                "values": rng.integers(0, extent, size=(TILE,) * 3).astype(np.int32)}
    if vtype == "vec3f":  # a swirl about a drawn axis plus a uniform drift
        axis = rng.normal(size=3)
        axis /= np.linalg.norm(axis)
        c = rng.uniform(0.5, 0.75, size=3)
        vel = np.cross(axis, p - c) * rng.uniform(0.5, 2.0) + rng.uniform(-0.3, 0.3, size=3)
        return {**out, "background": [0.0, 0.0, 0.0], "field": "swirl", "values": vel.astype(np.float32)}
    field = str(rng.choice(["sphere_sdf", "sphere_sdf", "box_sdf", "waves"]))
    c = rng.uniform(0.5, 0.75, size=3)
    if field == "sphere_sdf":
        val = np.linalg.norm(p - c, axis=-1) - rng.uniform(0.2, 0.35)
    elif field == "box_sdf":
        q = np.abs(p - c) - rng.uniform(0.15, 0.3, size=3)
        val = np.linalg.norm(np.maximum(q, 0.0), axis=-1) + np.minimum(q.max(axis=-1), 0.0)
    else:  # a smooth density in (0, 1)
        k = rng.uniform(2.0, 6.0, size=(2, 3))
        val = 0.5 + 0.25 * np.sin(p @ k[0] + rng.uniform(0, 6.28)) + 0.2 * np.cos(p @ k[1])
    bg = round(float(rng.uniform(0.25, 1.0)), 3)
    return {**out, "background": bg, "field": field, "values": val.astype(np.float32)}


def upper(v: dict[str, Any]) -> list[float]:
    return [round(x + v["voxel_size"] * (TILE - 1), 6) for x in v["min"]]


def encode(v: dict[str, Any]) -> dict[str, Any]:
    out = {k: v[k] for k in ("dtype", "type", "min") if k in v}
    out.update(max=upper(v), voxel_size=v["voxel_size"])
    if v["type"] == "index":
        return {**out, "voxels": vec.encode_array(wp.vec3i, v["voxels"], (len(v["voxels"]),))}
    t = TYPES[v["type"]][0]
    return {**out, "background": v["background"], "field": v["field"],
            "values": vec.encode_array(t, v["values"], (TILE,) * 3)}


def decode(d: dict[str, Any]) -> dict[str, Any]:
    vtype = str(d["type"])
    out: dict[str, Any] = {"dtype": "volume", "type": vtype, "min": [float(x) for x in d["min"]],
                           "voxel_size": float(d["voxel_size"])}
    if vtype == "index":
        return {**out, "voxels": np.asarray(vec.decode_array(d["voxels"])[1], dtype=np.int32).reshape(-1, 3)}
    if vtype not in TYPES:
        raise ValueError(f"not a stored volume type: {vtype!r}")
    bg = d["background"]
    bg = int(bg) if vtype == "int32" else [float(x) for x in bg] if vtype == "vec3f" else float(bg)
    values = np.asarray(vec.decode_array(d["values"])[1]).reshape((TILE,) * 3 + ((3,) if vtype == "vec3f" else ()))
    return {**out, "background": bg, "field": str(d.get("field", "")), "values": values}


# -- building -----------------------------------------------------------------------------------------------
def _bg(vtype: str, value: Any) -> Any:
    return wp.vec3f(*value) if vtype == "vec3f" else value


class Built:
    """One volume on the CPU and where its tile's values live in its buffer."""

    def __init__(self, v: dict[str, Any]) -> None:
        self.v = v
        h, lo = v["voxel_size"], tuple(v["min"])
        if v["type"] == "index":
            self.points = wp.array(v["voxels"], dtype=wp.vec3i, device="cpu")
            self.volume = wp.Volume.allocate_by_voxels(self.points, voxel_size=h, translation=lo, device="cpu")
            self.start = -1
            return
        t, comps = TYPES[v["type"]]
        tiles = wp.array(np.zeros((1, 3), dtype=np.int32), dtype=wp.int32, device="cpu")
        bg = v["background"]
        other = [x + 1.0 for x in bg] if v["type"] == "vec3f" else bg + 1
        self.volume = wp.Volume.allocate_by_tiles(tiles, voxel_size=h, bg_value=_bg(v["type"], bg),
                                                  translation=lo, device="cpu")
        twin = wp.Volume.allocate_by_tiles(tiles, voxel_size=h, bg_value=_bg(v["type"], other),
                                           translation=lo, device="cpu")
        a = self.volume.array().numpy().view(np.uint32)
        b = twin.array().numpy().view(np.uint32)
        n = TILE**3 * comps
        diff = np.flatnonzero(a != b) if a.shape == b.shape else np.zeros(0, dtype=np.int64)
        runs = np.split(diff, np.flatnonzero(np.diff(diff) != 1) + 1) if diff.size else []
        long = [r for r in runs if len(r) >= n]
        if self.volume.dtype is not t or len(long) != 1:
            raise vec.UnsupportedParameter(f"could not lay out a {v['type']} volume's voxels (Warp's volume layout)")
        self.start = int(long[0][-1]) + 1 - n  # the run's last n words: the leaf's values, voxel (i, j, k) at i*64+j*8+k
        self.payload = np.ascontiguousarray(np.asarray(v["values"], dtype=np.int32 if comps == 1 and t is wp.int32
                                                       else np.float32)).view(np.uint32).ravel()
        if self.payload.size != n:
            raise vec.UnsupportedParameter(f"a stored volume has {self.payload.size} values, not {n}")

    def reset(self) -> None:
        """Write the stored values into the volume (undoing a previous launch's ``volume_store_*``)."""
        if self.start >= 0:
            words = self.volume.array().numpy().view(np.uint32)  # a CPU array's numpy() is a view of its memory
            words[self.start:self.start + self.payload.size] = self.payload
