"""Expression rules of the static screen: what annotations, constants and kernel bodies may contain.

Three kinds of position, three allow-lists:

* **types** (annotations, struct fields, type aliases; Python evaluates them at import and Warp
  evaluates string annotations again): ``float``/``int``/``bool``, ``wp.<type>``, ``wp.array(dtype=T,
  ndim=N)`` and the other array kinds (also subscripted: ``wp.array2d[T]``), ``wp.types.vector(length=N,
  dtype=T)`` and friends, ``tuple[T, ...]``, ``Any``, and the module's own structs and type aliases;
  never a string, never a name bound to anything but a type;
* **values** (module constants, defaults, struct field defaults; Python evaluates them at import):
  numbers and bools, module constants, ``wp.<constant>``/``math.<constant>``, arithmetic on those
  (``**`` and shifts by a literal of at most 64), and, for module constants only, ``wp.constant(...)``
  and calls of Warp value types (``wp.vec3(1.0, 0.0, 0.0)``);
* **kernel code** (``@wp.kernel``/``@wp.func`` bodies, checked by ``screen_body``; Warp translates
  them, Python never runs them): a fixed set of statements and expressions; every name resolves to a parameter or local, a
  definition of the module, a Python builtin Warp maps to a kernel builtin, or ``wp.<name>`` /
  ``math.<name>`` from the lists of ``screen_names``; calls name a function (never a local, a method
  or an expression); no attribute begins with ``_``; string constants hold only characters that
  need no escaping in C++; ``assert`` text fits on one line without ``"``, ``\\`` or ``??``.

Locals may never be named like a module (``wp``, ``math``...), and calls never name a local, so a
name Warp resolves differently than the screen (Warp falls back to ``getattr(warp, name)`` for a
name it has not seen assigned yet) can only land on a harmless builtin, never on ``wp.static``.
"""

from __future__ import annotations

import ast
import string
from dataclasses import dataclass

from warp_synth.extract.screen_names import (
    MATH_CONSTANTS,
    WP_ARRAY_KINDS,
    WP_BODY,
    WP_CONSTANTS,
    WP_ENUMS,
    WP_REFUSED,
    WP_TYPE_CONSTRUCTORS,
    WP_TYPES,
    WP_VALUE_TYPES,
)

# Names that always mean a module: never bound by a definition, a parameter or a local.
MODULE_NAMES = frozenset({"wp", "warp", "math", "np", "numpy", "typing", "Any"})
# Python builtins the screen itself reads as such in annotations: never rebound at module level.
TYPE_BUILTINS = frozenset({"float", "int", "bool", "tuple"})

# Characters a string constant in kernel code may hold: Warp writes the value into C++ with
# ``unicode-escape``, which leaves ``"`` alone; newline and tab come out as \n and \t.
SAFE_STRING_CHARS = frozenset(string.ascii_letters + string.digits + " _.,:;=+*/%()<>!?#@$^&|~[]{}'-\n\t")
_STRING_HINT = ("strings in kernel code may hold only letters, digits, spaces, newlines and "
                "_.,:;=+*/%()<>!?#@$^&|~[]{}'- (no double quote or backslash)")

_VALUE_OPS = (ast.Add, ast.Sub, ast.Mult, ast.Div, ast.FloorDiv, ast.Mod, ast.Pow, ast.LShift, ast.RShift,
              ast.BitAnd, ast.BitOr, ast.BitXor)
_MAX_EXPONENT = 64
_MAX_INT_BITS = 4096  # a bound on the integers module constants can compute
_MAX_TYPE_INT = 1 << 16  # sizes in type expressions (tile shapes, vector lengths)
_MAX_VALUE_DIM = 64  # sizes of a vector/matrix type Python may construct at import
# Keywords of the type constructors annotations may call (arrays: dtype and ndim only; with a
# shape or data, Python would allocate the array).
_ARRAY_KEYWORDS = frozenset({"dtype", "ndim"})
_TYPE_CALL_KEYWORDS = {
    "tile": frozenset({"dtype", "shape"}), "vector": frozenset({"length", "dtype"}),
    "matrix": frozenset({"shape", "dtype"}), "quaternion": frozenset({"dtype"}), "transformation": frozenset({"dtype"}),
}


class Unsafe(Exception):
    def __init__(self, node: ast.AST | int | None, message: str) -> None:
        super().__init__(message)
        self.line = node if isinstance(node, int) or node is None else getattr(node, "lineno", None)
        self.message = message


