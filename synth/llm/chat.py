"""The LLM chats: prompt messages, coverage guidance, and parsing code out of replies.

* ``diversify_messages`` / ``repair_messages`` render ``prompts/chat/*.j2`` (StrictUndefined) into
  OpenAI-style message lists for ``synth.llm.client.ChatClient.complete``.
* ``Coverage`` watches accepted kernels (statically, via ``ast``; nothing is executed) and
  suggests builtins, dtypes and language features the run has not covered yet, so each prompt
  pushes the dataset somewhere new.  It round-trips through ``to_dict``/``from_dict``.
* ``extract_code`` pulls the kernel module out of a reply, or returns ``None`` when the reply
  holds no code (the caller counts that and never executes anything).
"""

from __future__ import annotations

import ast
import functools
import random
import re
import textwrap
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from warp_synth.synth.jinja_env import environment, render

SYSTEM_TEMPLATE = "chat/system.j2"
DIVERSIFY_TEMPLATE = "chat/diversify.j2"
REPAIR_TEMPLATE = "chat/repair.j2"
VOCABULARY_TEMPLATE = "chat/vocabulary.j2"

# Phrases that identify each prompt kind (loopback test servers route on them).
DIVERSIFY_MARKER = "Write one new Warp kernel module"
REPAIR_MARKER = "The Warp kernel below was rejected"

MAX_EXEMPLARS = 3
MAX_ERROR_CHARS = 4000

# Scalar, vector, matrix, quaternion and transform types the coverage tracker knows.
DTYPES: tuple[str, ...] = (
    "float16", "float32", "float64", "int8", "int32", "int64", "uint32",
    "vec2", "vec3", "vec4", "vec2i", "vec3i", "vec3d",
    "mat22", "mat33", "mat44", "quat", "transform", "spatial_vector",
)  # fmt: skip

_DTYPE_SET = frozenset(DTYPES)

# Spellings that count as one of DTYPES (wp.vec3f is wp.vec3, ...).
_DTYPE_ALIASES: dict[str, str] = {
    "vec2f": "vec2", "vec3f": "vec3", "vec4f": "vec4", "mat22f": "mat22", "mat33f": "mat33",
    "mat44f": "mat44", "quatf": "quat", "transformf": "transform", "spatial_vectorf": "spatial_vector",
    "float": "float32", "int": "int32",
}  # fmt: skip

# Builtins never worth suggesting: they need scene objects (meshes, volumes, ...) a standalone
# kernel cannot get, are operators the AST already shows, or are plumbing/debugging.
_UNSUGGESTED_PREFIXES = (
    "mesh_",
    "bvh_",
    "volume_",
    "hash_grid_",
    "texture_",
    "tile_bvh_",
    "tile_mesh_",
    "dense_",
)
_UNSUGGESTED = frozenset(
    {
        "add", "sub", "mul", "div", "floordiv", "mod", "pow", "neg", "pos", "bit_and", "bit_or", "bit_xor",
        "lshift", "rshift", "invert", "unot", "address", "array", "array_store", "assign", "assign_copy",
        "assign_inplace", "index", "indexref", "iter_next", "load", "store", "extract", "view", "static",
        "copy", "breakpoint", "expect_eq", "expect_near", "expect_neq", "print", "printf", "tid", "range",
        "reversed", "len", "tuple", "slice", "zeros", "float", "int", "bool", "bfloat16", "float16",
        "float32", "float64", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
        "vector", "matrix", "quaternion", "transformation", "spatial_vector", "tile", "untile",
        "lower_bound", "closest_point_edge_edge", "intersect_tri_tri", "block_dim", "cast",
    }
)  # fmt: skip

_OPERATOR_BUILTINS: dict[type, str] = {
    ast.Add: "add", ast.Sub: "sub", ast.Mult: "mul", ast.Div: "div", ast.FloorDiv: "floordiv",
    ast.Mod: "mod", ast.Pow: "pow", ast.USub: "neg", ast.UAdd: "pos", ast.BitAnd: "bit_and",
    ast.BitOr: "bit_or", ast.BitXor: "bit_xor", ast.LShift: "lshift", ast.RShift: "rshift",
    ast.Invert: "invert", ast.Not: "unot",
}  # fmt: skip


@functools.cache
def _vocabulary() -> Any:
    return environment().get_template(VOCABULARY_TEMPLATE).module


def category_definitions() -> dict[str, str]:
    """The one-paragraph definition of each kernel category (from prompts/chat/vocabulary.j2)."""
    return dict(_vocabulary().categories)


def feature_descriptions() -> dict[str, str]:
    """Language features the coverage tracker knows, with their prompt wording."""
    return dict(_vocabulary().features)


