"""Every compiled kernel runs: CPU execution with seeded test vectors, checks, and its adjoint
against central finite differences.

Runs inside the batch's sandbox, in a process of the unit's own (``extract.unit_runs``), from the
batch's own bounds-checked CPU object (``warp_adapter.run_from_object``: no second compile), with
Warp's public API (``wp.array``, ``wp.launch`` on ``"cpu"``).

Per kernel (``run_kernel``): inputs drawn from the signature (``extract.vectors.Draws``, seeded
per record), the forward launch twice (``nondeterministic`` if they differ), ``non_finite`` for
NaN/Inf in an output, ``trivial`` if no array changes or a second input draw gives the same
outputs, then the adjoint check (``gradcheck``).  Replays (``synth verify --execute``) run the
stored inputs once and return the outputs.
"""

from __future__ import annotations

import ast
import functools
import hashlib
from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.random  # noqa: F401  (imported here, in the zygote, not in every unit's process)
import warp as wp

from warp_synth.extract import geometry as geo
from warp_synth.extract import vectors as vec
from warp_synth.reasons import Reason

EXEC_DEADLINE_S = 20.0  # one unit's execution (every launch of every kernel)
MAX_ELEMENTS = 256  # elements per array
LAUNCH_EXTENT = {1: 64, 2: 16, 3: 6, 4: 4}  # per launch dimension count: the extent of every dimension
DIRECTIONS = 3  # finite-difference directions of the adjoint check
PERTURBED = 4  # elements of each input array a direction moves
GRAD = {"float32": {"eps": 1e-3, "atol": 1e-3, "rtol": 2e-2}, "float64": {"eps": 1e-6, "atol": 1e-8, "rtol": 1e-6}}
# builtins whose adjoint is zero or undefined almost everywhere, or that draw random numbers
NON_DIFFERENTIABLE = frozenset({
    "floor", "ceil", "round", "rint", "trunc", "frac", "sign", "step", "nonzero", "mod", "floordiv",
    "rand_init", "randi", "randu", "randf", "randn", "noise", "pnoise", "curlnoise", "poisson", "sample_cdf",
    "sample_triangle", "sample_unit_ring", "sample_unit_disk", "sample_unit_sphere_surface", "sample_unit_sphere",
    "sample_unit_hemisphere_surface", "sample_unit_hemisphere", "sample_unit_square", "sample_unit_cube",
    "atomic_min", "atomic_max", "atomic_exch", "atomic_cas", "bit_and", "bit_or", "bit_xor", "lshift", "rshift",
    "invert", "argmin", "argmax", "tile_argmin", "tile_argmax", "tile_sort",
    # a mesh's face normal and hit tests: constant between the jumps where the closest face or the hit changes
    "mesh_eval_face_normal", "mesh_query_ray_anyhit", "mesh_query_ray_count_intersections",
    # values written into a volume's voxels: no adjoint flows through them to what is read back
    "volume_store", "volume_store_f", "volume_store_i", "volume_store_v",
    # Warp 1.19's adjoint of the furthest-point query reuses the closest point's (native/mesh.h, marked Todo)
    "mesh_query_furthest_point_no_sign",
})
# tile builtins Warp registers without an adjoint that only make constants (no input flows through them)
TILE_CONSTRUCTORS = frozenset({"tile_zeros", "tile_ones", "tile_full", "tile_arange", "tile_empty"})
# the grad of a kernel whose backward launch killed its process (the forward passed): the parent
# completes the reason with how it died (e.g. Warp's bounds check on an adjoint array's shape)
ADJOINT_DIED = "the backward launch killed its process"


class Failure(Exception):
    def __init__(self, reason: Reason, message: str) -> None:
        super().__init__(message)
        self.reason, self.message = reason, message


def record_seed(key: str) -> int:
    """A record's execution seed: from its key (the record id), so a run's draws are reproducible."""
    return int.from_bytes(hashlib.sha256(key.encode("utf-8")).digest()[:4], "little")


