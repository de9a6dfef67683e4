"""Expression-level operators: swap an operator or builtin, perturb a constant, hoist a temporary."""

from __future__ import annotations

import random

import libcst as cst

from warp_synth.synth.mutators.base import (
    ModuleInfo,
    NodeCtx,
    Operator,
    guarded_spans,
    in_spans,
    insert_before,
    wp_call,
)
from warp_synth.synth.mutators.walk import replace
from warp_synth.synth.mutators.wptypes import FLOATS, INTS, SCALARS, is_composite

_ARITH: dict[type[cst.BaseBinaryOp], str] = {cst.Add: "+", cst.Subtract: "-", cst.Multiply: "*", cst.Divide: "/"}
_OPS: dict[str, type[cst.BaseBinaryOp]] = {v: k for k, v in _ARITH.items()}


def _paren(e: cst.BaseExpression) -> cst.BaseExpression:
    if isinstance(e, (cst.BinaryOperation, cst.UnaryOperation)) and not e.lpar:
        return e.with_changes(lpar=[cst.LeftParen()], rpar=[cst.RightParen()])
    return e


class SwapArithmetic(Operator):
    """``a + b`` -> ``a - b`` (and ``*``/``/`` when both sides have the same scalar type)."""

    name = "swap_arith"
    changes = "an arithmetic operator swapped"

    def _choices(self, info: ModuleInfo, c: NodeCtx) -> list[str]:
        node = c.node
        assert isinstance(node, cst.BinaryOperation)
        old = _ARITH.get(type(node.operator))
        if old is None:
            return []
        lt, rt = info.type_of(node.left, c.func), info.type_of(node.right, c.func)
        if lt is not None and lt == rt and lt in FLOATS:
            pool = "+-*/"
        elif lt is not None and lt == rt and lt in INTS:
            pool = "+-*"
        elif old in "*/" and is_composite(lt) and rt in SCALARS:
            pool = "*/"
        elif old in "+-":
            pool = "+-"
        else:
            return []
        return [op for op in pool if op != old]

    def sites(self, info: ModuleInfo) -> list[NodeCtx]:
        spans = guarded_spans(info)
        return [
            c for c in info.nodes
            if c.in_expr_body and isinstance(c.node, cst.BinaryOperation) and not in_spans(c, spans)
            and self._choices(info, c)
        ]

    def apply(self, info: ModuleInfo, site: NodeCtx, rng: random.Random) -> cst.Module | None:
        node = site.node
        assert isinstance(node, cst.BinaryOperation)
        new_op = rng.choice(self._choices(info, site))
        old = node.operator
        op = _OPS[new_op](whitespace_before=old.whitespace_before, whitespace_after=old.whitespace_after)
        new = node.with_changes(operator=op)
        if new_op in "*/" and _ARITH[type(old)] in "+-":  # higher precedence: keep the tree's shape
            new = new.with_changes(left=_paren(node.left), right=_paren(node.right))
        if new_op in "+-" and isinstance(site.parent, (cst.BinaryOperation, cst.UnaryOperation)):
            new = _paren(new)  # lower precedence inside another operation: keep the tree's shape
        return replace(info.module, node, new)


_CMP = {"<": cst.LessThan, "<=": cst.LessThanEqual, ">": cst.GreaterThan, ">=": cst.GreaterThanEqual,
        "==": cst.Equal, "!=": cst.NotEqual}
_CMP_NAME = {v: k for k, v in _CMP.items()}


def _jump_guard(c: NodeCtx) -> bool:
    """``c`` is the test of ``if t: return`` (``continue``, ``break``): swapped, a bounds guard can skip
    every thread or a loop every iteration."""
    parent = c.parent
    if not (isinstance(parent, cst.If) and parent.test is c.node and isinstance(parent.body, cst.IndentedBlock)):
        return False
    body = parent.body.body
    return (len(body) == 1 and isinstance(body[0], cst.SimpleStatementLine)
            and isinstance(body[0].body[0], (cst.Return, cst.Continue, cst.Break)))


