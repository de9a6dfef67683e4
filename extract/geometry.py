"""Geometry ids for execution: ``wp.uint64`` kernel parameters that name a ``wp.Mesh``, ``wp.Bvh`` or
``wp.HashGrid``, drawn as real objects built on the CPU in the unit's own (sandboxed) process.

Which object a parameter names is read from the kernel's source (``kinds``): the builtin family of the
calls it is the first argument of (``mesh_*``, ``bvh_*``, ``hash_grid_*``), directly or through the
parameters of ``@wp.func`` helpers of the module.  A hash grid is built, before every launch, from the
launch's own point array (the ``wp.vec3`` array parameter indexed by the neighbour loop's variable);
meshes and BVHs are drawn from the execution seed (``draw``).  Stored forms (``execution.inputs``):

* ``{"dtype": "mesh", "shape": "box"|"sphere"|"heightfield", "points": <vec3f array>, "indices": <int32 array>}``,
  plus ``"velocities": <vec3f array>`` (a rigid motion's per-vertex velocities) when the kernel reads them
  (``mesh_eval_velocity``, ``.velocities``) and ``"groups": <int32 array>`` (per face) when it asks for group roots
* ``{"dtype": "bvh", "lowers": <vec3f array>, "uppers": <vec3f array>}``, plus ``"groups": <int32 array>`` (per
  item) when the kernel calls ``bvh_get_group_root``
* ``{"dtype": "hash_grid", "points_param": <name>, "dim": [x, y, z], "radius": r}``
* ``{"dtype": "volume", "type": ..., ...}``: a ``wp.Volume`` (``volume_*`` builtins), see ``extract.volumes``

Shapes stay inside [0.25, 1]^3, where drawn points lie; a mesh has at most 48 faces and a BVH as many items
as the launch's extent, so a face or item index read back indexes any 1-d array of the launch in range.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from typing import Any

import numpy as np
import warp as wp

from warp_synth.extract import vectors as vec
from warp_synth.extract import volumes as vol

PREFIXES = (("hash_grid_", "hash_grid"), ("mesh_", "mesh"), ("bvh_", "bvh"), ("tile_mesh_", "mesh"),
            ("tile_bvh_", "bvh"), ("volume_", "volume"))
GRID_DIMS = (4, 8, 16)
GROUPS = 4  # a grouped mesh's or BVH's groups are 0 .. GROUPS - 1


@dataclass(frozen=True, slots=True)
class Spec:
    kind: str  # "mesh" | "bvh" | "hash_grid" | "volume"
    points: int = -1  # hash_grid: the index of the parameter whose points build it
    vtype: str = ""  # volume: its grid type (``extract.volumes.TYPES`` key or "index")
    extras: frozenset[str] = frozenset()  # mesh: "velocities" and/or "groups"; bvh: "groups"


def _extras(tree: ast.Module, kind: str) -> frozenset[str]:
    """What a mesh or BVH is built with beyond its geometry: what the module's code reads from it."""
    calls = {n.func.attr for n in ast.walk(tree) if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute)}
    attrs = {n.attr for n in ast.walk(tree) if isinstance(n, ast.Attribute)}
    out = set()
    if kind == "mesh" and ("mesh_eval_velocity" in calls or "velocities" in attrs):
        out.add("velocities")
    if f"{kind}_get_group_root" in calls:
        out.add("groups")
    return frozenset(out)


def _kind(call: ast.Call) -> str | None:
    f = call.func
    if isinstance(f, ast.Attribute) and isinstance(f.value, ast.Name) and f.value.id == "wp":
        kind = next((k for p, k in PREFIXES if f.attr.startswith(p)), None)
        return f"volume:{vol.call_type(call)}" if kind == "volume" else kind
    return None


def _uses(fn: ast.FunctionDef, funcs: dict[str, dict[int, str]]) -> dict[str, set[str]]:
    """Parameter name -> the kinds of object it is used as in ``fn`` (``funcs``: helpers' known kinds)."""
    params = [a.arg for a in fn.args.args]
    out: dict[str, set[str]] = {}
    for node in ast.walk(fn):
        if not isinstance(node, ast.Call):
            continue
        kind = _kind(node)
        if kind and node.args and isinstance(node.args[0], ast.Name) and node.args[0].id in params:
            out.setdefault(node.args[0].id, set()).add(kind)
        elif isinstance(node.func, ast.Name) and node.func.id in funcs:
            for k, arg in enumerate(node.args):
                if isinstance(arg, ast.Name) and arg.id in params and k in funcs[node.func.id]:
                    out.setdefault(arg.id, set()).add(funcs[node.func.id][k])
    return out


