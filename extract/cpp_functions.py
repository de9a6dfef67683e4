"""Cut one kernel's forward and backward functions out of a generated module (pure text)."""

from __future__ import annotations

import re

_PATH_COMMENT = re.compile(r"^// (.+?\.py):(\d+)$", re.M)


def function_text(code: str, name: str) -> str:
    """The full definition of the generated function ``name`` (signature to closing brace).

    Includes a directly preceding ``template <...>`` line.  Returns "" when absent.
    """
    m = re.search(rf"^[^\n]*\b{re.escape(name)}\(", code, re.M)
    if m is None:
        return ""
    start = m.start()
    prev_end = code.rfind("\n", 0, max(start - 1, 0))
    prev_line = code[prev_end + 1 : start - 1] if start > 0 else ""
    if prev_line.startswith("template <"):
        start = prev_end + 1
    end = code.find("\n}\n", m.end())
    if end < 0:
        end = code.find("\n}", m.end())
        return code[start:] if end < 0 else code[start : end + 2]
    return code[start : end + 2] + "\n"


def helpers_text(body: str, first_kernel_markers: list[str]) -> str:
    """The part of a module body before its first kernel: structs and ``@wp.func`` code."""
    cut = len(body)
    for marker in first_kernel_markers:
        i = body.find(marker)
        if i >= 0:
            cut = min(cut, body.rfind("\n", 0, i) + 1)
    text = body[:cut].strip("\n")
    return canonical_paths(text) + "\n" if text else ""


def canonical_paths(text: str) -> str:
    """Warp prefixes each function with a ``// /abs/path/file.py:LINE`` comment; keep it
    path-independent as ``// kernel.py:LINE`` so the text does not depend on where it was built."""
    return _PATH_COMMENT.sub(lambda m: f"// kernel.py:{m.group(2)}", text)


def ptx_entries(ptx: str, names: list[str]) -> str:
    """The ``.entry`` blocks of the named kernels from a PTX module."""
    out = []
    for name in names:
        m = re.search(rf"^\.visible \.entry {re.escape(name)}\(", ptx, re.M)
        if m is None:
            continue
        end = ptx.find("\n}\n", m.end())
        out.append(ptx[m.start() : (end + 2 if end >= 0 else len(ptx))])
    return "\n\n".join(out) + ("\n" if out else "")


def kernel_function_name(mangled: str, device: str, direction: str) -> str:
    """The name Warp gives a kernel's generated function: ``<mangled>_<cpu|cuda>_kernel_<forward|backward>``."""
    return f"{mangled}_{device}_kernel_{direction}"