class SwapComparison(Operator):
    """``x < y`` -> ``x >= y`` (any other ordering/equality operator)."""

    name = "swap_compare"
    changes = "a comparison operator changed"

    def sites(self, info: ModuleInfo) -> list[NodeCtx]:
        out = []
        for c in info.nodes:
            node = c.node
            if not (c.in_expr_body and isinstance(node, cst.Comparison) and len(node.comparisons) == 1):
                continue
            if _jump_guard(c) or isinstance(c.stmt, cst.While):  # a while's test: it may never turn false
                continue
            if type(node.comparisons[0].operator) not in _CMP_NAME:
                continue
            if is_composite(info.type_of(node.left, c.func)):  # vectors only have == / !=
                continue
            out.append(c)
        return out

    def apply(self, info: ModuleInfo, site: NodeCtx, rng: random.Random) -> cst.Module | None:
        node = site.node
        assert isinstance(node, cst.Comparison)
        target = node.comparisons[0]
        old = _CMP_NAME[type(target.operator)]
        choices = [k for k in _CMP if k != old]
        if info.type_of(node.left, site.func) in FLOATS or info.type_of(target.comparator, site.func) in FLOATS:
            # a float equal to another float almost never holds on continuous inputs: a dead branch
            choices = [k for k in choices if k not in ("==", "!=")]
        new_op = _CMP[rng.choice(choices)]()
        new = node.with_changes(comparisons=[target.with_changes(operator=new_op)])
        return replace(info.module, node, new)


# never swapped in: NaN or overflow for some finite arguments, or (floor, ceil) a constant on most
# of the inputs kernels are run with (floats in [0.25, 1]), which makes a kernel ignore its input
_UNBOUNDED = frozenset({"sqrt", "log", "exp", "sinh", "cosh", "floor", "ceil"})
_FAMILIES: dict[str, list[list[str]]] = {
    "swap_math_func": [
        ["sin", "cos", "tan", "tanh", "sinh", "cosh", "exp", "sqrt", "abs", "floor", "ceil", "atan", "log"],
    ],
    "swap_reduction": [
        ["min", "max"],
        ["length", "length_sq"],
        ["cross", "cw_mul"],
        ["atan2", "pow"],
    ],
    # add <-> sub and min <-> max: a min/max of a derived value in place of an add often beats no slot
    # (the kernel then writes nothing)
    "swap_atomic": [["atomic_add", "atomic_sub"], ["atomic_min", "atomic_max"]],
}


class _SwapBuiltin(Operator):
    """Replace ``wp.f(...)`` by a builtin of the same family (same argument and result types)."""

    def _family(self, fn: str | None) -> list[str]:
        return next((fam for fam in _FAMILIES[self.name] if fn in fam), [])

    def _targets(self, old: str) -> list[str]:
        return [f for f in self._family(old) if f != old]

    def _ok(self, info: ModuleInfo, c: NodeCtx) -> bool:
        return True

    def sites(self, info: ModuleInfo) -> list[NodeCtx]:
        spans = guarded_spans(info)
        return [
            c for c in info.nodes
            if c.in_expr_body and self._targets(wp_call(c.node) or "") and not in_spans(c, spans)
            and self._ok(info, c)
        ]

    def apply(self, info: ModuleInfo, site: NodeCtx, rng: random.Random) -> cst.Module | None:
        node = site.node
        assert isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute)
        old = node.func.attr.value
        new = rng.choice(self._targets(old))
        return replace(info.module, node.func.attr, cst.Name(new))


class SwapMathFunc(_SwapBuiltin):
    """``wp.sin(x)`` -> ``wp.tanh(x)`` for a float scalar ``x``.

    Only into builtins defined and finite for every finite argument: ``wp.sqrt``/``wp.log``/``wp.exp``
    (and ``sinh``/``cosh``) are swapped away, never in (their arguments carry a domain guard)."""

    name = "swap_math_func"
    changes = "a math builtin replaced by another"

    def _targets(self, old: str) -> list[str]:
        return [f for f in self._family(old) if f != old and f not in _UNBOUNDED]

    def _ok(self, info: ModuleInfo, c: NodeCtx) -> bool:
        node = c.node
        assert isinstance(node, cst.Call)
        # only a known float scalar: several family members have no vector overload
        return len(node.args) == 1 and info.type_of(node.args[0].value, c.func) in FLOATS


class SwapReduction(_SwapBuiltin):
    """``wp.min`` <-> ``wp.max``, ``wp.length`` <-> ``wp.length_sq``, ``wp.cross`` <-> ``wp.cw_mul`` ...
    (``wp.pow`` -> ``wp.atan2`` only: ``pow`` of a negative base is NaN)."""

    name = "swap_reduction"
    changes = "a min/max or vector builtin swapped for its counterpart"

    def _targets(self, old: str) -> list[str]:
        return [f for f in super()._targets(old) if f != "pow"]