def _merge(ks: set[str]) -> set[str]:
    """A helper parameter's kinds, its volume uses as one ``volume:<type>`` (``any`` given way to a known type)."""
    vols = {k for k in ks if k.startswith("volume:")}
    known = vols - {f"volume:{vol.ANY}"}
    return (ks - vols) | (known if known else vols)


def _grid_points(fn: ast.FunctionDef, grid: str, arrays: list[str]) -> str | None:
    """The point array a hash grid is built from: an array indexed by the neighbour loop's variable."""
    queries: set[str] = set()
    loopvars: set[str] = set()
    for node in ast.walk(fn):
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Call) and _kind(node.value) == "hash_grid":
            queries |= {t.id for t in node.targets if isinstance(t, ast.Name)}
    for node in ast.walk(fn):
        if isinstance(node, ast.For) and isinstance(node.target, ast.Name):
            it = node.iter
            if (isinstance(it, ast.Call) and _kind(it) == "hash_grid") or (isinstance(it, ast.Name) and it.id in queries):
                loopvars.add(node.target.id)
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "hash_grid_query_next"
                and len(node.args) > 1 and isinstance(node.args[1], ast.Name)):
            loopvars.add(node.args[1].id)
    for node in ast.walk(fn):
        if (isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name) and node.value.id in arrays
                and isinstance(node.slice, ast.Name) and node.slice.id in loopvars):
            return node.value.id
    return arrays[0] if arrays else None


def kinds(source: str, kernel_name: str, params: list[tuple[str, Any]]) -> dict[int, Spec]:
    """``{parameter index: Spec}`` for the kernel's ``wp.uint64`` parameters that name geometry objects;
    ``vec.UnsupportedParameter`` for one used as two kinds of object (or volumes of two types), or a hash grid
    with no ``vec3`` point array to build it from."""
    tree = ast.parse(source)
    defs = [n for n in tree.body if isinstance(n, ast.FunctionDef)]
    funcs: dict[str, dict[int, str]] = {}
    for _ in range(3):  # helpers calling helpers: a few rounds reach a fixed point
        for fn in defs:
            names = [a.arg for a in fn.args.args]
            used = _uses(fn, funcs)
            merged = {n: _merge(ks) for n, ks in used.items()}
            funcs[fn.name] = {k: next(iter(merged[n])) for k, n in enumerate(names) if len(merged.get(n, ())) == 1}
    kernel = next((fn for fn in defs if fn.name == kernel_name), None)
    if kernel is None:
        return {}
    used = _uses(kernel, funcs)
    out: dict[int, Spec] = {}
    for i, (name, t) in enumerate(params):
        ks = used.get(name)
        if not ks or t is not wp.uint64:
            continue
        vtypes = {k.partition(":")[2] for k in ks if k.startswith("volume:")}
        ks = {k.partition(":")[0] for k in ks}
        if len(ks) > 1:
            raise vec.UnsupportedParameter(f"parameter {name!r} is used as a {' and a '.join(sorted(ks))} id")
        kind = next(iter(ks))
        if kind == "volume":
            out[i] = Spec(kind, vtype=vol.value_type(name, vtypes))
            continue
        if kind == "hash_grid":
            arrays = [n for n, at in params if wp.types.is_array(at) and at.ndim == 1
                      and wp.types.type_is_vector(at.dtype) and at.dtype._length_ == 3]
            pts = _grid_points(kernel, name, arrays)
            if pts is None:
                raise vec.UnsupportedParameter(f"parameter {name!r} is a hash grid id, and no 1-d vec3 array "
                                               "parameter holds the points to build it from")
            out[i] = Spec(kind, [n for n, _ in params].index(pts))
        else:
            out[i] = Spec(kind, extras=_extras(tree, kind))
    return out


