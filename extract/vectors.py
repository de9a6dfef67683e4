"""Test vectors: a kernel's inputs drawn from its signature, stored as plain JSON, rebuilt with
Warp's public API (``wp.array``, ``getattr(wp, dtype)``), and compared on replay.

A value is stored as ``{"dtype": D, "shape": [...], "data": [...]}`` (an array) or
``{"dtype": D, "value": ...}`` (a scalar, vector, matrix, quaternion or transform), where ``D`` is
the Warp type's public name (``getattr(wp, D)``: ``"float32"``, ``"vec3f"``, ``"mat33d"``,
``"quatf"``, ``"transformf"``, ``"int32"``, ...), or for a vector or matrix type Warp has no name
for, ``"vector(length=6,dtype=float64)"`` / ``"matrix(shape=(3,4),dtype=float32)"`` (the arguments
of ``wp.types.vector`` / ``wp.types.matrix``).  ``data``/``value`` are flat lists of numbers in
Warp's memory order (vector and matrix elements flattened, row-major).  A ``@wp.struct`` value is
``{"dtype": "struct", "struct": "<class name>", "fields": {name: value, ...}}``.

Draws (``Draws``): floats uniform in [0.25, 1] (every template's domain: square roots, logarithms
and divisions by an input stay finite), integers in [0, size) (so a value read from one array
indexes any other array of the launch in range), quaternions of unit length, transforms with a
unit rotation, square matrices diagonally dominant (invertible).
"""

from __future__ import annotations

import functools
import re
from typing import Any

import numpy as np
import warp as wp

FLOAT_RANGE = (0.25, 1.0)
# replay tolerance for floats, per scalar type, as (RTOL, ATOL): |got - stored| <= ATOL + RTOL * |stored|;
# integers and booleans are exact
TOLERANCE = {"float16": (1e-3, 1e-3), "float32": (1e-5, 1e-6), "float64": (1e-12, 1e-12)}

_GENERIC = re.compile(r"^(vector)\(length=(\d+),dtype=(\w+)\)$|^(matrix)\(shape=\((\d+),(\d+)\),dtype=(\w+)\)$")


class UnsupportedParameter(Exception):
    """A parameter kind the executor cannot draw (the kernel is compile-checked, not executed)."""


def scalar_type(t: Any) -> Any:
    """The Warp scalar type of a scalar or composite type (``float`` is ``wp.float32``)."""
    t = {float: wp.float32, int: wp.int32, bool: wp.bool}.get(t, t)
    return getattr(t, "_wp_scalar_type_", t)


def is_composite(t: Any) -> bool:
    return hasattr(t, "_wp_scalar_type_") and hasattr(t, "_length_")


def is_float(t: Any) -> bool:
    return scalar_type(t) in (wp.float16, wp.float32, wp.float64)


@functools.cache
def _public_names() -> dict[Any, str]:
    out: dict[Any, str] = {}
    for name in sorted(dir(wp), key=lambda n: (-len(n), n)):  # "vec3f" before its alias "vec3"
        obj = getattr(wp, name, None)
        if isinstance(obj, type) and is_composite(obj) and name not in ("vector", "matrix"):
            out.setdefault(obj, name)
    return out


@functools.cache
def dtype_name(t: Any) -> str:
    """The name ``D`` of a Warp value type, as stored (``getattr(wp, D)`` gives it back)."""
    if not is_composite(t):
        return scalar_type(t).__name__
    if getattr(wp, t.__name__, None) is t:
        return t.__name__
    for obj, name in _public_names().items():
        if wp.types.types_equal(obj, t):
            return name
    scalar = scalar_type(t).__name__
    if wp.types.type_is_matrix(t):
        return f"matrix(shape=({t._shape_[0]},{t._shape_[1]}),dtype={scalar})"
    if wp.types.type_is_vector(t):
        return f"vector(length={t._length_},dtype={scalar})"
    raise UnsupportedParameter(f"no stored form for the type {t!r}")


def dtype_from_name(name: str) -> Any:
    """The Warp type a stored ``dtype`` names."""
    m = _GENERIC.match(name)
    if m and m.group(1):
        return wp.types.vector(length=int(m.group(2)), dtype=getattr(wp, m.group(3)))
    if m:
        return wp.types.matrix(shape=(int(m.group(5)), int(m.group(6))), dtype=getattr(wp, m.group(7)))
    t = getattr(wp, name, None)
    if t is None:
        raise ValueError(f"unknown dtype {name!r}")
    return t


def inner_shape(t: Any) -> tuple[int, ...]:
    return tuple(t._shape_) if is_composite(t) else ()


