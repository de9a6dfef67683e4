"""One counters type for everything ``stats.json`` reports.

A ``Counters`` subclass is a dataclass whose public fields are the counts it keeps: ``int`` and
``float`` totals, ``Counter[str]`` tallies (a reason, an origin, a round number) and
``dict[str, dict[str, int]]`` tables (per category, per operator).  The base class derives
what every hand-written pair of ``to_dict``/``from_dict`` used to spell out:

* ``to_dict()``: field name -> value, tallies and tables with sorted keys, floats rounded to
  3 places (JSON-ready);
* ``from_dict(d)``: the inverse, tolerant of missing keys (an older ``stats.json``) and of
  values of the wrong shape (ignored), so a resumed run picks up where its file left off;
* ``add(**deltas)``: add to totals, under the instance's lock when it has one.

Fields whose names start with ``_`` are internal (a lock, a cache) and never serialised.
"""

from __future__ import annotations

import dataclasses
import math
import threading
from collections import Counter
from typing import Any, TypeVar

C = TypeVar("C", bound="Counters")


def _public(cls_or_obj: Any) -> list[dataclasses.Field[Any]]:
    return [f for f in dataclasses.fields(cls_or_obj) if not f.name.startswith("_")]


def _json_value(v: Any) -> Any:
    if isinstance(v, bool):
        return v
    if isinstance(v, float):
        return round(v, 3)
    if isinstance(v, dict):  # Counter included
        return {str(k): _json_value(v[k]) for k in sorted(v, key=str)}
    return v


def _number(v: Any, kind: type) -> Any:
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
        return None
    return kind(v)


class Counters:
    """Base class of the statistics dataclasses (see the module docstring)."""

    _lock: threading.Lock | None

    def to_dict(self) -> dict[str, Any]:
        return {f.name: _json_value(getattr(self, f.name)) for f in _public(self)}

    @classmethod
    def from_dict(cls: type[C], data: dict[str, Any] | None) -> C:
        out = cls()
        if not isinstance(data, dict):
            return out
        for f in _public(out):
            if f.name not in data:
                continue
            current, raw = getattr(out, f.name), data[f.name]
            if isinstance(current, Counter):
                if isinstance(raw, dict):
                    current.update({str(k): int(v) for k, v in raw.items() if _number(v, int) is not None})
            elif isinstance(current, dict):
                if isinstance(raw, dict):
                    current.update({str(k): {str(a): int(b) for a, b in v.items() if _number(b, int) is not None}
                                    for k, v in raw.items() if isinstance(v, dict)})
            elif isinstance(current, (int, float)) and not isinstance(current, bool):
                value = _number(raw, type(current))
                if value is not None:
                    setattr(out, f.name, value)
        return out

    def add(self, **deltas: float) -> None:
        lock = getattr(self, "_lock", None)
        if lock is None:
            self._add(deltas)
        else:
            with lock:
                self._add(deltas)

    def _add(self, deltas: dict[str, float]) -> None:
        for name, delta in deltas.items():
            setattr(self, name, getattr(self, name) + delta)
