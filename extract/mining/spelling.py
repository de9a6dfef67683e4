"""How a unit spells the simple values a kernel names: literals, NumPy scalars, public imports.

Used by ``kernel_source`` in the slicer child (Warp and the user's modules are loaded there).
"""

from __future__ import annotations

import sys
import typing
from typing import Any

import warp as wp


def is_literal(obj: Any) -> bool:
    if obj is None or type(obj) in (str, bytes, int, float, bool):
        return True
    if type(obj) is tuple:
        return all(is_literal(x) for x in obj)
    return False


def numpy_scalar(obj: Any) -> str | None:
    np = sys.modules.get("numpy")
    if np is None or not isinstance(obj, np.generic) or type(obj).__module__ != "numpy":
        return None
    if isinstance(obj, (np.integer, np.bool_)):
        return f"np.{type(obj).__name__}({obj.item()!r})"
    if isinstance(obj, np.floating):
        return f"np.{type(obj).__name__}({float(obj)!r})"
    return None


_WARP_NAMES: dict[int, str] = {}


def import_line(name: str, obj: Any) -> str | None:
    """An import that binds ``name`` to ``obj`` (a public Warp or typing name), or None."""
    for mod, modname in ((typing, "typing"), (wp, "warp"), (wp.types, "warp.types")):
        if getattr(mod, name, None) is obj:
            return f"from {modname} import {name}"
    if not _WARP_NAMES:
        for attr in dir(wp):
            if not attr.startswith("_"):
                _WARP_NAMES.setdefault(id(getattr(wp, attr)), attr)
    attr = _WARP_NAMES.get(id(obj))
    if attr is not None and getattr(wp, attr, None) is obj:
        return f"from warp import {attr} as {name}"
    return None
