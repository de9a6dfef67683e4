"""What a kernel module visibly does, read from its source with ``ast`` (never executed).

``facts(source)`` lists the ``@wp.kernel``'s array and value parameters, which arrays it reads, which
it writes and how (plain store, augmented assignment, ``wp.atomic_*``, tile store), the helpers it
calls and the Warp builtins the module calls.  ``io_sentence`` turns that into the sentence that
closes every template description; ``redescribe`` swaps that sentence for a mutant's own, so the
facts a description states stay those of the source it describes.
"""

from __future__ import annotations

import ast
import functools
import re
from dataclasses import dataclass, field

# calls that build values or declare things rather than compute: never listed as "the builtins used"
_NOT_BUILTINS = re.compile(
    r"^(?:tid|constant|kernel|func|func_grad|struct|array\d?d?|types|vector|matrix|float\d*|u?int\d*|bool|"
    r"(?:vec|mat|quat|transform|spatial_vector|spatial_matrix)\w*)$")
_WRITE_CALLS = ("tile_store", "tile_atomic_add", "tile_store_indexed", "tile_atomic_add_indexed")
_AUG = {"Add": "+=", "Sub": "-=", "Mult": "*=", "Div": "/=", "BitOr": "|=", "BitAnd": "&=", "BitXor": "^=",
        "Mod": "%=", "LShift": "<<=", "RShift": ">>="}


@dataclass(slots=True)
class Facts:
    kernel: str = ""
    arrays: dict[str, tuple[str, int]] = field(default_factory=dict)  # name -> (dtype text, ndim)
    values: dict[str, str] = field(default_factory=dict)  # non-array parameter -> type text
    reads: list[str] = field(default_factory=list)
    writes: dict[str, list[str]] = field(default_factory=dict)  # array -> ways ("=", "+=", "atomic_add", ...)
    helpers: list[str] = field(default_factory=list)  # @wp.func names the kernel calls
    funcs: list[str] = field(default_factory=list)  # every @wp.func of the module
    builtins: list[str] = field(default_factory=list)  # wp.X called anywhere, first-use order
    loops: int = 0
    branches: int = 0


def _wp_name(node: ast.expr) -> str | None:
    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "wp":
        return node.attr
    return None


def _base(node: ast.expr) -> str | None:
    """``a[i][0]`` / ``a[i]`` / ``a`` -> "a"."""
    while isinstance(node, ast.Subscript):
        node = node.value
    return node.id if isinstance(node, ast.Name) else None


def type_text(ann: str) -> str:
    """``wp.float32`` -> "float32", ``float`` -> "float32", ``wp.types.vector(length=6, dtype=wp.float64)``
    -> "length-6 float64 vector"."""
    m = re.match(r"wp\.types\.vector\(length=(\d+), dtype=(?:wp\.)?(\w+)\)", ann)
    if m:
        return f"length-{m.group(1)} {type_text(m.group(2))} vector"
    ann = ann.removeprefix("wp.")
    return {"float": "float32", "int": "int32"}.get(ann, ann)


def _array_type(ann: ast.expr) -> tuple[str, int] | None:
    if not isinstance(ann, ast.Call):
        return None
    name = _wp_name(ann.func)
    m = re.fullmatch(r"array(\d)?d?", name or "")
    if not m:
        return None
    kw = {k.arg: k.value for k in ann.keywords}
    ndim = int(m.group(1) or 1)
    if isinstance(kw.get("ndim"), ast.Constant):
        ndim = int(kw["ndim"].value)  # type: ignore[union-attr]
    dtype = type_text(ast.unparse(kw["dtype"])) if "dtype" in kw else "?"
    return dtype, ndim


