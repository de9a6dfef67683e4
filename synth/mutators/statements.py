"""Statement-level operators: guards, branches, loops and atomics around existing statements."""

from __future__ import annotations

import random

import libcst as cst

from warp_synth.synth.mutators.base import (
    FuncInfo,
    ModuleInfo,
    NodeCtx,
    Operator,
    assigned_in,
    assigned_names,
    code,
    contains,
    expr,
    loop_progress,
    stmt,
    wp_call,
)
from warp_synth.synth.mutators.walk import replace
from warp_synth.synth.mutators.wptypes import array_parts


def _stmt_sites(info: ModuleInfo) -> list[NodeCtx]:
    """Statements that sit directly in the block of a kernel/func body."""
    return [c for c in info.nodes if c.func is not None and c.stmt is c.node]


def _func_range(info: ModuleInfo, func: FuncInfo) -> list[NodeCtx]:
    start = next(c for c in info.nodes if c.node is func.node)
    return info.subtree(start)


def _name_positions(info: ModuleInfo, func: FuncInfo, name: str) -> list[int]:
    return [c.index for c in _func_range(info, func) if isinstance(c.node, cst.Name) and c.node.value == name]


def _int_vars_before(info: ModuleInfo, c: NodeCtx) -> list[str]:
    """int32 variables surely bound before statement ``c``: earlier tid vars and enclosing loop vars."""
    assert c.func is not None
    out = [v for v in c.func.tid_vars if min(_name_positions(info, c.func, v), default=c.index) < c.index]
    out += [lp.target.value for lp in c.loops if isinstance(lp, cst.For) and isinstance(lp.target, cst.Name)]
    return out


class WrapInBranch(Operator):
    """Put a statement under a data-independent condition: ``s`` -> ``if i % 2 == 0: s``."""

    name = "wrap_in_branch"
    changes = "a statement wrapped in a branch"

    def _conditions(self, info: ModuleInfo, c: NodeCtx, rng: random.Random | None) -> list[str]:
        assert c.func is not None
        k = rng.randint(2, 8) if rng else 2
        conds = []
        for v in _int_vars_before(info, c):
            conds += [f"{v} % 2 == 0", f"{v} % {k} != 0", f"{v} < {k}", f"{v} > {k}"]
        if not conds:
            for p, t in c.func.params.items():
                if t == "float32":
                    conds += [f"{p} > 0.0", f"{p} < {k}.5"]
                elif t == "int32":
                    conds += [f"{p} > 0", f"{p} % 2 == 1"]
        return conds

    def _binds_escaping_name(self, info: ModuleInfo, c: NodeCtx) -> bool:
        assert c.func is not None
        for name in assigned_in(info.subtree(c)):
            if name in c.func.params:
                continue
            pos = _name_positions(info, c.func, name)
            if min(pos) >= c.index and max(pos) > c.end:  # first bound here and read afterwards
                return True
        return False

    def sites(self, info: ModuleInfo) -> list[NodeCtx]:
        return [
            c for c in _stmt_sites(info)
            if not any(isinstance(n.node, cst.Return) or wp_call(n.node) == "tid" for n in info.subtree(c))
            and not self._binds_escaping_name(info, c)
            and not loop_progress(info, c)
            and self._conditions(info, c, None)
        ]

    def apply(self, info: ModuleInfo, site: NodeCtx, rng: random.Random) -> cst.Module | None:
        node = site.node
        assert isinstance(node, cst.BaseStatement)
        cond = rng.choice(self._conditions(info, site, rng))
        lead = getattr(node, "leading_lines", ())
        inner = node.with_changes(leading_lines=[])  # type: ignore[call-arg]
        new = cst.If(test=expr(cond), body=cst.IndentedBlock([inner]), leading_lines=lead)
        return replace(info.module, node, new)


class EarlyContinue(Operator):
    """Skip some iterations: prepend ``if k % 3 == 1: continue`` to a ``for k in range(...)`` body."""

    name = "early_continue"
    changes = "some loop iterations skipped"

    def sites(self, info: ModuleInfo) -> list[NodeCtx]:
        return [
            c for c in _stmt_sites(info)
            if isinstance(c.node, cst.For) and isinstance(c.node.target, cst.Name)
            and isinstance(c.node.body, cst.IndentedBlock)
        ]

    def apply(self, info: ModuleInfo, site: NodeCtx, rng: random.Random) -> cst.Module | None:
        node = site.node
        assert isinstance(node, cst.For) and isinstance(node.target, cst.Name)
        assert isinstance(node.body, cst.IndentedBlock)
        v, k = node.target.value, rng.randint(2, 4)
        # never a condition that holds for every iteration of a short loop (``k < 3`` over ``range(3)``)
        cond = rng.choice([f"{v} % {k} == {rng.randrange(1, k)}", f"{v} == {rng.randint(1, 3)}", f"{v} % {k} != 0"])
        guard = stmt(f"if {cond}:\n    continue\n")
        body = node.body.with_changes(body=[guard, *node.body.body])
        return replace(info.module, node, node.with_changes(body=body))


