"""Compiler diagnostics of a batched translation unit, placed on the unit's own lines.

``parse_errors`` finds each error's line in the translation unit (an error inside Warp's headers
is placed where the unit instantiated it); ``python_line`` maps a generated line back to the
kernel's Python line through the ``<L n>`` tags Warp's codegen writes.
"""

from __future__ import annotations

import os
import re

_CPU_ERR = re.compile(r"^([^\n:]+):(\d+):\d+: (?:fatal )?error: (.*)$", re.M)
_CUDA_ERR = re.compile(r"^([^\n(]+)\((\d+)\): (?:catastrophic )?error: (.*)$", re.M)
# where an error inside Warp's headers was instantiated from: Clang's note, NVRTC's "detected during"
_CPU_FROM = r"^(?:[^\n:]*/)?{file}:(\d+):\d+: note: "
_CUDA_FROM = r"at line (\d+) of \"?(?:[^\n\"]*/)?{file}\"?"
_LINE_TAG = re.compile(r"<L (\d+)>\s*$")


def parse_errors(log: str, device: str, tu_name: str) -> list[tuple[int, str]]:
    """``(line in the translation unit, message)`` of each error in a compiler's ``log``.

    An error inside an included header (Warp's templates) is placed where the unit instantiated
    it: the first instantiation note on one of the unit's own lines, up to the next error.
    """
    pattern = _CPU_ERR if device == "cpu" else _CUDA_ERR
    origin = re.compile((_CPU_FROM if device == "cpu" else _CUDA_FROM).format(file=re.escape(tu_name)), re.M)
    matches = list(pattern.finditer(log))
    out: list[tuple[int, str]] = []
    for i, m in enumerate(matches):
        file, line, text = m.group(1), int(m.group(2)), m.group(3).strip()
        if os.path.basename(file.strip()) == tu_name:
            out.append((line, text))
            continue
        end = matches[i + 1].start() if i + 1 < len(matches) else len(log)
        found = origin.search(log, m.end(), end)
        if found:
            out.append((int(found.group(1)), f"{text} (inside Warp's headers, instantiated from here)"))
    return out


def python_line(tu_lines: list[str], err_line: int) -> int | None:
    """The Python line of the generated statement nearest above ``err_line`` (1-based)."""
    for i in range(min(err_line - 1, len(tu_lines) - 1), -1, -1):
        m = _LINE_TAG.search(tu_lines[i])
        if m:
            return int(m.group(1))
        if tu_lines[i].startswith("namespace wsynth_u"):
            break
    return None