# -- drawing ------------------------------------------------------------------------------------------------
def _rotation(rng: np.random.Generator) -> np.ndarray:
    q, r = np.linalg.qr(rng.normal(size=(3, 3)))
    q = q * np.sign(np.diag(r))
    return q if np.linalg.det(q) > 0 else -q


def _box(s: int) -> tuple[np.ndarray, list[tuple[int, int, int]]]:
    pts: list[np.ndarray] = []
    tris: list[tuple[int, int, int]] = []
    for axis in range(3):
        for side in (-1.0, 1.0):
            u, w = np.eye(3)[(axis + 1) % 3], np.eye(3)[(axis + 2) % 3]
            base = len(pts)
            for a in range(s + 1):
                for b in range(s + 1):
                    pts.append(np.eye(3)[axis] * side + u * (2 * a / s - 1) + w * (2 * b / s - 1))
            for a in range(s):
                for b in range(s):
                    k = base + a * (s + 1) + b
                    tris += [(k, k + s + 1, k + s + 2), (k, k + s + 2, k + 1)]
    return np.array(pts), tris


def _sphere(level: int) -> tuple[np.ndarray, list[tuple[int, int, int]]]:
    e = np.eye(3)
    pts = [e[0], -e[0], e[1], -e[1], e[2], -e[2]]
    tris = [(a, b, c) for a in (0, 1) for b in (2, 3) for c in (4, 5)]
    for _ in range(level):
        new: list[tuple[int, int, int]] = []
        for a, b, c in tris:
            mids = []
            for x, y in ((a, b), (b, c), (c, a)):
                m = pts[x] + pts[y]
                pts.append(m / np.linalg.norm(m))
                mids.append(len(pts) - 1)
            ab, bc, ca = mids
            new += [(a, ab, ca), (ab, b, bc), (ca, bc, c), (ab, bc, ca)]
        tris = new
    return np.array(pts), tris


def _heightfield(rng: np.random.Generator, n: int = 4) -> tuple[np.ndarray, list[tuple[int, int, int]]]:
    pts = [np.array([2 * a / n - 1, 2 * b / n - 1, rng.uniform(-0.3, 0.3)]) for a in range(n + 1) for b in range(n + 1)]
    tris = []
    for a in range(n):
        for b in range(n):
            k = a * (n + 1) + b
            tris += [(k, k + n + 1, k + n + 2), (k, k + n + 2, k + 1)]
    return np.array(pts), tris


def draw_mesh(rng: np.random.Generator, extras: frozenset[str] = frozenset()) -> dict[str, Any]:
    shape = str(rng.choice(["box", "box", "sphere", "heightfield"]))
    if shape == "box":
        pts, tris = _box(int(rng.integers(1, 3)))
    elif shape == "sphere":
        pts, tris = _sphere(int(rng.integers(0, 2)))
    else:
        pts, tris = _heightfield(rng)
    if shape != "heightfield":  # outward, counter-clockwise faces
        tris = [t if np.dot(np.cross(pts[t[1]] - pts[t[0]], pts[t[2]] - pts[t[0]]), pts[t[0]]) > 0
                else (t[0], t[2], t[1]) for t in tris]
    center = rng.uniform(0.55, 0.7, size=3)
    world = pts @ _rotation(rng).T * rng.uniform(0.2, 0.3) + center
    out = {"dtype": "mesh", "shape": shape, "points": world.astype(np.float32),
           "indices": np.array(tris, dtype=np.int32).ravel()}
    if "velocities" in extras:  # a rigid motion: a linear velocity plus a spin about the centre
        lin, spin = rng.uniform(-1.0, 1.0, size=3), rng.uniform(-2.0, 2.0, size=3)
        out["velocities"] = (lin + np.cross(spin, world - center)).astype(np.float32)
    if "groups" in extras:
        out["groups"] = rng.integers(0, GROUPS, size=len(tris)).astype(np.int32)
    return out


def draw_bvh(rng: np.random.Generator, n: int, extras: frozenset[str] = frozenset()) -> dict[str, Any]:
    c = rng.uniform(*vec.FLOAT_RANGE, size=(n, 3))
    h = rng.uniform(0.02, 0.15, size=(n, 3))
    out = {"dtype": "bvh", "lowers": (c - h).astype(np.float32), "uppers": (c + h).astype(np.float32)}
    if "groups" in extras:
        out["groups"] = rng.integers(0, GROUPS, size=n).astype(np.int32)
    return out