class SwapAtomic(_SwapBuiltin):
    """``wp.atomic_add(a, i, v)`` -> ``wp.atomic_sub(a, i, v)``, ``atomic_min`` <-> ``atomic_max`` (on vector
    arrays, any atomic becomes add or sub)."""

    name = "swap_atomic"
    changes = "an atomic operation swapped for another"

    def apply(self, info: ModuleInfo, site: NodeCtx, rng: random.Random) -> cst.Module | None:
        node = site.node
        assert isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute)
        arr = info.type_of(node.args[0].value, site.func) if node.args else None
        if arr is not None and ("vec" in arr or "mat" in arr or "quat" in arr):
            old = node.func.attr.value
            new = "atomic_sub" if old != "atomic_sub" else "atomic_add"
            return replace(info.module, node.func.attr, cst.Name(new))
        return super().apply(info, site, rng)


def _typed_thresholds(info: ModuleInfo) -> set[cst.CSTNode]:
    """Float literals compared through a type constructor: the ``0.25`` of ``x <= wp.float64(0.25)``."""
    out: set[cst.CSTNode] = set()
    for c in info.nodes:
        if isinstance(c.node, cst.Comparison):
            for e in (c.node.left, *(t.comparator for t in c.node.comparisons)):
                if (isinstance(e, cst.Call) and (wp_call(e) or "").startswith("float") and len(e.args) == 1
                        and isinstance(e.args[0].value, cst.Float)):
                    out.add(e.args[0].value)
    return out


class PerturbConstant(Operator):
    """Change a numeric literal: floats are scaled or resampled, ints nudged (indices are left alone)."""

    name = "perturb_constant"
    changes = "a numeric constant changed"

    def sites(self, info: ModuleInfo) -> list[NodeCtx]:
        spans = guarded_spans(info)
        return [
            c for c in info.nodes
            if c.in_expr_body
            and isinstance(c.node, (cst.Integer, cst.Float))
            and not isinstance(c.parent, (cst.Index, cst.SubscriptElement))
            and not in_spans(c, spans)
        ]

    def apply(self, info: ModuleInfo, site: NodeCtx, rng: random.Random) -> cst.Module | None:
        node = site.node
        if isinstance(node, cst.Float):
            old = float(node.evaluated_value)
            new = old * rng.choice([0.5, 2.0, 1.5, 0.25, 3.0, 0.1]) if old else rng.choice([0.5, 1.0, 2.0])
            if rng.random() < 0.3:
                new = round(rng.uniform(0.1, 10.0), rng.choice([1, 2, 3]))
            if isinstance(site.parent, (cst.Comparison, cst.ComparisonTarget)) or node in _typed_thresholds(info):
                new = round(rng.uniform(0.3, 0.9), 2)  # a threshold stays inside the data's range (both branches run)
            text = repr(round(new, 6))
            text = text if ("." in text or "e" in text) else text + ".0"
            return replace(info.module, node, cst.Float(text))
        assert isinstance(node, cst.Integer)
        old_i = int(node.evaluated_value)
        new_i = max(1 if old_i else 0, old_i + rng.choice([-1, 1, 2, 3]))
        new_i = new_i if new_i != old_i else old_i + 1
        return replace(info.module, node, cst.Integer(str(new_i)))


class SplitTemporary(Operator):
    """Hoist a sub-expression into a fresh local: ``y = a * (b + c)`` -> ``t = b + c; y = a * t``."""

    name = "split_temporary"
    changes = None  # results unchanged

    def sites(self, info: ModuleInfo) -> list[NodeCtx]:
        out = []
        spans = guarded_spans(info)  # a hoisted guard would lose its protection from the other operators
        for c in info.nodes:
            if not (c.in_expr_body and isinstance(c.node, (cst.BinaryOperation, cst.Call))):
                continue
            if in_spans(c, spans):
                continue
            if wp_call(c.node) in ("tid", "atomic_add", "atomic_sub", "atomic_min", "atomic_max"):
                continue
            if isinstance(c.parent, (cst.Assign, cst.AugAssign, cst.Return, cst.Expr)):
                continue  # already the whole statement: hoisting would only add a copy
            if isinstance(c.stmt, cst.While) or isinstance(c.parent, cst.Attribute):
                continue
            out.append(c)
        return out

    def apply(self, info: ModuleInfo, site: NodeCtx, rng: random.Random) -> cst.Module | None:
        node = site.node
        assert isinstance(node, cst.BaseExpression) and site.stmt is not None
        name = info.fresh(rng.choice(["tmp", "t", "term", "val"]))
        value = node.with_changes(lpar=[], rpar=[])
        assign = cst.SimpleStatementLine([cst.Assign([cst.AssignTarget(cst.Name(name))], value)])
        new_stmt = replace(site.stmt, node, cst.Name(name))
        return insert_before(info.module, site.stmt, [assign], new_stmt)
