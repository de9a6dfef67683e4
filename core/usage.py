"""What a kernel's source uses: Warp builtins, dtypes and control-flow features.

Everything is read from the kernel's canonical text (``core.identity.skeleton``: one statement
per line, no comments, docstrings or string contents) with regular expressions, no Warp import,
so mined or old records without ``metadata["builtins"]`` are measured the same way as fresh ones.

* builtins: ``wp.<name>`` / ``warp.<name>`` attribute references whose name is in Warp's kernel
  builtin registry (``extract.warp_adapter.kernel_builtin_names``).  Type constructors in the
  registry (``float32``, ``vector``, ...) count too, annotations included.
* dtypes: ``wp.<name>`` references to one of ``DTYPE_NAMES``.
* features: ``FEATURES`` below, each present or absent per kernel module.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

_SCALARS = ("bool", "int8", "uint8", "int16", "uint16", "int32", "uint32", "int64", "uint64",
            "float16", "bfloat16", "float32", "float64")
_VEC_SUFFIXES = ("", "b", "ub", "s", "us", "i", "ui", "l", "ul", "h", "f", "d")
_FLOAT_SUFFIXES = ("", "h", "f", "d")

# The dtypes a kernel can name: scalars, vectors, matrices, quaternions, transforms, spatial types.
DTYPE_NAMES: tuple[str, ...] = (
    _SCALARS
    + tuple(f"vec{n}{s}" for n in (2, 3, 4) for s in _VEC_SUFFIXES)
    + tuple(f"mat{n}{n}{s}" for n in (2, 3, 4) for s in _FLOAT_SUFFIXES)
    + tuple(f"quat{s}" for s in _FLOAT_SUFFIXES)
    + tuple(f"transform{s}" for s in _FLOAT_SUFFIXES)
    + tuple(f"spatial_vector{s}" for s in _FLOAT_SUFFIXES)
    + tuple(f"spatial_matrix{s}" for s in _FLOAT_SUFFIXES)
)
_DTYPES = frozenset(DTYPE_NAMES)

# Control-flow and structure features, in report order.
FEATURES: tuple[str, ...] = (
    "for", "while", "if", "elif", "ternary", "break", "continue", "wp_func_call", "struct", "atomic", "tile",
)

_WP_ATTR_RE = re.compile(r"(?<![\w.])(?:wp|warp)\.([A-Za-z_]\w*)")


def kernel_builtin_names() -> list[str]:
    """Warp's kernel builtins, from the one adapter module allowed to read Warp internals."""
    from warp_synth.extract.warp_adapter import kernel_builtin_names as _names  # lazy: imports Warp

    return _names()


_LINE_FEATURES = (
    ("for", re.compile(r"^\s*(?:async\s+)?for\b", re.M)),
    ("while", re.compile(r"^\s*while\b", re.M)),
    ("if", re.compile(r"^\s*if\b", re.M)),
    ("elif", re.compile(r"^\s*elif\b", re.M)),
    ("break", re.compile(r"^\s*break\s*$", re.M)),
    ("continue", re.compile(r"^\s*continue\s*$", re.M)),
    ("struct", re.compile(r"^\s*@(?:wp|warp)\.struct\b", re.M)),
)
_LEAD_KEYWORD_RE = re.compile(r"^\s*(?:if|elif|while)\b")
_IF_RE = re.compile(r"\bif\b")
_DEF_LINE_RE = re.compile(r"^\s*def\s+\w+\s*\(", re.M)
_WP_FUNC_RE = re.compile(r"^\s*@(?:wp|warp)\.func\b[^\n]*\n(?:\s*@[^\n]*\n)*\s*def\s+(\w+)", re.M)


def source_usage(text: str, builtin_names: frozenset[str]) -> tuple[list[str], list[str], list[str]]:
    """(builtins, dtypes, features) used by ``text``, each sorted (features in ``FEATURES`` order).

    ``text`` should be canonical: ``core.identity.skeleton`` output (one statement per line,
    no comments or docstrings, strings abstracted), which keeps ``wp.<name>`` attributes and
    keywords intact.  Raw source works too, but then comments and strings are read as code.
    """
    attrs = set(_WP_ATTR_RE.findall(text))
    feats = {name for name, rx in _LINE_FEATURES if rx.search(text)}
    if any(_IF_RE.search(_LEAD_KEYWORD_RE.sub("", line, count=1)) for line in text.splitlines()):
        feats.add("ternary")  # an ``if`` that does not open a statement
    funcs = set(_WP_FUNC_RE.findall(text))
    if funcs and re.search(r"(?<![\w.])(?:" + "|".join(map(re.escape, funcs)) + r")\s*\(",
                           _DEF_LINE_RE.sub("", text)):
        feats.add("wp_func_call")
    if any(a.startswith("atomic_") for a in attrs):
        feats.add("atomic")
    if any(a == "tile" or a.startswith("tile_") or a == "untile" for a in attrs):
        feats.add("tile")
    return sorted(attrs & builtin_names), sorted(attrs & _DTYPES), [f for f in FEATURES if f in feats]


def entropy_bits(counts: Sequence[int]) -> float:
    """Shannon entropy (bits) of the distribution proportional to ``counts``; 0 for no mass."""
    total = sum(counts)
    if total <= 0:
        return 0.0
    return -sum((c / total) * math.log2(c / total) for c in counts if c > 0)
