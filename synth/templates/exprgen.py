"""A small typed random generator of Warp expressions.

Templates give a kernel its structure; this module owns ``ExprGen``, which fills it with
expressions that are type-correct under Warp 1.19's rules: operands of a binary operator share
one dtype, float-only builtins never see integers, vector builtins only see lengths they accept.  Expressions
also run cleanly on any finite input: divisors cannot be zero (``divisor``), ``sqrt``/``log``/``acos``
/``pow`` arguments are brought into their domain and ``exp``/``sinh``/``cosh`` ones away from overflow
(``safe_arg``), and comparisons against a literal use one inside the inputs' range (``threshold``).
It also owns the builtin tables it draws from (``UNARY_FLOAT``, ``ARITH_UNARY_FLOAT``) and
``paren``, the parenthesisation rule for composing expression text. The types it works over
(``Ty``, ``Scope``, ``FuncSig``, literals) come from ``warp_synth.synth.templates.types``.

Everything is driven by the ``random.Random`` the caller owns, and every choice is made over
lists (never sets or dict views of unordered data), so output is a function of the seed.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Sequence

from warp_synth.synth.templates.types import BOOL, Scope, Ty, literal, mat, scalar, vec

# Float builtins of one argument (all accept float16/32/64 in Warp 1.19).
UNARY_FLOAT: tuple[str, ...] = (
    "sin", "cos", "tan", "asin", "acos", "atan", "sinh", "cosh", "tanh", "exp", "log", "log2",
    "log10", "sqrt", "cbrt", "abs", "sign", "floor", "ceil", "round", "rint", "trunc", "frac",
    "degrees", "radians", "step", "erf", "erfc",
)
ARITH_UNARY_FLOAT: tuple[str, ...] = ("abs", "sign", "floor", "ceil", "trunc", "round")


def paren(e: str) -> str:
    """Parenthesise ``e`` unless it is atomic (a name, literal, call or subscript)."""
    depth = 0
    for ch in e:
        if ch in "([":
            depth += 1
        elif ch in ")]":
            depth -= 1
        elif depth == 0 and ch == " ":
            return f"({e})"
    if e.startswith("-"):
        return f"({e})"
    return e


_NONZERO_LITERAL = re.compile(r"^(?!0(\.0*)?$)[0-9][0-9.e+-]*$")

Production = Callable[[Ty, int], "str | None"]


class ExprGen:
    """Random type-correct expressions over a ``Scope``.

    ``palette`` selects families of productions: ``arith``, ``math``, ``minmax``, ``interp``,
    ``where``, ``cast``, ``bits``, ``linalg``, ``quat``, ``xform``, ``call``.
    """

    ALL = ("arith", "math", "minmax", "interp", "where", "cast", "bits", "linalg", "quat", "xform", "call")

    def __init__(self, rng: random.Random, scope: Scope, palette: Sequence[str] = ALL) -> None:
        self.rng = rng
        self.scope = scope
        self.palette = tuple(palette)
        self.used: list[str] = []  # builtins emitted, in order (provenance / tests)

    # -- helpers ------------------------------------------------------------------------
    def _wp(self, fn: str, *args: str) -> str:
        self.used.append(fn)
        return f"wp.{fn}({', '.join(args)})"

    def has(self, group: str) -> bool:
        return group in self.palette

    def lit(self, ty: Ty) -> str:
        return literal(ty, self.rng)

    def leaf(self, ty: Ty) -> str:
        names = self.scope.of(ty)
        if ty.kind in ("scalar", "bool"):
            if names and self.rng.random() < 0.75:
                return self.rng.choice(names)
            if ty.kind == "bool":
                return self.cond(0)
            return self.lit(ty)
        if names and self.rng.random() < 0.85:
            return self.rng.choice(names)
        return self.ctor(ty, 0)

    def ctor(self, ty: Ty, depth: int) -> str:
        s = ty.scalar()
        if ty.kind == "vec":
            args = [self.expr(s, depth - 1) if self.rng.random() < 0.5 else self.leaf(s) for _ in range(ty.n)]
            if ty.n > 4:
                return f"wp.vector({', '.join(args)}, length={ty.n}, dtype=wp.{ty.dtype})"
            return f"{ty.name}({', '.join(args)})"
        if ty.kind == "mat":
            if self.rng.random() < 0.5:
                return self._wp("identity", f"n={ty.n}", f"dtype=wp.{ty.dtype}")
            return self._wp("diag", self.expr(vec(ty.n, ty.dtype), depth - 1))
        if ty.kind == "quat":
            if self.rng.random() < 0.3:
                return self._wp("quat_identity", f"dtype=wp.{ty.dtype}")
            axis = self._wp("normalize", self.expr(vec(3, ty.dtype), depth - 1))
            return self._wp("quat_from_axis_angle", axis, self.leaf(s))
        if ty.kind == "transform":
            p = self.expr(vec(3, ty.dtype), depth - 1)
            q = self.expr(Ty("quat", ty.dtype), depth - 1)
            return f"{ty.name}({p}, {q})"
        return self.lit(ty)

    # -- entry points -------------------------------------------------------------------
    def expr(self, ty: Ty, depth: int = 2) -> str:
        if ty.kind == "bool":
            return self.cond(depth)
        if depth <= 0:
            return self.leaf(ty)
        table: dict[str, list[tuple[float, Production]]] = {
            "scalar": self._scalar_prods(ty),
            "vec": self._vec_prods(ty),
            "mat": self._mat_prods(ty),
            "quat": self._quat_prods(ty),
            "transform": self._xform_prods(ty),
        }
        prods = table[ty.kind]
        for _ in range(6):
            weights = [w for w, _ in prods]
            fn = self.rng.choices([p for _, p in prods], weights=weights)[0]
            out = fn(ty, depth)
            if out is not None:
                return out
        return self.leaf(ty)

    def cond(self, depth: int = 1, dtype: str | None = None) -> str:
        """A boolean expression comparing scalars in scope (of ``dtype`` if given)."""
        r = self.rng.random()
        if depth > 0 and r < 0.18:
            a, b = self.cond(depth - 1, dtype), self.cond(depth - 1, dtype)
            return f"{paren(a)} {self.rng.choice(('and', 'or'))} {paren(b)}"
        if depth > 0 and r < 0.24:
            return f"not {paren(self.cond(depth - 1, dtype))}"
        bools = self.scope.of(BOOL)
        if bools and r < 0.3:
            return self.rng.choice(bools)
        dt = dtype or self._pick_scalar_dtype()
        s = scalar(dt)
        if s.is_float and self.rng.random() < 0.12:
            fn = self.rng.choice(("isnan", "isinf", "isfinite"))
            e = self._wp(fn, self.expr(s, max(depth - 1, 0)))
            return e if fn != "isfinite" or self.rng.random() < 0.5 else f"not {e}"
        if not s.is_float and self.rng.random() < 0.2:
            mask = self.lit(s)
            return f"({self.leaf(s)} & {mask}) {self.rng.choice(('==', '!='))} {self.lit(s)}"
        op = self.rng.choice(("<", ">", "<=", ">=", "==", "!=", "<", ">"))
        names = self.scope.of(s)
        left = self.rng.choice(names) if names and self.rng.random() < 0.6 else self.expr(s, max(depth - 1, 0))
        right = self.leaf(s)
        if right == left or right not in names:
            right = self.threshold(s)
        return f"{paren(left)} {op} {paren(right)}"

    def threshold(self, ty: Ty) -> str:
        """A literal inside the range of typical values (inputs and indices), so both branches run."""
        if ty.is_float:
            return self.typed(ty, self.rng.choice(("0.5", "0.75", "0.3", "0.6", "0.4", "0.9")))  # not the ends
        return self.typed(ty, str(self.rng.choice((1, 2, 3, 4, 2))))

    def _pick_scalar_dtype(self) -> str:
        dts = [t.dtype for _, t in self.scope.vars if t.kind == "scalar"]
        return self.rng.choice(dts) if dts else "float32"

    # -- scalar -------------------------------------------------------------------------
    def _scalar_prods(self, ty: Ty) -> list[tuple[float, Production]]:
        p: list[tuple[float, Production]] = [(2.0, lambda t, d: self.leaf(t))]
        if self.has("arith"):
            p += [(4.0, self._binop), (0.4, lambda t, d: f"-{paren(self.expr(t, d - 1))}")]
        if self.has("math") and ty.is_float:
            p += [(3.0, self._unary_math), (0.8, self._binary_math)]
        if self.has("minmax"):
            p += [(1.2, self._minmax)]
        if self.has("interp") and ty.is_float:
            p += [(0.8, self._interp)]
        if self.has("where"):
            p += [(0.6, lambda t, d: self._wp("where", self.cond(1), *self.two(t, d - 1)))]
        if self.has("cast"):
            p += [(0.6, self._cast)]
        if self.has("bits") and not ty.is_float:
            p += [(2.0, self._bitop)]
        if self.has("linalg"):
            p += [(1.5, self._from_vec), (0.6, self._from_mat)]
        if self.has("quat") and ty.is_float:
            p += [(0.4, self._from_quat)]
        if self.has("call"):
            p += [(1.5, self._call)]
        return p

    def two(self, ty: Ty, depth: int) -> tuple[str, str]:
        """Two operands, distinct where possible (``wp.min(x, x)`` and ``x - x`` fold to constants)."""
        a, b = self.expr(ty, depth), self.expr(ty, depth)
        for _ in range(2):
            if a != b:
                break
            b = self.expr(ty, depth)
        return a, b

    def _binop(self, ty: Ty, depth: int) -> str:
        ops = ["+", "-", "*", "/"] if ty.is_float else ["+", "-", "*", "//", "%", "+", "-"]
        op = self.rng.choice(ops)
        a, b = self.two(ty, depth - 1)
        if op in ("/", "//", "%"):
            b = self.divisor(ty, b)
        return f"{paren(a)} {op} {paren(b)}"

    def typed(self, ty: Ty, text: str) -> str:
        """A literal ``text`` of scalar type ``ty`` (bare for float32/int32)."""
        return text if ty.dtype in ("float32", "int32") else f"wp.{ty.dtype}({text})"

    def divisor(self, ty: Ty, e: str) -> str:
        """``e`` made a divisor that cannot be zero: a nonzero literal stays, anything else is guarded
        (``wp.abs(e) + 1`` for floats, ``wp.max(e, 1)`` or a positive literal for integers)."""
        if ty.is_float:
            if _NONZERO_LITERAL.match(e.removeprefix(f"wp.{ty.dtype}(").rstrip(")")):
                return e
            return f"{self._wp('abs', e)} + {self.typed(ty, self.rng.choice(('1.0', '0.5', '1.0')))}"
        if self.rng.random() < 0.4:
            return self.typed(ty, str(self.rng.choice((2, 3, 4, 5, 7, 8, 16))))
        return self._wp("max", e, self.typed(ty, "1"))

    def safe_arg(self, fn: str, ty: Ty, e: str) -> str:
        """The argument of float builtin ``fn`` brought into its domain (and away from overflow)."""
        if fn in ("sqrt", "log", "log2", "log10"):
            e = self._wp("abs", e)
            return e if fn == "sqrt" else f"{e} + {self.typed(ty, self.rng.choice(('1.0', '1e-3', '0.5')))}"
        if fn in ("asin", "acos"):
            return self._wp("clamp", e, self.typed(ty, "-1.0"), self.typed(ty, "1.0"))
        if fn in ("exp", "sinh", "cosh"):
            lim = self.rng.choice(("2.0", "4.0"))
            return self._wp("clamp", e, self.typed(ty, f"-{lim}"), self.typed(ty, lim))
        return e

    def _bitop(self, ty: Ty, depth: int) -> str:
        if self.rng.random() < 0.15:
            return f"~{paren(self.expr(ty, depth - 1))}"
        op = self.rng.choice(("&", "|", "^", "<<", ">>"))
        b = self.lit(ty) if op in ("<<", ">>") else self.expr(ty, depth - 1)
        return f"{paren(self.expr(ty, depth - 1))} {op} {paren(b)}"

    def _unary_math(self, ty: Ty, depth: int) -> str:
        fn = self.rng.choice(UNARY_FLOAT)
        return self._wp(fn, self.safe_arg(fn, ty, self.expr(ty, depth - 1)))

    def _binary_math(self, ty: Ty, depth: int) -> str:
        if self.rng.random() < 0.5:
            return self._wp("atan2", self.expr(ty, depth - 1), self.expr(ty, depth - 1))
        base = self._wp("abs", self.expr(ty, depth - 1))
        return self._wp("pow", base, self.typed(ty, self.rng.choice(("0.5", "1.5", "2.0", "3.0", "0.25"))))

    def _minmax(self, ty: Ty, depth: int) -> str:
        r = self.rng.random()
        if r < 0.5:
            return self._wp(self.rng.choice(("min", "max")), *self.two(ty, depth - 1))
        if r < 0.75:
            return self._wp("clamp", self.expr(ty, depth - 1), self.leaf(ty), self.leaf(ty))
        fns = ARITH_UNARY_FLOAT if ty.is_float else ("abs", "sign")
        return self._wp(self.rng.choice(fns), self.expr(ty, depth - 1))

    def _interp(self, ty: Ty, depth: int) -> str:
        fn = self.rng.choice(("lerp", "smoothstep", "lerp"))
        a, b = self.expr(ty, depth - 1), self.expr(ty, depth - 1)
        if fn == "smoothstep":  # its edges must differ (it divides by their difference)
            a, b = self.typed(ty, "0.0"), self.typed(ty, self.rng.choice(("1.0", "0.5", "2.0")))
        return self._wp(fn, a, b, self.leaf(ty))

    def _cast(self, ty: Ty, depth: int) -> str | None:
        others = [t for _, t in self.scope.vars if t.kind == "scalar" and t != ty]
        if not others:
            return None
        src = self.rng.choice(others)
        if src.dtype == "float16" and not ty.is_float:
            return None  # float16 -> int conversions are not provided
        spelled = {"float32": "float", "int32": "int"}.get(ty.dtype)
        ctor = spelled if spelled and self.rng.random() < 0.4 else f"wp.{ty.dtype}"
        return f"{ctor}({self.expr(src, depth - 1)})"

    def _vec_types(self, dtype: str) -> list[Ty]:
        return [t for _, t in self.scope.vars if t.kind == "vec" and t.dtype == dtype]

    def _from_vec(self, ty: Ty, depth: int) -> str | None:
        cands = self._vec_types(ty.dtype)
        if not cands:
            return None
        v = self.rng.choice(cands)
        r = self.rng.random()
        if r < 0.3:
            return f"{self.leaf(v)}[{self.rng.randrange(v.n)}]"
        if r < 0.55:
            return self._wp("dot", self.expr(v, depth - 1), self.expr(v, depth - 1))
        if ty.is_float and r < 0.85:
            # norm_l1/norm_l2 are Python-defined in Warp 1.19 with a float32 accumulator
            norms = ("norm_l1", "norm_l2") if ty.dtype == "float32" else ()
            fn = self.rng.choice(("length", "length_sq", *norms))
            return self._wp(fn, self.expr(v, depth - 1))
        return self._wp(self.rng.choice(("min", "max")), self.expr(v, depth - 1))

    def _from_mat(self, ty: Ty, depth: int) -> str | None:
        cands = [t for _, t in self.scope.vars if t.kind == "mat" and t.dtype == ty.dtype]
        if not cands:
            return None
        m = self.rng.choice(cands)
        r = self.rng.random()
        if r < 0.35:
            return f"{self.leaf(m)}[{self.rng.randrange(m.n)}, {self.rng.randrange(m.n)}]"
        if r < 0.65:
            return self._wp(self.rng.choice(("determinant", "trace")), self.expr(m, depth - 1))
        return self._wp("ddot", self.expr(m, depth - 1), self.leaf(m))

    def _from_quat(self, ty: Ty, depth: int) -> str | None:
        q = Ty("quat", ty.dtype)
        if not self.scope.of(q):
            return None
        r = self.rng.random()
        if r < 0.5:
            return f"{self.leaf(q)}[{self.rng.randrange(4)}]"
        if r < 0.75:
            return self._wp("length", self.expr(q, depth - 1))
        return self._wp("dot", self.leaf(q), self.expr(q, depth - 1))

    def _call(self, ty: Ty, depth: int) -> str | None:
        fs = [f for f in self.scope.funcs if f.ret == ty]
        if not fs:
            return None
        f = self.rng.choice(fs)
        return f"{f.name}({', '.join(self.expr(p, depth - 1) for p in f.params)})"

    # -- vector -------------------------------------------------------------------------
    def _vec_prods(self, ty: Ty) -> list[tuple[float, Production]]:
        p: list[tuple[float, Production]] = [(2.0, lambda t, d: self.leaf(t)), (0.7, self.ctor)]
        if self.has("arith"):
            p += [(3.0, self._vec_binop), (2.0, self._vec_scale), (0.3, lambda t, d: f"-{paren(self.expr(t, d - 1))}")]
        if self.has("minmax"):
            p += [(0.8, lambda t, d: self._wp(self.rng.choice(("min", "max")), self.expr(t, d - 1),
                                                self.expr(t, d - 1)))]
        if self.has("linalg"):
            p += [(2.0, self._vec_linalg)]
        if self.has("interp") and ty.is_float:
            p += [(0.5, lambda t, d: self._wp("lerp", self.expr(t, d - 1), self.expr(t, d - 1),
                                              self.leaf(t.scalar())))]
        if self.has("quat") and ty.is_float and ty.n == 3:
            p += [(1.2, self._vec_quat)]
        if self.has("xform") and ty.is_float and ty.n == 3:
            p += [(1.2, self._vec_xform)]
        if self.has("call"):
            p += [(1.0, self._call)]
        if self.has("where"):
            p += [(0.3, lambda t, d: self._wp("where", self.cond(1), *self.two(t, d - 1)))]
        return p

    def _vec_binop(self, ty: Ty, depth: int) -> str:
        op = self.rng.choice(("+", "-", "+"))
        return f"{paren(self.expr(ty, depth - 1))} {op} {paren(self.expr(ty, depth - 1))}"

    def _vec_scale(self, ty: Ty, depth: int) -> str:
        v, s = paren(self.expr(ty, depth - 1)), paren(self.expr(ty.scalar(), depth - 1))
        if ty.is_float and self.rng.random() < 0.25:
            return f"{v} / {paren(self.divisor(ty.scalar(), s))}"
        return f"{s} * {v}" if self.rng.random() < 0.5 else f"{v} * {s}"

    def _vec_linalg(self, ty: Ty, depth: int) -> str | None:
        r = self.rng.random()
        mats = [t for _, t in self.scope.vars if t.kind == "mat" and t.dtype == ty.dtype and t.n == ty.n]
        if mats and r < 0.3:
            m = self.expr(self.rng.choice(mats), depth - 1)
            v = self.expr(ty, depth - 1)
            return f"{paren(m)} * {paren(v)}" if self.rng.random() < 0.7 else self._wp("mul", m, v)
        if ty.is_float and r < 0.5:
            return self._wp("normalize", self.expr(ty, depth - 1))
        if ty.is_float and ty.n == 3 and r < 0.7:
            return self._wp("cross", self.expr(ty, depth - 1), self.expr(ty, depth - 1))
        if r < 0.85:
            if ty.is_float and self.rng.random() < 0.5:  # a divisor with no zero component
                d = f"{self._wp('abs', self.expr(ty, depth - 1))} + {self.ctor_ones(ty)}"
                return self._wp("cw_div", self.expr(ty, depth - 1), d)
            return self._wp("cw_mul", self.expr(ty, depth - 1), self.expr(ty, depth - 1))
        if ty.is_float:
            return self._wp("abs", self.expr(ty, depth - 1))
        return None

    def ctor_ones(self, ty: Ty) -> str:
        ones = ", ".join([self.typed(ty.scalar(), "1.0")] * ty.n)
        if ty.n > 4:
            return f"wp.vector({ones}, length={ty.n}, dtype=wp.{ty.dtype})"
        return f"{ty.name}({ones})"

    def _vec_quat(self, ty: Ty, depth: int) -> str:
        fn = self.rng.choice(("quat_rotate", "quat_rotate_inv", "quat_rotate"))
        return self._wp(fn, self.expr(Ty("quat", ty.dtype), depth - 1), self.expr(ty, depth - 1))

    def _vec_xform(self, ty: Ty, depth: int) -> str:
        t = Ty("transform", ty.dtype)
        r = self.rng.random()
        if r < 0.2:
            return self._wp("transform_get_translation", self.expr(t, depth - 1))
        fn = "transform_point" if r < 0.6 else "transform_vector"
        return self._wp(fn, self.expr(t, depth - 1), self.expr(ty, depth - 1))

    # -- matrix / quaternion / transform --------------------------------------------------
    def _mat_prods(self, ty: Ty) -> list[tuple[float, Production]]:
        return [(2.0, lambda t, d: self.leaf(t)), (0.5, self.ctor), (3.0, self._mat_op)]

    def _mat_op(self, ty: Ty, depth: int) -> str:
        r = self.rng.random()
        d = depth - 1
        if r < 0.2:
            return f"{paren(self.expr(ty, d))} {self.rng.choice(('+', '-', '*'))} {paren(self.expr(ty, d))}"
        if r < 0.35:
            return f"{paren(self.expr(ty.scalar(), d))} * {paren(self.expr(ty, d))}"
        if r < 0.5:
            return self._wp("transpose", self.expr(ty, d))
        if r < 0.6:
            return self._wp("inverse", self.expr(ty, d))
        if r < 0.75:
            v = vec(ty.n, ty.dtype)
            return self._wp("outer", self.expr(v, d), self.expr(v, d))
        if ty.n == 3 and r < 0.87:
            return self._wp("quat_to_matrix", self.expr(Ty("quat", ty.dtype), d))
        if ty.n == 3:
            return self._wp("skew", self.expr(vec(3, ty.dtype), d))
        return self._wp("diag", self.expr(vec(ty.n, ty.dtype), d))

    def _quat_prods(self, ty: Ty) -> list[tuple[float, Production]]:
        return [(2.0, lambda t, d: self.leaf(t)), (1.0, self.ctor), (3.0, self._quat_op)]

    def _quat_op(self, ty: Ty, depth: int) -> str:
        r = self.rng.random()
        d = depth - 1
        s = ty.scalar()
        if r < 0.25:
            return f"{paren(self.expr(ty, d))} * {paren(self.expr(ty, d))}"
        if r < 0.4:
            return self._wp(self.rng.choice(("quat_inverse", "normalize")), self.expr(ty, d))
        if r < 0.55:
            return self._wp("quat_rpy", self.expr(s, d), self.expr(s, d), self.leaf(s))
        if r < 0.7:
            return self._wp("quat_slerp", self.expr(ty, d), self.expr(ty, d), self.leaf(s))
        if r < 0.82:
            return self._wp("quat_from_matrix", self.expr(mat(3, ty.dtype), d))
        if r < 0.9:
            return self._wp("transform_get_rotation", self.expr(Ty("transform", ty.dtype), d))
        return self.ctor(ty, depth)

    def _xform_prods(self, ty: Ty) -> list[tuple[float, Production]]:
        return [(2.0, lambda t, d: self.leaf(t)), (1.0, self.ctor), (2.0, self._xform_op)]

    def _xform_op(self, ty: Ty, depth: int) -> str:
        r = self.rng.random()
        d = depth - 1
        if r < 0.35:
            return f"{paren(self.expr(ty, d))} * {paren(self.expr(ty, d))}"
        if r < 0.55:
            return self._wp("transform_multiply", self.expr(ty, d), self.expr(ty, d))
        if r < 0.8:
            return self._wp("transform_inverse", self.expr(ty, d))
        return self._wp("transform_identity", f"dtype=wp.{ty.dtype}")