def draw(spec: Spec, params: list[tuple[str, Any]], rng: np.random.Generator, extent: int) -> dict[str, Any]:
    if spec.kind == "mesh":
        return draw_mesh(rng, spec.extras)
    if spec.kind == "bvh":
        return draw_bvh(rng, extent, spec.extras)
    if spec.kind == "volume":
        return vol.draw(spec.vtype, rng, extent)
    dim = [int(rng.choice(GRID_DIMS)) for _ in range(3)]
    return {"dtype": "hash_grid", "points_param": params[spec.points][0], "dim": dim,
            "radius": round(float(rng.uniform(0.1, 0.3)), 3)}


_ARRAYS = {"mesh": {"points": wp.vec3f, "indices": wp.int32, "velocities": wp.vec3f, "groups": wp.int32},
           "bvh": {"lowers": wp.vec3f, "uppers": wp.vec3f, "groups": wp.int32}}


def encode(v: dict[str, Any]) -> dict[str, Any]:
    if v["dtype"] in _ARRAYS:
        head = {"dtype": "mesh", "shape": v["shape"]} if v["dtype"] == "mesh" else {"dtype": "bvh"}
        return {**head, **{k: vec.encode_array(t, v[k], (len(v[k]),)) for k, t in _ARRAYS[v["dtype"]].items() if k in v}}
    if v["dtype"] == "volume":
        return vol.encode(v)
    return dict(v)


def decode(d: dict[str, Any]) -> dict[str, Any]:
    if d.get("dtype") in _ARRAYS:
        head = {"dtype": "mesh", "shape": d.get("shape", "")} if d["dtype"] == "mesh" else {"dtype": "bvh"}
        return {**head, **{k: vec.decode_array(d[k])[1] for k in _ARRAYS[d["dtype"]] if k in d}}
    if d.get("dtype") == "volume":
        return vol.decode(d)
    if d.get("dtype") == "hash_grid":
        return {"dtype": "hash_grid", "points_param": str(d["points_param"]), "dim": [int(x) for x in d["dim"]],
                "radius": float(d["radius"])}
    raise ValueError(f"not a stored geometry object: {d.get('dtype')!r}")


class Objects:
    """The launch's geometry objects, kept alive (with the arrays they point into) as long as the kernel is."""

    def __init__(self, specs: dict[int, Spec]) -> None:
        self.specs = specs
        self._built: dict[int, tuple[dict[str, Any], Any, list[Any]]] = {}  # id(value) -> (value, object, arrays)
        self._grids: dict[int, Any] = {}

    def _object(self, v: dict[str, Any]) -> Any:
        hit = self._built.get(id(v))
        if hit is not None and hit[0] is v:
            return hit[1]
        if v["dtype"] == "volume":
            built = vol.Built(v)
            obj, arrays = built, [built.volume]
        else:
            arr = {k: wp.array(v[k], dtype=t, device="cpu") for k, t in _ARRAYS[v["dtype"]].items() if k in v}
            arrays = list(arr.values())
            if v["dtype"] == "mesh":
                obj = wp.Mesh(points=arr["points"], indices=arr["indices"], velocities=arr.get("velocities"),
                              support_winding_number=True, groups=arr.get("groups"))
            else:
                obj = wp.Bvh(arr["lowers"], arr["uppers"], groups=arr.get("groups"))
        self._built[id(v)] = (v, obj, arrays)
        return obj

    def bind(self, values: list[Any], args: list[Any]) -> None:
        """Replace each geometry parameter's entry of ``args`` by its object's id; a hash grid is (re)built
        from its point array's current contents in ``args``."""
        for i, spec in self.specs.items():
            v = values[i]
            if spec.kind == "volume":
                built = self._object(v)
                built.reset()  # each launch starts from the stored voxels
                args[i] = built.volume.id
                continue
            if spec.kind != "hash_grid":
                args[i] = self._object(v).id
                continue
            pts = args[spec.points]
            grid = self._grids.get(i)
            if grid is None:
                grid = self._grids[i] = wp.HashGrid(*v["dim"], device="cpu", dtype=vec.scalar_type(pts.dtype))
            grid.build(pts, float(v["radius"]))
            args[i] = grid.id