@dataclass(slots=True)
class Binding:
    """What a module-level name is bound to.  ``kind``: module, any, const, type, struct, func,
    kernel, or wp (``from warp import name``); ``detail``: the warp name, or for a type alias
    ``"value"`` when it is a value type Python may construct."""

    kind: str
    line: int
    detail: str = ""
    bits: int = 64  # for a constant: a bound on its bit length (see check_value)


Env = dict[str, Binding]

KIND_TEXT = {"module": "module", "any": "typing.Any", "const": "constant", "type": "type alias", "struct": "struct",
             "func": "function", "kernel": "kernel", "wp": "name imported from warp"}


def kind_text(kind: str) -> str:
    return a_(KIND_TEXT.get(kind, kind))


def dotted(node: ast.AST) -> list[str] | None:
    """``wp.types.vector`` -> ``["wp", "types", "vector"]``; None unless a chain of names."""
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
        return parts[::-1]
    return None


def check_attr_name(node: ast.Attribute) -> None:
    if node.attr.startswith("_"):
        raise Unsafe(node, f"attribute '{node.attr}' is not allowed: attributes beginning with '_' (dunder and "
                           "private attributes) are never allowed")


def check_binding_name(node: ast.AST, name: str, what: str) -> None:
    if name in MODULE_NAMES:
        raise Unsafe(node, f"{what} '{name}' is not allowed: '{name}' always names a module and is never "
                           "rebound or aliased")
    if name.startswith("__"):
        raise Unsafe(node, f"{what} '{name}' is not allowed: names beginning with '__' are reserved")


def a_(word: str) -> str:
    """``"an annotation"``, ``"a default value"``."""
    return ("an " if word[:1] in "aeiou" else "a ") + word


def check_name(node: ast.AST, name: str) -> None:
    if name.startswith("__"):
        raise Unsafe(node, f"name '{name}' is not allowed: names beginning with '__' (dunder names) are never allowed")


def short(node: ast.AST) -> str:
    text = ast.unparse(node)
    return text if len(text) <= 60 else text[:57] + "..."


def refused_wp(node: ast.AST, path: str, name: str) -> Unsafe:
    why = WP_REFUSED.get(name, "it is not a Warp kernel builtin, type or constant")
    return Unsafe(node, f"{path} is not allowed in LLM kernels: {why}")


def is_refused_wp(name: str) -> bool:
    """``wp.<name>`` is refused everywhere: named in ``WP_REFUSED``, or no builtin, type or constant."""
    return name in WP_REFUSED or name not in WP_BODY


def check_not_refused_wp(node: ast.AST, parts: list[str] | None) -> None:
    """Raise ``refused_wp`` when ``parts`` is ``wp.<name>`` for a refused name."""
    if parts and len(parts) == 2 and parts[0] == "wp" and is_refused_wp(parts[1]):
        raise refused_wp(node, "wp." + parts[1], parts[1])


# ---------------------------------------------------------------------------- types


def _int_literal(node: ast.AST) -> int | None:
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        node = node.operand
    return node.value if isinstance(node, ast.Constant) and type(node.value) is int else None