@functools.lru_cache(maxsize=256)  # a mutant's parent is read again by redescribe: shared, never mutated
def facts(source: str) -> Facts:
    out = Facts()
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return out
    kernel = None
    for node in tree.body:
        if isinstance(node, ast.FunctionDef):
            decos = [_wp_name(d) for d in node.decorator_list]
            if "kernel" in decos and kernel is None:
                kernel = node
            elif "func" in decos:
                out.funcs.append(node.name)
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            n = _wp_name(node.func)
            if n and not _NOT_BUILTINS.match(n) and n not in out.builtins:
                out.builtins.append(n)
    if kernel is None:
        return out
    out.kernel = kernel.name
    for a in kernel.args.args:
        ann = a.annotation
        at = _array_type(ann) if ann is not None else None
        if at is not None:
            out.arrays[a.arg] = at
        else:
            out.values[a.arg] = type_text(ast.unparse(ann)) if ann is not None else "?"
    written: set[int] = set()  # ids of subscript nodes that are write targets or atomic operands

    def write(name: str | None, how: str) -> None:
        if name in out.arrays:
            ways = out.writes.setdefault(name, [])
            if how not in ways:
                ways.append(how)

    for node in ast.walk(kernel):
        if isinstance(node, (ast.For, ast.While)):
            out.loops += 1
        elif isinstance(node, ast.If):
            out.branches += 1
        elif isinstance(node, ast.Assign):
            for t in node.targets:
                for sub in ast.walk(t):
                    if isinstance(sub, ast.Subscript) and isinstance(sub.ctx, ast.Store):
                        write(_base(sub), "=")
        elif isinstance(node, ast.AugAssign) and isinstance(node.target, ast.Subscript):
            write(_base(node.target), _AUG.get(type(node.op).__name__, "augmented assignment"))
        elif isinstance(node, ast.Call):
            n = _wp_name(node.func)
            if n and node.args and (n.startswith("atomic_") or n in _WRITE_CALLS):
                write(_base(node.args[0]), n)
                written.add(id(node.args[0]))
            elif isinstance(node.func, ast.Name) and node.func.id in out.funcs and node.func.id not in out.helpers:
                out.helpers.append(node.func.id)
    for node in ast.walk(kernel):
        if id(node) in written:
            continue
        if isinstance(node, ast.Subscript) and isinstance(node.ctx, ast.Load):
            name = _base(node)
        elif isinstance(node, ast.Call):  # an array passed whole (wp.tile_load(a[row]), a helper's argument)
            for arg in node.args[1:] if _wp_name(node.func) in ("atomic_cas", "atomic_exch") else node.args:
                if isinstance(arg, ast.Name) and arg.id in out.arrays and id(arg) not in written:
                    _add(out.reads, arg.id)
            continue
        else:
            continue
        if name in out.arrays:
            _add(out.reads, name)
    return out


def _add(xs: list[str], x: str) -> None:
    if x not in xs:
        xs.append(x)


def _and(items: list[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return f"{', '.join(items[:-1])} and {items[-1]}"


def _grouped(f: Facts, names: list[str]) -> str:
    """```a` and `b` (1-D float32), `c` (2-D vec3)``: consecutive arrays of one type share a note."""
    groups: list[tuple[tuple[str, int], list[str]]] = []
    for n in names:
        t = f.arrays[n]
        if groups and groups[-1][0] == t:
            groups[-1][1].append(n)
        else:
            groups.append((t, [n]))
    parts = [f"{_and([f'`{n}`' for n in ns])} ({nd}-D {dt})" for (dt, nd), ns in groups]
    return _and(parts)


def _how(ways: list[str]) -> str:
    if ways == ["="]:
        return "stores into"
    if ways == ["tile_store"]:
        return "stores tiles (wp.tile_store) into"
    spelled = [{"=": "plain stores"}.get(w, f"wp.{w}" if w.startswith(("atomic_", "tile_")) else f"`{w}`")
               for w in ways]
    return f"updates {{}} with {_and(spelled)}"


def io_sentence(f: Facts, *, builtins: bool = True, max_builtins: int = 6) -> str:
    """One sentence: the arrays read, the value parameters, the arrays written and how, the builtins."""
    if not f.kernel:
        return ""
    clauses: list[str] = []
    if f.reads:
        clauses.append(f"reads {_grouped(f, f.reads)}")
    if f.values:
        s = "s" if len(f.values) > 1 else ""
        clauses.append(f"takes the value parameter{s} " + _and([f"`{n}` ({t})" for n, t in f.values.items()]))
    groups: list[tuple[str, list[str]]] = []  # consecutive arrays written the same way share a clause
    for name, ways in f.writes.items():
        how = _how(ways)
        if groups and groups[-1][0] == how:
            groups[-1][1].append(name)
        else:
            groups.append((how, [name]))
    writes = []
    for how, names in groups:
        arrays = _and([f"`{n}`" for n in names])
        writes.append(how.format(arrays) if "{}" in how else f"{how} {arrays}")
    clauses.append(_and(writes) if writes else "writes no array")
    text = f"The kernel `{f.kernel}` {_and(clauses)}"
    used = [b for b in f.builtins if not b.startswith(("atomic_", "tile_store", "tile_atomic_add"))]
    if builtins and used:
        shown = [f"wp.{b}" for b in used[:max_builtins]]
        more = f" and {len(used) - max_builtins} more" if len(used) > max_builtins else ""
        text += f"; it calls {', '.join(shown)}{more}" if more else f"; it calls {_and(shown)}"
    return text + "."


def redescribe(description: str, old_source: str, new_source: str) -> str:
    """``description`` with the facts sentence of ``old_source`` replaced by that of ``new_source``."""
    old = io_sentence(facts(old_source))
    if old and old in description:
        return description.replace(old, io_sentence(facts(new_source)))
    return description