def launch_arity(source: str, kernel_name: str) -> int:
    """How many indices the kernel's ``wp.tid()`` returns (its launch's dimension count)."""
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.FunctionDef) and node.name == kernel_name:
            for st in ast.walk(node):
                if (isinstance(st, ast.Assign) and isinstance(st.value, ast.Call)
                        and isinstance(st.value.func, ast.Attribute) and st.value.func.attr == "tid"):
                    target = st.targets[0]
                    return len(target.elts) if isinstance(target, ast.Tuple) else 1
    return 1


class Kernel:
    """One kernel's launches: parameters, shapes and the values of one draw."""

    def __init__(self, wa: Any, kernel: Any, source: str, block_dim: int, builtins: set[str],
                 adjoint_notes: list[str] | None = None) -> None:
        self.adjoint_notes = adjoint_notes or []
        self.wa, self.kernel, self.block_dim = wa, kernel, block_dim
        self.params = wa.kernel_params(kernel)
        # tile builtins, and the deprecated *_tiled spellings of the tiled BVH/mesh queries
        self.tiled = any(b.startswith("tile") or b.endswith("_tiled") for b in builtins)
        arity = launch_arity(source, kernel.func.__name__)
        arity = max(1, arity - 1) if self.tiled else arity  # launch_tiled adds the block's lane
        ndims = [t.ndim for _, t in self.params if wp.types.is_array(t)]
        extent = LAUNCH_EXTENT.get(arity, 4)
        for nd in ndims:
            extent = min(extent, int(round(MAX_ELEMENTS ** (1.0 / nd))))
        self.extent = max(2, extent)
        self.dim = (self.extent,) * arity
        self.builtins = builtins
        self._arrays: dict[tuple[int, bool], Any] = {}
        self.geometry = geo.Objects(geo.kinds(source, kernel.func.__name__, self.params))  # mesh/BVH/hash grid ids
        for name, t in self.params:
            if wp.types.is_array(t) and type(t).__name__ != "array":
                raise vec.UnsupportedParameter(f"parameter {name!r} ({wp.types.type_repr(t)}) is not executed yet")
            if wp.types.is_array(t) and wp.types.type_is_struct(t.dtype):
                for fname, ft in wa.struct_fields(t.dtype).items():
                    if wp.types.is_array(ft) or wp.types.type_is_struct(ft):
                        raise vec.UnsupportedParameter(f"parameter {name!r}: field {fname!r} of an array's struct "
                                                       "is an array or a struct (not executed yet)")

    def shape(self, t: Any) -> tuple[int, ...]:
        return (self.extent,) * t.ndim

    # -- values: numpy arrays for array parameters, Python/Warp values for the rest
    def draw(self, seed: int) -> list[Any]:
        d = vec.Draws(seed, self.extent)
        out = []
        for i, (_, t) in enumerate(self.params):
            if i in self.geometry.specs:
                out.append(geo.draw(self.geometry.specs[i], self.params, d.rng, self.extent))
            elif wp.types.is_array(t) and wp.types.type_is_struct(t.dtype):
                arr = np.zeros(self.shape(t), dtype=t.dtype.numpy_dtype())
                for fname, ft in self.wa.struct_fields(t.dtype).items():
                    arr[fname] = d.elements(ft, self.shape(t))
                out.append(arr)
            elif wp.types.is_array(t):
                out.append(d.elements(t.dtype, self.shape(t)))
            elif wp.types.type_is_struct(t):
                out.append({n: (d.elements(ft.dtype, (self.extent,)) if wp.types.is_array(ft) else d.value(ft))
                            for n, ft in self.wa.struct_fields(t).items()})
            else:
                out.append(d.value(t))
        return out

    def _array(self, slot: tuple[int, bool], t: Any, v: Any) -> Any:
        """The launch's array for parameter ``slot`` (index, adjoint?), made once and refilled with ``v``."""
        arr = self._arrays.get(slot)
        if arr is None:
            arr = self._arrays[slot] = wp.array(np.array(v), dtype=t.dtype, device="cpu")
        else:
            arr.numpy()[...] = v  # a CPU array's numpy() is a view of its memory
        return arr

    def _arg(self, i: int, t: Any, v: Any) -> Any:
        if wp.types.is_array(t):
            return self._array((i, False), t, v)
        if wp.types.type_is_struct(t):
            s = t()
            fields = self.wa.struct_fields(t)
            for n, fv in v.items():
                setattr(s, n, wp.array(fv, dtype=fields[n].dtype, device="cpu") if wp.types.is_array(fields[n]) else fv)
            return s
        return v

    def launch(self, values: list[Any], adj: list[Any] | None = None) -> list[np.ndarray | None]:
        """Launch on ``values``; copies of the array parameters' contents after (or of their adjoints)."""
        args = [self._arg(i, t, v) for i, ((_, t), v) in enumerate(zip(self.params, values, strict=True))]
        self.geometry.bind(values, args)
        kw: dict[str, Any] = {"device": "cpu", "block_dim": self.block_dim}
        if adj is not None:
            adj_args = [self._array((i, True), t, a) if a is not None else (t() if wp.types.type_is_struct(t) else None)
                        for i, ((_, t), a) in enumerate(zip(self.params, adj, strict=True))]
            for arr, g in zip(args, adj_args, strict=True):
                if isinstance(arr, wp.array) and isinstance(g, wp.array):
                    arr.grad = g  # tile adjoints accumulate into the array's own gradient, as under wp.Tape
            kw.update(adj_inputs=adj_args, adjoint=True)
        if self.tiled:
            wp.launch_tiled(self.kernel, dim=self.dim, inputs=args, **kw)
        else:
            wp.launch(self.kernel, dim=self.dim, inputs=args, **kw)
        src = adj_args if adj is not None else args
        return [a.numpy().copy() if isinstance(a, wp.array) else None for a in src]

    def _encode_array(self, t: Any, v: np.ndarray) -> dict[str, Any]:
        if not wp.types.type_is_struct(t.dtype):
            return vec.encode_array(t.dtype, v, self.shape(t))
        fields = self.wa.struct_fields(t.dtype)
        return {"dtype": "struct", "struct": t.dtype.cls.__name__, "shape": list(self.shape(t)),
                "fields": {n: vec.encode_array(ft, v[n], self.shape(t)) for n, ft in fields.items()}}

    def _decode_array(self, t: Any, d: dict[str, Any]) -> np.ndarray:
        if not wp.types.type_is_struct(t.dtype):
            return vec.decode_array(d)[1]
        arr = np.zeros(tuple(d["shape"]), dtype=t.dtype.numpy_dtype())
        for n, fd in d["fields"].items():
            arr[n] = vec.decode_array(fd)[1]
        return arr

    def encode_inputs(self, values: list[Any]) -> dict[str, Any]:
        out = {}
        for i, ((name, t), v) in enumerate(zip(self.params, values, strict=True)):
            if i in self.geometry.specs:
                out[name] = geo.encode(v)
            elif wp.types.is_array(t):
                out[name] = self._encode_array(t, v)
            elif wp.types.type_is_struct(t):
                fields = self.wa.struct_fields(t)
                out[name] = {"dtype": "struct", "struct": t.cls.__name__, "fields": {
                    n: vec.encode_array(fields[n].dtype, fv, fv.shape[:fields[n].ndim]) if wp.types.is_array(fields[n])
                    else vec.encode_value(fields[n], fv) for n, fv in v.items()}}
            else:
                out[name] = vec.encode_value(t, v)
        return out

    def decode_inputs(self, stored: dict[str, Any]) -> list[Any]:
        values = []
        for i, (name, t) in enumerate(self.params):
            d = stored[name]
            if i in self.geometry.specs:
                values.append(geo.decode(d))
            elif wp.types.is_array(t):
                values.append(self._decode_array(t, d))
            elif wp.types.type_is_struct(t):
                fields = self.wa.struct_fields(t)
                values.append({n: vec.decode_array(fd)[1] if "data" in fd else vec.decode_value(fd)
                               for n, fd in d["fields"].items() if n in fields})
            else:
                values.append(vec.decode_value(d))
        return values

    def encode_outputs(self, arrays: list[np.ndarray | None]) -> dict[str, Any]:
        return {name: self._encode_array(t, a) for (name, t), a in zip(self.params, arrays, strict=True)
                if a is not None}

    def describe(self) -> str:
        shapes = ", ".join(f"{n} {_type_name(t.dtype)}{list(self.shape(t))}" for n, t in self.params
                           if wp.types.is_array(t))
        return f"launched with dim={list(self.dim)} on arrays {shapes or '(none)'}"


