"""What slicing one file yields, and how it crosses from the slicer child to the parent.

The child (``warp_synth.extract.mining.child``) writes one ``FileSlices`` per file as a JSON
line; the parent (``warp_synth.extract.mining.files``) reads it back with ``file_slices_from_json``,
which turns every reason string into a ``Reason`` (``Reason.parse``: an unknown value is an
``UnknownReason`` protocol error, never a silently miscounted skip).  No Warp here.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

from warp_synth.reasons import Reason


@dataclass(slots=True)
class KernelSlice:
    name: str  # the kernel's qualified name (Warp's key), with the overload's types if generic
    line: int  # first line of its definition in the file
    source: str | None = None
    reason: Reason | None = None  # why no source (when ``source`` is None)
    message: str = ""
    module_options: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class FileSlices:
    file: str
    module: str = ""
    error: Reason | None = None  # why the file could not be imported or sliced at all
    message: str = ""
    kernels: list[KernelSlice] = field(default_factory=list)


def all_skipped(file: str, reason: Reason, message: str, declared: list[tuple[str, int]]) -> FileSlices:
    """The report of a file that could not be imported or sliced: every declared kernel
    (``(name, line)`` pairs) skipped for the file's ``reason``."""
    return FileSlices(
        file=file,
        error=reason,
        message=message,
        kernels=[KernelSlice(n, line, reason=reason, message=message) for n, line in declared],
    )


def file_slices_to_json(fs: FileSlices) -> str:
    """One protocol line (without the newline); reasons are written as their values."""
    return json.dumps(asdict(fs), default=repr)


def _reason(value: object) -> Reason | None:
    return None if value is None else Reason.parse(value)


def file_slices_from_json(d: dict[str, Any]) -> FileSlices:
    """The ``FileSlices`` of one decoded protocol line; ``UnknownReason`` for a reason not in
    ``Reason`` (the child only ever reports ``Reason`` values)."""
    kernels = [
        KernelSlice(
            name=k["name"],
            line=k["line"],
            source=k.get("source"),
            reason=_reason(k.get("reason")),
            message=k.get("message", ""),
            module_options=k.get("module_options") or {},
        )
        for k in d.get("kernels", [])
    ]
    return FileSlices(
        file=d["file"],
        module=d.get("module", ""),
        error=_reason(d.get("error")),
        message=d.get("message", ""),
        kernels=kernels,
    )