class Draws:
    """Seeded values for a kernel's parameters; ``size`` bounds integers (the launch's extent)."""

    def __init__(self, seed: int, size: int) -> None:
        self.rng = np.random.default_rng(seed)
        self.size = size

    def elements(self, t: Any, shape: tuple[int, ...]) -> np.ndarray:
        """``shape`` values of type ``t``, as a numpy array of shape ``shape + inner_shape(t)``."""
        scalar = scalar_type(t)
        full = shape + inner_shape(t)
        npt = wp.dtype_to_numpy(scalar)
        if scalar is wp.bool:
            return self.rng.integers(0, 2, size=full).astype(np.bool_)
        if scalar not in (wp.float16, wp.float32, wp.float64):
            return self.rng.integers(0, self.size, size=full).astype(npt)
        x = self.rng.uniform(*FLOAT_RANGE, size=full)
        if wp.types.type_is_quaternion(t):
            x = self.rng.normal(size=full)
            x /= np.linalg.norm(x, axis=-1, keepdims=True)
        elif wp.types.type_is_transformation(t):
            q = self.rng.normal(size=shape + (4,))
            x[..., 3:] = q / np.linalg.norm(q, axis=-1, keepdims=True)
        elif wp.types.type_is_matrix(t) and t._shape_[0] == t._shape_[1]:
            x = x + np.eye(t._shape_[0]) * t._shape_[0]
        return x.astype(npt)

    def value(self, t: Any) -> Any:
        """A scalar parameter's value: an integer in [1, size), a float in ``FLOAT_RANGE``."""
        if is_composite(t):
            return t(*self.elements(t, ()).ravel().tolist())
        scalar = scalar_type(t)
        if scalar is wp.bool:
            return bool(self.rng.integers(0, 2))
        if is_float(scalar):
            return float(self.rng.uniform(*FLOAT_RANGE))
        return int(self.rng.integers(1, max(2, self.size)))


def _flat(a: np.ndarray) -> list[Any]:
    """Python bools, ints or floats (float16 and float32 widened exactly to float)."""
    return (a.astype(np.float64) if a.dtype.kind == "f" else a).ravel().tolist()


def encode_array(t: Any, data: np.ndarray, shape: tuple[int, ...]) -> dict[str, Any]:
    return {"dtype": dtype_name(t), "shape": list(shape), "data": _flat(np.asarray(data))}


def encode_value(t: Any, v: Any) -> dict[str, Any]:
    if is_composite(t):
        return {"dtype": dtype_name(t), "value": _flat(np.array(v, dtype=wp.dtype_to_numpy(scalar_type(t))))}
    return {"dtype": dtype_name(t), "value": v}


def decode_array(d: dict[str, Any]) -> tuple[Any, np.ndarray]:
    """``(dtype, numpy data shaped shape + inner_shape)`` of a stored array."""
    t = dtype_from_name(str(d["dtype"]))
    shape = tuple(int(s) for s in d["shape"]) + inner_shape(t)
    return t, np.array(d["data"], dtype=wp.dtype_to_numpy(scalar_type(t))).reshape(shape)


def decode_value(d: dict[str, Any]) -> Any:
    """A stored scalar or composite value (a struct's fields are decoded one by one)."""
    t = dtype_from_name(str(d["dtype"]))
    v = d["value"]
    return t(*v) if is_composite(t) else t(v) if t in (wp.float16,) else v


def compare(stored: dict[str, Any], got: dict[str, Any]) -> list[str]:
    """What differs between stored and replayed outputs (``{name: array}``): exact for integers and
    booleans, ``TOLERANCE`` for floats.  Empty when they agree."""
    problems = []
    for name, sd in stored.items():
        gd = got.get(name)
        if gd is None:
            problems.append(f"{name}: missing from the replay")
            continue
        if sd.get("dtype") == "struct":  # an array of structs: field by field
            problems += compare({f"{name}.{f}": v for f, v in sd["fields"].items()},
                                {f"{name}.{f}": v for f, v in gd.get("fields", {}).items()})
            continue
        t, a = decode_array(sd)
        _, b = decode_array(gd)
        if a.shape != b.shape:
            problems.append(f"{name}: shape {list(b.shape)} instead of {list(a.shape)}")
            continue
        scalar = scalar_type(t).__name__
        if scalar in TOLERANCE:
            rtol, atol = TOLERANCE[scalar]
            ok = np.isclose(b.astype(np.float64), a.astype(np.float64), rtol=rtol, atol=atol, equal_nan=True)
        else:
            ok = a == b
        if not ok.all():
            bad = int(np.argmin(ok.ravel()))
            problems.append(f"{name}: {int((~ok).sum())} of {ok.size} values differ (first at flat index {bad}: "
                            f"{b.ravel()[bad]!s} instead of {a.ravel()[bad]!s})")
    return problems


_public_names()  # built once, in the zygote