def _type_name(t: Any) -> str:
    return t.cls.__name__ if wp.types.type_is_struct(t) else vec.dtype_name(t)


def _eq(a: np.ndarray | None, b: np.ndarray | None) -> bool:
    if a is None or b is None:
        return a is b
    if a.dtype.kind == "V":  # an array of structs: field by field (padding bytes between fields are not data)
        return a.shape == b.shape and all(_eq(a[n], b[n]) for n in a.dtype.names or ())
    return bool(np.array_equal(a, b, equal_nan=True))


def _floats(a: np.ndarray) -> list[np.ndarray]:
    if a.dtype.kind == "V":
        return [a[n] for n in a.dtype.names or () if a[n].dtype.kind == "f"]
    return [a] if a.dtype.kind == "f" else []


def _same(a: list[np.ndarray | None], b: list[np.ndarray | None]) -> bool:
    return all(x is None or _eq(x, y) for x, y in zip(a, b, strict=True))


def run_kernel(k: Kernel, seed: int, mark: Callable[[str], None],
               partial: Callable[[dict[str, Any]], None] | None = None) -> dict[str, Any]:
    """Execute one kernel; its record's ``execution`` object, or ``Failure``."""
    x = k.draw(seed)
    mark("forward")
    before = [np.array(v) if wp.types.is_array(t) else None for (_, t), v in zip(k.params, x, strict=True)]
    first = k.launch(x)
    mark("repeat")
    if not _same(first, k.launch(x)):
        raise Failure(Reason.NONDETERMINISTIC, f"two launches on the same inputs gave different outputs ({k.describe()})")
    changed = [i for i, (a, b) in enumerate(zip(first, before, strict=True)) if a is not None and not _eq(a, b)]
    names = [n for n, _ in k.params]
    for i in changed:
        for a in _floats(first[i]):  # type: ignore[arg-type]
            if np.isfinite(a).all():
                continue
            bad = int(np.argmin(np.isfinite(a).ravel()))
            raise Failure(Reason.NON_FINITE, f"the forward pass wrote {a.ravel()[bad]} into {names[i]!r} "
                          f"(flat index {bad}; inputs are finite, floats drawn from "
                          f"[{vec.FLOAT_RANGE[0]}, {vec.FLOAT_RANGE[1]}]); {k.describe()}")
    if not changed:
        raise Failure(Reason.TRIVIAL, f"the kernel writes nothing: no array changed ({k.describe()})")
    mark("second draw")
    x2 = k.draw(seed + 1)
    second = k.launch(x2)
    if all(_eq(first[i], second[i]) for i in changed):
        raise Failure(Reason.TRIVIAL, "the kernel ignores its inputs: two different input draws gave identical "
                      f"outputs in {', '.join(repr(names[i]) for i in changed)} ({k.describe()})")
    result = {"status": "passed", "seed": seed, "dim": list(k.dim), "inputs": k.encode_inputs(x),
              "outputs": k.encode_outputs(first), "grad": {"status": "failed", "reason": ADJOINT_DIED}}
    if partial is not None:  # the forward passed: if the adjoint kills the process, the run stands
        partial(result)
    mark("adjoint")
    result["grad"] = gradcheck(k, x, first, changed, seed)
    return result