def check_type(node: ast.AST, env: Env, where: str, *, allow_none: bool = False) -> None:
    """A Warp type expression (see the module docstring); ``where`` names the position."""
    if isinstance(node, ast.Constant):
        if node.value is None and allow_none:
            return
        if isinstance(node.value, str):
            raise Unsafe(node, f"string {where}s are not allowed: Warp evaluates them as Python (write the type "
                               "itself, e.g. wp.array(dtype=float))")
        raise Unsafe(node, f"{short(node)} is not a Warp type (in {a_(where)})")
    if isinstance(node, ast.Name):
        check_name(node, node.id)
        if node.id in ("float", "int", "bool"):
            return
        b = env.get(node.id)
        if b is not None and (b.kind in ("struct", "type", "any") or (b.kind == "wp" and b.detail in WP_TYPES)):
            return
        if b is not None:
            raise Unsafe(node, f"'{node.id}' is not a type ({a_(where)} must be a Warp type, float/int/bool, or a "
                               "struct or type alias of this module)")
        raise Unsafe(node, f"name '{node.id}' is not defined ({a_(where)} must be a Warp type, float/int/bool, or a "
                           "struct or type alias defined above it)")
    if isinstance(node, ast.Attribute):
        check_attr_name(node)
        parts = dotted(node)
        if parts and len(parts) == 2 and parts[0] == "wp" and parts[1] in WP_TYPES:
            return
        if parts and len(parts) == 2 and parts[0] == "wp":
            check_not_refused_wp(node, parts)
            raise Unsafe(node, f"wp.{parts[1]} is not a Warp type (in {a_(where)})")
        raise Unsafe(node, f"{short(node)} is not allowed in {a_(where)} (only wp.<type> attributes)")
    if isinstance(node, ast.Call):
        _check_type_call(node, env, where)
        return
    if isinstance(node, ast.Subscript):
        base = dotted(node.value)
        ok = base == ["tuple"] or (base is not None and len(base) == 2 and base[0] == "wp" and base[1] in WP_TYPES)
        if not ok:
            raise Unsafe(node, f"{short(node)} is not allowed in {a_(where)} (only wp.<type>[...], such as "
                               "wp.array2d[float], and tuple[...])")
        if isinstance(node.value, ast.Attribute):
            check_attr_name(node.value)
        items = node.slice.elts if isinstance(node.slice, ast.Tuple) else [node.slice]
        for item in items:
            check_type_arg(item, env, where)
        return
    raise Unsafe(node, f"{type(node).__name__} expressions are not allowed in {a_(where)}")


def _check_type_call(node: ast.Call, env: Env, where: str) -> None:
    parts = dotted(node.func)
    ok = parts is not None and (
        (len(parts) == 2 and parts[0] == "wp" and parts[1] in WP_ARRAY_KINDS)
        or (len(parts) == 3 and parts[:2] == ["wp", "types"] and parts[2] in WP_TYPE_CONSTRUCTORS))
    if not ok:
        name = ".".join(parts) if parts else short(node.func)
        check_not_refused_wp(node, parts)
        raise Unsafe(node, f"call of '{name}' is not allowed in {a_(where)} (only wp.array(...) and the other "
                           "array kinds, and wp.types.vector/matrix/quaternion/transformation(...))")
    callee = parts[-1]  # type: ignore[index]
    allowed = _TYPE_CALL_KEYWORDS.get(callee, _ARRAY_KEYWORDS)
    if node.args and len(parts) == 2:  # type: ignore[arg-type]
        # wp.array(x): the first parameter of an array is its data (Python would allocate)
        raise Unsafe(node, f"wp.{callee}(...) takes keyword arguments only in {a_(where)} "
                           f"({', '.join(sorted(allowed))})")
    for a in node.args:
        if isinstance(a, ast.Starred):
            raise Unsafe(a, f"*args are not allowed in {a_(where)}")
        check_type_arg(a, env, where)
    for kw in node.keywords:
        if kw.arg is None:
            raise Unsafe(node, f"**kwargs are not allowed in {a_(where)}")
        if kw.arg not in allowed:
            raise Unsafe(node, f"argument '{kw.arg}' of {'.'.join(parts)}(...) is not allowed in "  # type: ignore[arg-type]
                               f"{a_(where)} (only {', '.join(sorted(allowed))}; an array with a shape is allocated)")
        check_type_arg(kw.value, env, where)


def check_type_arg(node: ast.AST, env: Env, where: str) -> None:
    """An argument of a type constructor: a type, an int literal, an int constant, or a tuple of those."""
    value = _int_literal(node)
    if value is not None:
        if abs(value) > _MAX_TYPE_INT:
            raise Unsafe(node, f"{value} is too large for a type argument (at most {_MAX_TYPE_INT})")
        return
    if isinstance(node, ast.Tuple):
        for e in node.elts:
            check_type_arg(e, env, where)
        return
    if isinstance(node, ast.Name) and (b := env.get(node.id)) is not None and b.kind == "const":
        if b.bits > _MAX_TYPE_INT.bit_length() or b.detail == "tuple":
            raise Unsafe(node, f"'{node.id}' may be too large for a type argument (at most {_MAX_TYPE_INT})")
        return
    check_type(node, env, where)