class EarlyReturnGuard(Operator):
    """Bounds guard right after ``i = wp.tid()``: ``if i >= a.shape[0]: return``."""

    name = "early_return_guard"
    changes = None  # results unchanged

    def _guards(self, c: NodeCtx) -> list[str]:
        assert c.func is not None
        node = c.node
        if not (isinstance(node, cst.SimpleStatementLine) and isinstance(node.body[0], cst.Assign)):
            return []
        target = node.body[0].targets[0].target
        tids = [e.value for e in target.elements] if isinstance(target, cst.Tuple) else [target]
        guards = []
        for dim, t in enumerate(tids):
            if not isinstance(t, cst.Name):
                continue
            for p, ty in c.func.params.items():
                parts = array_parts(ty)
                if ty == "int32":
                    guards.append(f"{t.value} >= {p}")
                elif parts is not None and parts[0] > dim:
                    guards.append(f"{t.value} >= {p}.shape[{dim}]")
        return guards

    def sites(self, info: ModuleInfo) -> list[NodeCtx]:
        return [
            c for c in _stmt_sites(info)
            if c.func is not None and c.func.kind == "kernel" and c.parent is c.func.node.body
            and isinstance(c.node, cst.SimpleStatementLine) and wp_call(getattr(c.node.body[0], "value", None)) == "tid"
            and self._guards(c)
        ]

    def apply(self, info: ModuleInfo, site: NodeCtx, rng: random.Random) -> cst.Module | None:
        node = site.node
        assert isinstance(node, cst.SimpleStatementLine)
        guard = stmt(f"if {rng.choice(self._guards(site))}:\n    return\n")
        return replace(info.module, node, cst.FlattenSentinel([node, guard]))  # type: ignore[arg-type]


class LoopAccumulation(Operator):
    """Repeat an accumulation: ``s += x`` / ``wp.atomic_add(...)`` -> ``for r in range(3): ...``."""

    name = "loop_accumulation"
    changes = "an accumulation repeated in a loop"

    def sites(self, info: ModuleInfo) -> list[NodeCtx]:
        out = []
        for c in _stmt_sites(info):
            if not isinstance(c.node, cst.SimpleStatementLine) or len(c.node.body) != 1:
                continue
            small = c.node.body[0]
            if loop_progress(info, c):
                continue
            if isinstance(small, cst.AugAssign) or (
                isinstance(small, cst.Expr) and (wp_call(small.value) or "").startswith("atomic_")
            ):
                out.append(c)
        return out

    def apply(self, info: ModuleInfo, site: NodeCtx, rng: random.Random) -> cst.Module | None:
        node = site.node
        assert isinstance(node, cst.SimpleStatementLine)
        var = info.fresh(rng.choice(["r", "rep", "s"]))
        loop = stmt(f"for {var} in range({rng.randint(2, 4)}):\n    pass\n")
        assert isinstance(loop, cst.For)
        inner = node.with_changes(leading_lines=[])
        new = loop.with_changes(body=cst.IndentedBlock([inner]), leading_lines=node.leading_lines)
        return replace(info.module, node, new)


class _Substitute(cst.CSTTransformer):
    """Replace reads of names by expressions in one pass (attribute names and keywords untouched)."""

    def __init__(self, mapping: dict[str, cst.BaseExpression]) -> None:
        self.mapping = mapping

    def visit_Attribute(self, node: cst.Attribute) -> bool:
        node.value.visit(self)
        return True

    def leave_Attribute(self, original_node: cst.Attribute, updated_node: cst.Attribute) -> cst.Attribute:
        return updated_node.with_changes(attr=original_node.attr)

    def leave_Arg(self, original_node: cst.Arg, updated_node: cst.Arg) -> cst.Arg:
        return updated_node.with_changes(keyword=original_node.keyword)

    def leave_Name(self, original_node: cst.Name, updated_node: cst.Name) -> cst.BaseExpression:
        return self.mapping.get(original_node.value, updated_node)


def const_range(loop: cst.For) -> list[int] | None:
    """``for k in range(2, 5)`` with literal bounds -> [2, 3, 4]."""
    it = loop.iter
    if not (isinstance(it, cst.Call) and isinstance(it.func, cst.Name) and it.func.value == "range"):
        return None
    if not it.args or len(it.args) > 2 or not all(isinstance(a.value, cst.Integer) for a in it.args):
        return None
    bounds = [int(a.value.value) for a in it.args]  # type: ignore[attr-defined]
    return list(range(*bounds))