def suggestible_builtins(names: Iterable[str]) -> list[str]:
    """Filter Warp's builtin registry down to builtins a standalone kernel can sensibly use."""
    return sorted(
        {
            n
            for n in names
            if n not in _UNSUGGESTED
            and not n.startswith(_UNSUGGESTED_PREFIXES)
            and not n.endswith("_inplace")
        }
    )


# --------------------------------------------------------------------------- coverage


@dataclass(slots=True, frozen=True)
class Usage:
    """What one kernel module uses, as names from the coverage universes."""

    builtins: frozenset[str]
    dtypes: frozenset[str]
    features: frozenset[str]


def scan(source: str) -> Usage:
    """Statically list builtins, dtypes and features in ``source`` (nothing is executed).

    ``builtins`` holds every ``wp.X`` attribute name and operator builtin seen (the coverage
    universe filters it); ``dtypes`` is restricted to ``DTYPES``.
    """
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError, RecursionError):
        return Usage(frozenset(), frozenset(), frozenset())
    builtins: set[str] = set()
    dtypes: set[str] = set()
    features: set[str] = set()
    funcs = {
        n.name
        for n in tree.body
        if isinstance(n, ast.FunctionDef) and any(_is_wp(d, "func") for d in n.decorator_list)
    }
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "wp":
            builtins.add(node.attr)
            dtypes.add(_DTYPE_ALIASES.get(node.attr, node.attr))
            if node.attr in ("array2d", "array3d", "array4d"):
                features.add("multi_dim")
            if node.attr == "constant":
                features.add("constant")
            if node.attr.startswith("atomic_"):
                features.add("atomic")
            if node.attr.startswith("tile"):
                features.add("tile")
        elif isinstance(node, (ast.BinOp, ast.UnaryOp, ast.AugAssign)):
            name = _OPERATOR_BUILTINS.get(type(node.op))
            if name:
                builtins.add(name)
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            if node.func.id in ("min", "max", "abs", "round"):
                builtins.add(node.func.id)
            if node.func.id in funcs:
                features.add("wp_func")
        elif isinstance(node, ast.arg) and isinstance(node.annotation, ast.Name):
            if node.annotation.id in _DTYPE_ALIASES:
                dtypes.add(_DTYPE_ALIASES[node.annotation.id])
        elif isinstance(node, ast.ClassDef) and any(_is_wp(d, "struct") for d in node.decorator_list):
            features.add("struct")
        elif isinstance(node, ast.FunctionDef) and any(_is_wp(d, "kernel") for d in node.decorator_list):
            features.update(_kernel_features(node))
    features.update(_control_flow_features(tree))
    return Usage(frozenset(builtins), frozenset(dtypes & _DTYPE_SET), frozenset(features))


def _is_wp(decorator: ast.expr, name: str) -> bool:
    target = decorator.func if isinstance(decorator, ast.Call) else decorator
    return (
        isinstance(target, ast.Attribute)
        and target.attr == name
        and isinstance(target.value, ast.Name)
        and target.value.id == "wp"
    )


def _kernel_features(kernel: ast.FunctionDef) -> set[str]:
    found: set[str] = set()
    for arg in kernel.args.args:
        ann = arg.annotation
        scalar_name = isinstance(ann, ast.Name) and ann.id in ("float", "int", "bool")
        scalar_attr = isinstance(ann, ast.Attribute) and (ann.attr in DTYPES or ann.attr in _DTYPE_ALIASES)
        if scalar_name or scalar_attr:
            found.add("scalar_param")
        elif isinstance(ann, ast.Call) and any(k.arg == "ndim" for k in ann.keywords):
            found.add("multi_dim")
    for node in ast.walk(kernel):
        if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Tuple):
            value = node.value
            if isinstance(value, ast.Call) and _is_wp(value.func, "tid"):
                found.add("multi_dim")
    return found


def _control_flow_features(tree: ast.AST) -> set[str]:
    found: set[str] = set()
    simple = {ast.For: "for", ast.While: "while", ast.Break: "break", ast.Continue: "continue",
              ast.BoolOp: "bool_op", ast.IfExp: "ternary", ast.AugAssign: "aug_assign"}  # fmt: skip
    for node in ast.walk(tree):
        for kind, name in simple.items():
            if isinstance(node, kind):
                found.add(name)
        if isinstance(node, ast.If):
            found.add("if")
            if len(node.orelse) == 1 and isinstance(node.orelse[0], ast.If):
                found.add("elif")
        if isinstance(node, (ast.For, ast.While)) and any(
            isinstance(inner, (ast.For, ast.While)) for stmt in node.body for inner in ast.walk(stmt)
        ):
            found.add("nested_loop")
    return found