def looks_like_type(node: ast.AST, env: Env) -> bool:
    """Whether a module-level assignment defines a type alias (rather than a constant)."""
    if isinstance(node, ast.Subscript):
        return True
    if isinstance(node, ast.Name):
        b = env.get(node.id)
        return b is not None and (b.kind in ("type", "struct") or (b.kind == "wp" and b.detail in WP_TYPES))
    parts = dotted(node.func if isinstance(node, ast.Call) else node)
    if parts is None or len(parts) < 2 or parts[0] != "wp":
        return False
    if isinstance(node, ast.Call):
        return (len(parts) == 2 and parts[1] in WP_ARRAY_KINDS) or parts[1] == "types"
    return len(parts) == 2 and parts[1] in WP_TYPES


def alias_detail(node: ast.AST, env: Env) -> str:
    """``"value"`` for a type alias of a value type Python may construct at import (a vector or
    matrix type whose sizes are literals of at most 64), else ``""``."""
    if isinstance(node, ast.Call):
        parts = dotted(node.func)
        sizes = [_int_literal(n) for a in (*node.args, *(kw.value for kw in node.keywords))
                 for n in (a.elts if isinstance(a, ast.Tuple) else [a]) if not _is_type_like(n)]
        small = all(v is not None and 0 <= v <= _MAX_VALUE_DIM for v in sizes)
        return "value" if parts and len(parts) == 3 and parts[1] == "types" and small else ""
    if isinstance(node, ast.Name):
        b = env.get(node.id)
        if b is not None and b.kind == "type":
            return b.detail
        return "value" if b is not None and b.kind == "wp" and b.detail in WP_VALUE_TYPES else ""
    parts = dotted(node)
    return "value" if parts and len(parts) == 2 and parts[1] in WP_VALUE_TYPES else ""


def _is_type_like(node: ast.AST) -> bool:
    return isinstance(node, ast.Attribute | ast.Subscript | ast.Call) or (
        isinstance(node, ast.Name) and node.id in ("float", "int", "bool"))


# ---------------------------------------------------------------------------- values


def check_value(node: ast.AST, env: Env, where: str, *, calls: bool) -> int:
    """A value Python computes at import (see the module docstring).  Returns a bound on the bit
    length of the integer it can be, so chains of constants cannot build an integer bomb."""
    if isinstance(node, ast.Constant):
        if isinstance(node.value, bool | int | float):
            return node.value.bit_length() if type(node.value) is int else 64
        if isinstance(node.value, str | bytes):
            raise Unsafe(node, f"string constants are not allowed in {a_(where)}: only numbers, bools and Warp "
                               "values (Warp would evaluate a string used as an annotation)")
        raise Unsafe(node, f"{short(node)} is not allowed in {a_(where)} (only numbers, bools and Warp values)")
    if isinstance(node, ast.Name):
        check_name(node, node.id)
        b = env.get(node.id)
        if b is not None and (b.kind == "const" or (b.kind == "wp" and b.detail in WP_CONSTANTS)):
            return b.bits
        if b is not None and b.kind == "module":
            raise Unsafe(node, f"the module '{node.id}' cannot be used as a value: modules are never aliased")
        if b is not None:
            raise Unsafe(node, f"'{node.id}' is not a constant ({a_(where)} may use numbers, bools, Warp values and "
                               "constants defined above it)")
        raise Unsafe(node, f"name '{node.id}' is not defined ({a_(where)} may use numbers, bools, Warp values and "
                           "constants defined above it)")
    if isinstance(node, ast.Attribute):
        check_attr_name(node)
        parts = dotted(node)
        if parts and len(parts) == 2 and ((parts[0] == "wp" and parts[1] in WP_CONSTANTS)
                                          or (parts[0] == "math" and parts[1] in MATH_CONSTANTS)):
            return 64
        if parts and len(parts) == 3 and parts[0] == "wp" and parts[2] in WP_ENUMS.get(parts[1], ()):
            return 64
        check_not_refused_wp(node, parts)
        raise Unsafe(node, f"{short(node)} is not allowed in {a_(where)} (only wp.<constant> and math.<constant> "
                           "attributes)")
    if isinstance(node, ast.UnaryOp):
        return check_value(node.operand, env, where, calls=calls) + 1
    if isinstance(node, ast.BinOp):
        return _check_value_binop(node, env, where, calls)
    if isinstance(node, ast.Tuple):
        return max((check_value(e, env, where, calls=calls) for e in node.elts), default=0)
    if isinstance(node, ast.Call):
        if not calls:
            raise Unsafe(node, f"{a_(where)} may not call anything (use a number, a bool or a module constant)")
        _check_value_call(node, env, where)
        return 64
    raise Unsafe(node, f"{type(node).__name__} expressions are not allowed in {a_(where)}")


