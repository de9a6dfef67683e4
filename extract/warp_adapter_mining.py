"""Warp internals for mining (``synth mine``): introspection of kernels, functions, types and values.

The second module allowed to import ``warp._src`` (``warp_adapter`` is the first; it re-exports
these names, so callers keep using ``warp_adapter``).  Everything here serves
``warp_synth.extract.mining``: which kernels a file registered, the definitions a ``@wp.func``
has, the module options a unit must set again, and source text that rebuilds a Warp type or
value with public names only (a type Warp names only as an object, ``mat33ui`` or ``vec3bf``,
is written as the constructor that makes it: ``wp.types.matrix(shape=(3, 3), dtype=wp.uint32)``).
"""

from __future__ import annotations

import enum
from typing import Any

import warp as wp
import warp._src.codegen as _codegen  # noqa: I001  (internals: warp_adapter*.py only)
import warp._src.context as _context
import warp._src.types as _types

type_repr = _types.type_repr


def is_value(obj: Any) -> bool:
    """True for what Warp inlines as a constant when a kernel names a global (int, float, bool,
    Warp scalars, vectors, matrices, quaternions, transforms)."""
    return bool(_types.is_value(obj))


def kernel_is_generic(kernel: Any) -> bool:
    return bool(kernel.is_generic)


def kernel_overload_signatures(kernel: Any) -> list[list[tuple[str, Any]]]:
    """``[(arg name, concrete type), ...]`` per declared overload of a generic kernel."""
    return [[(a.label, a.type) for a in ov.adj.args] for ov in kernel.overloads.values()]


def generic_parent(kernel: Any) -> Any:
    """The generic kernel a concrete overload (``wp.overload(kernel, {...})``'s value) belongs to, or None."""
    return getattr(kernel, "generic_parent", None)


def registered_kernels() -> list[Any]:
    """Every kernel registered in any Warp module of this process (factories included)."""
    out = []
    for mod in list(_context.user_modules.values()):
        out.extend(k for k in mod.kernels.values() if k.generic_parent is None)
    return out


# Module options a mined unit reproduces with ``wp.set_module_options`` when they differ from
# a fresh module's defaults: they change the generated code (or whether it compiles).
_CODEGEN_MODULE_OPTIONS = ("enable_backward", "max_unroll", "block_dim", "mode", "fast_math", "fuse_fp", "lineinfo",
                           "optimization_level", "enable_mathdx_gemm", "enable_mathdx_solver", "enable_mathdx_fft",
                           "default_grid_stride", "deterministic", "deterministic_max_records")
# ``@wp.kernel(...)`` keywords, as ``Kernel.options`` keeps them (a kernel made by ``wp.Kernel(func,
# options=...)`` has no decorator to copy: its unit gets one written from these).
_KERNEL_DECORATOR_OPTIONS = ("enable_backward", "launch_bounds", "cuda_max_registers", "enable_cuda_smem_spilling",
                             "cluster_dim", "entry_point_abi", "grid_stride")


def kernel_module_option_changes(kernel: Any) -> dict[str, Any]:
    """Codegen-relevant options of the kernel's Warp module that differ from the defaults."""
    defaults = _context.Module(None).options
    opts = kernel.module.options if kernel.module is not None else {}
    return {k: opts[k] for k in _CODEGEN_MODULE_OPTIONS if k in opts and opts[k] != defaults.get(k)}


def kernel_decorator_options(kernel: Any) -> dict[str, Any]:
    """The kernel's own options that ``@wp.kernel(...)`` sets, as its keywords."""
    opts = getattr(kernel, "options", None) or {}
    return {k: opts[k] for k in _KERNEL_DECORATOR_OPTIONS if k in opts and opts[k] is not None}


def option_source(value: Any, wp_name: str = "wp") -> str:
    """Source text of a module or kernel option's value: literals as ``repr``, Warp's enums by
    their public name (``wp.DeterministicMode.RUN_TO_RUN``), dicts and tuples item by item."""
    if isinstance(value, enum.Enum):
        cls = type(value)
        if getattr(wp, cls.__name__, None) is not cls:
            raise UnsupportedType(f"option value {value!r}")
        return f"{wp_name}.{cls.__name__}.{value.name}"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k!r}: {option_source(v, wp_name)}" for k, v in value.items()) + "}"
    if isinstance(value, tuple):
        items = [option_source(v, wp_name) for v in value]
        return "(" + ", ".join(items) + ("," if len(items) == 1 else "") + ")"
    if value is None or type(value) in (bool, int, float, str):
        return repr(value)
    raise UnsupportedType(f"option value {value!r}")


def annotation_parts(t: Any) -> dict[str, Any]:
    """What an annotation's constructor was given, to match against its syntax: an array type's
    ``dtype`` and ``ndim``; a vector's ``length`` and ``dtype`` (its scalar type); a matrix's
    ``shape`` and ``dtype``; a quaternion's or transformation's ``dtype``.  Empty otherwise."""
    if _types.is_array(t):
        return {"dtype": t.dtype, "ndim": t.ndim}
    scalar = getattr(t, "_wp_scalar_type_", None)
    if scalar is None or not isinstance(t, type):
        return {}
    if _types.type_is_matrix(t):
        return {"shape": tuple(t._shape_), "dtype": scalar}
    if _types.type_is_vector(t):
        return {"length": t._shape_[0], "dtype": scalar}
    return {"dtype": scalar}