@dataclass(slots=True, frozen=True)
class CoverageHint:
    """What one prompt should nudge the model towards."""

    builtins: tuple[str, ...] = ()
    dtypes: tuple[str, ...] = ()
    features: tuple[str, ...] = ()


AXES: tuple[str, ...] = ("builtins", "dtypes", "features")


@dataclass(slots=True)
class Coverage:
    """Counts of builtins, dtypes and features seen in accepted kernels; thread-safe.

    Build it with ``Coverage.create(kernel_builtin_names())`` so unusable builtins are dropped.
    """

    builtins: tuple[str, ...]
    dtypes: tuple[str, ...] = DTYPES
    features: tuple[str, ...] = ()
    counts: dict[str, dict[str, int]] = field(default_factory=dict)
    kernels_seen: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.features:
            self.features = tuple(feature_descriptions())
        for axis in AXES:
            self.counts.setdefault(axis, {})

    @classmethod
    def create(cls, builtin_names: Iterable[str]) -> Coverage:
        return cls(builtins=tuple(suggestible_builtins(builtin_names)))

    def universe(self, axis: str) -> tuple[str, ...]:
        if axis not in AXES:
            raise ValueError(f"unknown coverage axis {axis!r}; expected one of {AXES}")
        return getattr(self, axis)

    def observe(self, source: str) -> Usage:
        """Count what an accepted kernel module uses (names outside the universes are ignored)."""
        usage = scan(source)
        with self._lock:
            self.kernels_seen += 1
            for axis in AXES:
                known = set(self.universe(axis))
                bucket = self.counts[axis]
                for name in getattr(usage, axis):
                    if name in known:
                        bucket[name] = bucket.get(name, 0) + 1
        return usage

    def uncovered(self, axis: str) -> list[str]:
        """Names of ``axis`` no accepted kernel has used yet, in universe order."""
        with self._lock:
            seen = self.counts[axis]
            return [n for n in self.universe(axis) if not seen.get(n)]

    def suggest(
        self, rng: random.Random, *, builtins: int = 4, dtypes: int = 2, features: int = 2
    ) -> CoverageHint:
        """Sample a few of the least-used names per axis (uncovered ones first), rng-driven."""
        return CoverageHint(
            builtins=self._least_used("builtins", builtins, rng),
            dtypes=self._least_used("dtypes", dtypes, rng),
            features=self._least_used("features", features, rng),
        )

    def _least_used(self, axis: str, k: int, rng: random.Random) -> tuple[str, ...]:
        with self._lock:
            seen = self.counts[axis]
            by_count: dict[int, list[str]] = {}
            for name in self.universe(axis):
                by_count.setdefault(seen.get(name, 0), []).append(name)
        picked: list[str] = []
        for count in sorted(by_count):
            if len(picked) >= k:
                break
            group = by_count[count]
            picked.extend(rng.sample(group, min(len(group), k - len(picked))))
        return tuple(picked)

    def summary(self) -> dict[str, dict[str, int]]:
        """Covered/total per axis, for stats.json."""
        with self._lock:
            return {
                axis: {
                    "covered": sum(1 for n in self.universe(axis) if self.counts[axis].get(n)),
                    "total": len(self.universe(axis)),
                }
                for axis in AXES
            }

    def to_dict(self) -> dict[str, Any]:
        with self._lock:
            return {
                "builtins": list(self.builtins),
                "dtypes": list(self.dtypes),
                "features": list(self.features),
                "counts": {axis: dict(sorted(self.counts[axis].items())) for axis in AXES},
                "kernels_seen": self.kernels_seen,
            }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], builtins: Iterable[str] | None = None) -> Coverage:
        """Restore a saved tracker; ``builtins`` replaces the saved universe (e.g. after a Warp upgrade)."""
        universe = tuple(suggestible_builtins(builtins)) if builtins is not None else tuple(data["builtins"])
        counts = {
            axis: {str(k): int(v) for k, v in data.get("counts", {}).get(axis, {}).items()} for axis in AXES
        }
        return cls(
            builtins=universe,
            dtypes=tuple(data.get("dtypes", DTYPES)),
            features=tuple(data.get("features", ())),
            counts=counts,
            kernels_seen=int(data.get("kernels_seen", 0)),
        )


# --------------------------------------------------------------------------- prompts


def system_message() -> dict[str, str]:
    return {"role": "system", "content": render(SYSTEM_TEMPLATE).strip()}