def is_tuple_value(node: ast.AST, env: Env) -> bool:
    if isinstance(node, ast.Name):
        b = env.get(node.id)
        return b is not None and b.detail == "tuple"
    return isinstance(node, ast.Tuple)


def _check_value_binop(node: ast.BinOp, env: Env, where: str, calls: bool) -> int:
    if not isinstance(node.op, _VALUE_OPS):
        raise Unsafe(node, f"operator {type(node.op).__name__} is not allowed in {a_(where)}")
    if is_tuple_value(node.left, env) or is_tuple_value(node.right, env):
        raise Unsafe(node, f"tuples cannot be combined with operators in {a_(where)}")
    left = check_value(node.left, env, where, calls=calls)
    right = check_value(node.right, env, where, calls=calls)
    if isinstance(node.op, ast.Pow | ast.LShift | ast.RShift):
        r = node.right.operand if isinstance(node.right, ast.UnaryOp) and isinstance(node.right.op, ast.USub | ast.UAdd) \
            else node.right
        ok = isinstance(r, ast.Constant) and isinstance(r.value, int | float) and not isinstance(r.value, bool) \
            and abs(r.value) <= _MAX_EXPONENT
        if not ok:
            raise Unsafe(node, f"the right operand of ** and shifts in {a_(where)} must be a number literal of at "
                               f"most {_MAX_EXPONENT}")
        amount = int(abs(r.value))  # type: ignore[union-attr]
        bits = left * max(amount, 1) if isinstance(node.op, ast.Pow) else \
            left + amount if isinstance(node.op, ast.LShift) else left
    elif isinstance(node.op, ast.Mult):
        bits = left + right
    elif isinstance(node.op, ast.Add | ast.Sub | ast.BitOr | ast.BitXor | ast.BitAnd):
        bits = max(left, right) + 1
    else:
        bits = left
    if bits > _MAX_INT_BITS:
        raise Unsafe(node, f"this constant can exceed {_MAX_INT_BITS} bits: integer constants must stay small")
    return bits


def _check_value_call(node: ast.Call, env: Env, where: str) -> None:
    parts = dotted(node.func)
    if isinstance(node.func, ast.Attribute):
        check_attr_name(node.func)
    elif isinstance(node.func, ast.Name):
        check_name(node.func, node.func.id)
    if parts == ["wp", "constant"]:
        if len(node.args) != 1 or node.keywords:
            raise Unsafe(node, "wp.constant takes exactly one argument")
    else:
        ok = parts is not None and (
            (len(parts) == 2 and parts[0] == "wp" and parts[1] in WP_VALUE_TYPES)
            or (len(parts) == 1 and (b := env.get(parts[0])) is not None
                and ((b.kind == "type" and b.detail == "value") or (b.kind == "wp" and b.detail in WP_VALUE_TYPES))))
        if not ok:
            name = ".".join(parts) if parts else short(node.func)
            if parts and len(parts) == 2 and parts[0] == "wp" and parts[1] in WP_REFUSED:
                raise refused_wp(node, "wp." + parts[1], parts[1])
            raise Unsafe(node, f"call of '{name}' is not allowed in {a_(where)} (only wp.constant(...) and Warp value "
                               "types such as wp.vec3(1.0, 0.0, 0.0))")
        if node.keywords:
            raise Unsafe(node, f"keyword arguments are not allowed in {a_(where)}")
    for a in node.args:
        if isinstance(a, ast.Starred):
            raise Unsafe(a, f"*args are not allowed in {a_(where)}")
        check_value(a, env, where, calls=True)


# ---------------------------------------------------------------------------- kernel code


def check_string(node: ast.Constant) -> None:
    value = node.value
    if isinstance(value, bytes):
        raise Unsafe(node, "bytes constants are not allowed in kernel code")
    bad = next((c for c in value if c not in SAFE_STRING_CHARS), None)
    if bad is not None:
        shown = {"\"": "a double quote", "\\": "a backslash", "\r": "a carriage return"}.get(bad, repr(bad))
        raise Unsafe(node, f"string constant {short(node)} contains {shown}: {_STRING_HINT}")
    if "??" in value:
        raise Unsafe(node, f"string constant {short(node)} contains '??' (a C++ trigraph): {_STRING_HINT}")