@functools.cache
def _tiles_without_adjoint(wa: Any) -> frozenset[str]:
    """Tile builtins Warp registers with ``is_differentiable=False`` (``tile_max``, the scans, the
    triangular solves, ...): their backward pass gives zero, so a kernel's adjoint through them is not one."""
    return frozenset(n for n in wa.kernel_builtin_names(non_differentiable=True)
                     if n.startswith("tile_")) - TILE_CONSTRUCTORS


def gradcheck(k: Kernel, x: list[Any], out: list[np.ndarray | None], changed: list[int], seed: int) -> dict[str, Any]:
    """The backward pass against central finite differences of ``L = sum(w * outputs)`` along
    ``DIRECTIONS`` random directions, each moving ``PERTURBED`` elements of every float input array."""
    dtypes = {vec.scalar_type(t.dtype).__name__ for _, t in k.params
              if wp.types.is_array(t) and not wp.types.type_is_struct(t.dtype)}
    if "float16" in dtypes:
        return {"status": "skipped", "reason": "float16 arrays (too coarse for finite differences)"}
    blocked = sorted(k.builtins & (NON_DIFFERENTIABLE | _tiles_without_adjoint(k.wa)))
    if blocked:
        return {"status": "not_differentiable", "reason": "uses " + ", ".join(blocked)}
    if k.adjoint_notes:  # Warp's own codegen says so
        return {"status": "not_differentiable", "reason": "Warp: " + "; ".join(k.adjoint_notes)[:300]}
    is_f = [wp.types.is_array(t) and vec.is_float(t.dtype) for _, t in k.params]
    outs = [i for i in changed if is_f[i]]
    ins = [i for i, f in enumerate(is_f) if f and i not in changed]
    if not outs:
        return {"status": "not_differentiable", "reason": "no float array output"}
    if not ins:
        return {"status": "not_differentiable", "reason": "no float array input that the kernel leaves unchanged "
                "(an array it overwrites in place has no adjoint Warp supports: array overwrites)"}
    scalar = "float64" if all(vec.scalar_type(k.params[i][1].dtype) is wp.float64 for i in ins + outs) else "float32"
    tol = GRAD[scalar]
    rng = np.random.default_rng(seed + 2)
    w = {i: rng.normal(size=out[i].shape) for i in outs}  # type: ignore[union-attr]
    adj = [w[i].astype(out[i].dtype) if i in w else (np.zeros_like(np.array(x[i])) if is_f[i] else None)  # type: ignore[union-attr]
           for i in range(len(k.params))]
    g = k.launch(x, adj)

    def loss(values: list[Any]) -> tuple[float, list[np.ndarray]]:
        res = k.launch(values)
        outs_now = [res[i].astype(np.float64) for i in outs]  # type: ignore[union-attr]
        return float(sum((w[i] * o).sum() for i, o in zip(outs, outs_now, strict=True))), outs_now

    unit = 2.0 ** (-53 if scalar == "float64" else -24)
    worst_abs = worst_rel = 0.0
    passed = True
    for _ in range(DIRECTIONS):
        plus, minus = list(x), list(x)
        for i in ins:
            xi = np.array(x[i])
            flat = np.zeros(xi.size)
            m = min(PERTURBED, flat.size)
            flat[rng.choice(flat.size, size=m, replace=False)] = rng.normal(size=m)
            plus[i] = (xi + tol["eps"] * flat.reshape(xi.shape)).astype(xi.dtype)
            minus[i] = (xi - tol["eps"] * flat.reshape(xi.shape)).astype(xi.dtype)
        # the directional derivative along the step actually taken (inputs rounded to their type)
        ad = float(sum((g[i].astype(np.float64) * (plus[i].astype(np.float64) - minus[i])).sum()  # type: ignore[union-attr]
                       for i in ins)) / (2 * tol["eps"])
        (lp, op), (lm, om) = loss(plus), loss(minus)
        fd = (lp - lm) / (2 * tol["eps"])
        # rounding of the outputs that moved: a few units in the last place each, divided by the step
        noise = sum(float((np.abs(w[i]) * (np.abs(a) + np.abs(b)) * (a != b)).sum())
                    for i, a, b in zip(outs, op, om, strict=True)) * 4 * unit / (2 * tol["eps"])
        err = abs(ad - fd)
        scale = max(abs(ad), abs(fd))
        worst_abs = max(worst_abs, err)
        worst_rel = max(worst_rel, err / scale if scale > 0 else 0.0)
        passed = passed and err <= tol["atol"] + noise + tol["rtol"] * scale
    if not all(np.isfinite(g[i]).all() for i in ins):  # type: ignore[union-attr]
        passed = False
    return {"status": "passed" if passed else "failed", "max_abs_err": worst_abs, "max_rel_err": worst_rel,
            "eps": tol["eps"]}