def diversify_messages(
    category: str,
    exemplars: Sequence[str],
    hint: CoverageHint | None = None,
    *,
    definition: str | None = None,
) -> list[dict[str, str]]:
    """Messages asking for one new kernel of ``category`` in the spirit of (up to 3) ``exemplars``.

    ``definition`` defaults to the category's paragraph in prompts/chat/vocabulary.j2.
    """
    if definition is None:
        definitions = category_definitions()
        if category not in definitions:
            raise KeyError(f"no definition for kernel category {category!r}; known: {', '.join(definitions)}")
        definition = definitions[category]
    content = render(
        DIVERSIFY_TEMPLATE,
        category=category,
        definition=definition,
        exemplars=[e for e in exemplars[:MAX_EXEMPLARS]],
        hint=hint if hint is not None else CoverageHint(),
    )
    return [system_message(), {"role": "user", "content": content.strip()}]


def repair_messages(
    kernel_source: str,
    error_reason: str,
    error_message: str,
    line: int | None = None,
    *,
    category: str | None = None,
) -> list[dict[str, str]]:
    """Messages asking to fix ``kernel_source`` given extraction's reason, exact message and line."""
    if len(error_message) > MAX_ERROR_CHARS:
        cut = len(error_message) - MAX_ERROR_CHARS
        error_message = f"{error_message[:MAX_ERROR_CHARS]}\n... [{cut} more characters]"
    lines = kernel_source.splitlines()
    line_text = lines[line - 1].strip() if line is not None and 0 < line <= len(lines) else ""
    content = render(
        REPAIR_TEMPLATE,
        kernel_source=kernel_source,
        error_reason=error_reason,
        error_message=error_message,
        line=line,
        line_text=line_text,
        category=category,
    )
    return [system_message(), {"role": "user", "content": content.strip()}]


# --------------------------------------------------------------------------- reply parsing

_FENCE = re.compile(r"^[ \t]*(?P<fence>`{3,}|~{3,})[ \t]*(?P<info>[^\n`]*)$")
_THINK = re.compile(r"<think>.*?(?:</think>|\Z)", re.DOTALL | re.IGNORECASE)
_PYTHON_TAGS = frozenset({"", "python", "py", "python3", "py3"})
_IMPORT_WP = re.compile(r"^import warp as wp[ \t]*(#.*)?$", re.MULTILINE)


def code_blocks(text: str) -> list[tuple[str, str]]:
    """All fenced blocks as ``(language tag, body)``; an unclosed last fence runs to the end."""
    blocks: list[tuple[str, str]] = []
    fence: str | None = None
    tag = ""
    body: list[str] = []
    for line in text.splitlines():
        match = _FENCE.match(line)
        if fence is None:
            if match:
                fence, tag, body = match["fence"], match["info"].strip().split(" ")[0].lower(), []
        elif (
            match
            and not match["info"].strip()
            and match["fence"][0] == fence[0]
            and len(match["fence"]) >= len(fence)
        ):
            blocks.append((tag, "\n".join(body)))
            fence = None
        else:
            body.append(line)
    if fence is not None:
        blocks.append((tag, "\n".join(body)))
    return blocks


def extract_code(reply_text: str) -> str | None:
    """The kernel module in an LLM reply, or ``None`` when the reply contains no code.

    Policy: ``<think>`` sections are ignored; among fenced blocks tagged python/py (or untagged),
    the *last* one containing ``@wp.kernel`` wins (models put the final version last), else the
    last python block.  A reply without fences counts only if the whole reply parses as Python
    and contains ``@wp.kernel``.  ``import warp as wp`` is added when missing (after a module
    docstring, if any).  Nothing is executed here.
    """
    text = _THINK.sub("", reply_text or "")
    blocks = [textwrap.dedent(body).strip() for tag, body in code_blocks(text) if tag in _PYTHON_TAGS]
    blocks = [b for b in blocks if b]
    if blocks:
        with_kernel = [b for b in blocks if "@wp.kernel" in b]
        code = (with_kernel or blocks)[-1]
    else:
        code = textwrap.dedent(text).strip()
        if "@wp.kernel" not in code or not _parses(code):
            return None
    return _ensure_warp_import(code) + "\n"


def _parses(code: str) -> bool:
    try:
        ast.parse(code)
    except (SyntaxError, ValueError, RecursionError):
        return False
    return True


def _ensure_warp_import(code: str) -> str:
    if _IMPORT_WP.search(code):
        return code
    insert_at = 0
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError, RecursionError):
        tree = None
    if tree is not None and tree.body:
        first = tree.body[0]
        if (
            isinstance(first, ast.Expr)
            and isinstance(first.value, ast.Constant)
            and isinstance(first.value.value, str)
        ):
            insert_at = first.end_lineno or 0
    lines = code.splitlines()
    return "\n".join([*lines[:insert_at], "import warp as wp", *lines[insert_at:]])