def _overloads(fn: Any) -> list[Any]:
    return [fn, *getattr(fn, "user_overloads", {}).values(), *getattr(fn, "user_templates", {}).values()]


def _in_source_order(funcs: list[Any]) -> list[Any]:
    unique = {id(f): f for f in funcs}
    return sorted(unique.values(), key=lambda f: (f.__code__.co_filename, f.__code__.co_firstlineno))


def function_definitions(fn: Any) -> list[Any]:
    """The Python functions of every user-written overload of a ``@wp.func`` (not the overloads
    Warp instantiated from generic ones), in source order."""
    return _in_source_order([f.func for f in _overloads(fn) if f.generic_parent is None and f.func is not None])


def function_custom_definitions(fn: Any) -> list[Any]:
    """Python functions of ``@wp.func_grad`` / ``@wp.func_replay`` attached to any overload."""
    return _in_source_order([c.func for f in _overloads(fn) for c in (f.custom_grad_func, f.custom_replay_func)
                             if c is not None and c.func is not None])


def struct_class(st: Any) -> type:
    return st.cls


class UnsupportedType(Exception):
    """A Warp type that has no source spelling we can emit."""


def _scalar_source(t: Any, wp_name: str) -> str:
    if t in _types.scalar_types or t is _types.bool:
        return f"{wp_name}.{t.__name__}"
    if t in (bool, float, int):
        return t.__name__
    raise UnsupportedType(type_repr(t))


def type_source(t: Any, struct_name: Any, wp_name: str = "wp") -> str:
    """Source text that evaluates to the Warp type ``t`` (``wp.float32``, ``wp.vec3f``,
    ``wp.array(dtype=wp.vec3f, ndim=2)``, ``wp.types.vector(length=5, dtype=wp.float64)``).

    ``struct_name(struct)`` names a ``@wp.struct`` type (the caller emits its definition).
    Raises ``UnsupportedType`` for types without a spelling (tiles, tuples, generics)."""
    if t is Any:
        raise UnsupportedType("typing.Any")
    if isinstance(t, _codegen.Struct):
        return struct_name(t)
    if _types.is_array(t):
        if not isinstance(t, _types._ArrayAnnotationBase) and getattr(t, "device", None) is not None:
            raise UnsupportedType(type_repr(t))
        family = (t._concrete_cls if isinstance(t, _types._ArrayAnnotationBase) else type(t)).__name__
        if t.ndim is Any or t.dtype is Any:
            raise UnsupportedType(type_repr(t))
        return f"{wp_name}.{family}(dtype={type_source(t.dtype, struct_name, wp_name)}, ndim={t.ndim})"
    scalar = getattr(t, "_wp_scalar_type_", None)
    if scalar is not None and isinstance(t, type):
        sn = _types.scalar_short_name(scalar)
        dtype = _scalar_source(scalar, wp_name)
        if _types.type_is_transformation(t):
            return _public(f"transform{sn}", wp_name) or f"{wp_name}.types.transformation(dtype={dtype})"
        if _types.type_is_quaternion(t):
            return _public(f"quat{sn}", wp_name) or f"{wp_name}.types.quaternion(dtype={dtype})"
        if _types.type_is_vector(t):
            n = t._shape_[0]
            return (n <= 4 and _public(f"vec{n}{sn}", wp_name)) or (
                f"{wp_name}.types.vector(length={n}, dtype={dtype})")
        if _types.type_is_matrix(t):
            r, c = t._shape_
            return (r == c <= 4 and _public(f"mat{r}{c}{sn}", wp_name)) or (
                f"{wp_name}.types.matrix(shape=({r}, {c}), dtype={dtype})")
    return _scalar_source(t, wp_name)


def _public(name: str, wp_name: str) -> str | None:
    """``wp.<name>`` when Warp exports that type name (``vec3ui`` yes; ``mat33ui``, ``vec3bf`` no)."""
    return f"{wp_name}.{name}" if isinstance(getattr(wp, name, None), type) else None


def value_source(v: Any, wp_name: str = "wp") -> str:
    """Source text that rebuilds the Warp value ``v`` (``is_value(v)``) exactly."""
    t = type(v)
    if t in (bool, int):
        return repr(v)
    if t is float:
        return _float_source(v)
    if t in _types.scalar_types:
        raw = v.value
        return f"{_scalar_source(t, wp_name)}({_float_source(raw) if isinstance(raw, float) else repr(int(raw))})"
    scalar = getattr(t, "_wp_scalar_type_", None)
    if scalar is not None and hasattr(t, "_shape_"):
        flat: list[Any] = []
        if _types.type_is_matrix(t):
            r, c = t._shape_
            flat = [v[i][j] for i in range(r) for j in range(c)]
        else:
            flat = [v[i] for i in range(t._shape_[0])]
        is_int = scalar in _types.int_types or scalar is bool
        items = ", ".join(repr(int(x)) if is_int and scalar is not bool else
                          (repr(bool(x)) if scalar is bool else _float_source(float(x))) for x in flat)
        return f"{type_source(t, _no_struct, wp_name)}({items})"
    raise UnsupportedType(type_repr(t))


def _float_source(x: float) -> str:
    if x != x or x in (float("inf"), float("-inf")):
        return f'float("{x}")'
    return repr(float(x))


def _no_struct(st: Any) -> str:
    raise UnsupportedType("struct value")