class UnrollLoop(Operator):
    """Unroll ``for k in range(C)`` (C <= 4, no break/continue/return) with ``k`` replaced by literals."""

    name = "unroll_loop"
    changes = None  # results unchanged

    def sites(self, info: ModuleInfo) -> list[NodeCtx]:
        out = []
        for c in _stmt_sites(info):
            node = c.node
            if not (isinstance(node, cst.For) and isinstance(node.target, cst.Name) and node.orelse is None):
                continue
            values = const_range(node)
            if values is None or not 1 <= len(values) <= 4 or not isinstance(node.body, cst.IndentedBlock):
                continue
            if contains(node.body, (cst.Break, cst.Continue, cst.Return)):
                continue
            if node.target.value in assigned_names(node.body):
                continue
            out.append(c)
        return out

    def apply(self, info: ModuleInfo, site: NodeCtx, rng: random.Random) -> cst.Module | None:
        node = site.node
        assert isinstance(node, cst.For) and isinstance(node.target, cst.Name)
        assert isinstance(node.body, cst.IndentedBlock)
        values = const_range(node) or []
        copies: list[cst.BaseStatement] = []
        for v in values:
            block = node.body.visit(_Substitute({node.target.value: cst.Integer(str(v))}))
            assert isinstance(block, cst.IndentedBlock)
            copies.extend(block.body)
        if copies and hasattr(copies[0], "leading_lines"):
            copies[0] = copies[0].with_changes(leading_lines=node.leading_lines)  # type: ignore[call-arg]
        return replace(info.module, node, cst.FlattenSentinel(copies))  # type: ignore[arg-type]


_ATOMIC_DTYPES = ("float32", "float64", "int32", "int64", "uint32", "uint64")


class StoreToAtomic(Operator):
    """``a[i] = v`` -> ``wp.atomic_add(a, i, v)`` (also ``+=``/``-=`` and min/max for scalars)."""

    name = "store_to_atomic"
    changes = "a store turned into an atomic update"

    def _target(self, info: ModuleInfo, c: NodeCtx) -> tuple[cst.Subscript, str] | None:
        node = c.node
        if not isinstance(node, cst.SimpleStatementLine) or len(node.body) != 1:
            return None
        small = node.body[0]
        if isinstance(small, cst.Assign) and len(small.targets) == 1:
            target = small.targets[0].target
        elif isinstance(small, cst.AugAssign) and isinstance(small.operator, (cst.AddAssign, cst.SubtractAssign)):
            target = small.target
        else:
            return None
        if not (isinstance(target, cst.Subscript) and isinstance(target.value, cst.Name)):
            return None
        parts = array_parts(info.type_of(target.value, c.func))
        if parts is None or parts[0] != len(target.slice) or not parts[1]:
            return None
        if not all(isinstance(e.slice, cst.Index) for e in target.slice):
            return None
        return target, parts[1]

    def sites(self, info: ModuleInfo) -> list[NodeCtx]:
        return [c for c in _stmt_sites(info) if self._target(info, c) is not None]

    def apply(self, info: ModuleInfo, site: NodeCtx, rng: random.Random) -> cst.Module | None:
        node = site.node
        found = self._target(info, site)
        assert isinstance(node, cst.SimpleStatementLine) and found is not None
        target, dtype = found
        small = node.body[0]
        if isinstance(small, cst.AugAssign):
            fn = "atomic_add" if isinstance(small.operator, cst.AddAssign) else "atomic_sub"
        elif dtype in _ATOMIC_DTYPES:
            # mostly add: a min/max of values that never beat the array's leaves it unchanged
            fn = rng.choice(["atomic_add", "atomic_add", "atomic_add", "atomic_max", "atomic_min"])
        else:
            fn = "atomic_add"
        value = small.value  # type: ignore[union-attr]
        idx = ", ".join(code(e.slice.value) for e in target.slice)  # type: ignore[union-attr]
        call = f"wp.{fn}({code(target.value)}, {idx}, {code(value)})"
        new = node.with_changes(body=[cst.Expr(expr(call))])
        return replace(info.module, node, new)


class NegateBranch(Operator):
    """``if c: A else: B`` -> ``if not (c): B else: A``."""

    name = "negate_branch"
    changes = None  # results unchanged

    def sites(self, info: ModuleInfo) -> list[NodeCtx]:
        return [
            c for c in _stmt_sites(info)
            if isinstance(c.node, cst.If) and isinstance(c.node.orelse, cst.Else)
        ]

    def apply(self, info: ModuleInfo, site: NodeCtx, rng: random.Random) -> cst.Module | None:
        node = site.node
        assert isinstance(node, cst.If) and isinstance(node.orelse, cst.Else)
        test = node.test
        if isinstance(test, cst.UnaryOperation) and isinstance(test.operator, cst.Not):
            new_test = test.expression.with_changes(lpar=[], rpar=[])
        else:
            new_test = expr(f"not ({code(test.with_changes(lpar=[], rpar=[]))})")
        new = node.with_changes(
            test=new_test, body=node.orelse.body, orelse=node.orelse.with_changes(body=node.body)
        )
        return replace(info.module, node, new)
