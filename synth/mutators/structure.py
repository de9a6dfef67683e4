"""Operators that change types and shapes consistently across a kernel: precision, vector lift, 2D tid."""

from __future__ import annotations

import random
import re

import libcst as cst

from warp_synth.synth.mutators.base import (
    Edit,
    FuncInfo,
    ModuleInfo,
    NodeCtx,
    Operator,
    code,
    expr,
    rewrite,
    wp_attr,
    wp_call,
)
from warp_synth.synth.mutators.wptypes import array_parts

_TO_F64 = re.compile(r"^(float32|(vec[234]|mat22|mat33|mat44|quat|transform)f?)$")
_CONST_ATTRS = ("math.pi", "math.e", "math.tau", "wp.pi", "wp.e", "wp.tau")


def _f64_name(short: str) -> str:
    return "float64" if short == "float32" else short.removesuffix("f") + "d"


class _ToFloat64(cst.CSTTransformer):
    def __init__(self, float_consts: list[str]) -> None:
        self.consts = float_consts
        self.func = 0  # depth in @wp.kernel/@wp.func defs
        self.block = 0  # depth in indented blocks inside those
        self.ann = 0

    def _in_body(self) -> bool:
        return self.func > 0 and self.block > 0 and self.ann == 0

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self.func += 1

    def leave_FunctionDef(self, original_node: cst.FunctionDef, updated_node: cst.FunctionDef) -> cst.FunctionDef:
        self.func -= 1
        return updated_node

    def visit_IndentedBlock(self, node: cst.IndentedBlock) -> None:
        self.block += self.func > 0

    def leave_IndentedBlock(self, original_node: cst.IndentedBlock, updated_node: cst.IndentedBlock) -> cst.IndentedBlock:
        self.block -= self.func > 0
        return updated_node

    def visit_Annotation(self, node: cst.Annotation) -> None:
        self.ann += 1

    def leave_Annotation(self, original_node: cst.Annotation, updated_node: cst.Annotation) -> cst.Annotation:
        self.ann -= 1
        return updated_node

    def visit_Attribute(self, node: cst.Attribute) -> bool:
        return False  # only whole attributes are rewritten (never the ``x`` of ``v.x``)

    def leave_Attribute(self, original_node: cst.Attribute, updated_node: cst.Attribute) -> cst.BaseExpression:
        short = wp_attr(original_node)
        if short is not None and _TO_F64.match(short):
            return expr(f"wp.{_f64_name(short)}")
        if self._in_body() and code(original_node) in _CONST_ATTRS:
            return expr(f"wp.float64({code(original_node)})")
        if not isinstance(original_node.value, cst.Name):  # e.g. a[i].x or s.field.y: visit the base
            return updated_node.with_changes(value=original_node.value.visit(self))
        return updated_node

    def leave_Name(self, original_node: cst.Name, updated_node: cst.Name) -> cst.BaseExpression:
        if original_node.value == "float":
            return expr("wp.float64")
        if self._in_body() and original_node.value in self.consts:
            return expr(f"wp.float64({original_node.value})")
        return updated_node

    def leave_Float(self, original_node: cst.Float, updated_node: cst.Float) -> cst.BaseExpression:
        return expr(f"wp.float64({original_node.value})") if self._in_body() else updated_node

    def leave_Call(self, original_node: cst.Call, updated_node: cst.Call) -> cst.BaseExpression:
        inner = updated_node.args[0].value if len(updated_node.args) == 1 else None
        if wp_call(updated_node) == "float64" and wp_call(inner) == "float64":
            return inner  # type: ignore[return-value]
        return updated_node

    def leave_AssignTarget(self, original_node: cst.AssignTarget, updated_node: cst.AssignTarget) -> cst.AssignTarget:
        return updated_node.with_changes(target=original_node.target) if isinstance(original_node.target, cst.Name) \
            else updated_node


class RetypeFloat64(Operator):
    """Move the whole module from float32 to float64: annotations, constructors, literals, constants."""

    name = "retype_float64"
    changes = "float32 values retyped to float64"

    def sites(self, info: ModuleInfo) -> list[NodeCtx]:
        for c in info.nodes:
            if c.func is None:
                continue
            named = isinstance(c.node, (cst.Annotation, cst.Name, cst.Attribute))  # code() is dear: only these can match
            if isinstance(c.node, cst.Float) or (c.in_annotation and named and code(c.node) in ("float", "wp.float32")):
                return [next(n for n in info.nodes if n.node is info.funcs[0].node)]
            short = wp_attr(c.node)
            if short is not None and _TO_F64.match(short):
                return [next(n for n in info.nodes if n.node is info.funcs[0].node)]
        return []

    def apply(self, info: ModuleInfo, site: NodeCtx, rng: random.Random) -> cst.Module | None:
        consts = [k for k, t in info.constants.items() if t == "float32"]
        return info.module.visit(_ToFloat64(consts))


def _array_uses(info: ModuleInfo, func: FuncInfo, name: str) -> list[tuple[str, NodeCtx]] | None:
    """How a kernel uses array parameter ``name``: (kind, ctx) with kind in load/store/atomic/shape.

    None when some use is none of these (e.g. passed to a function), so the array can't be retyped.
    """
    start = next(c for c in info.nodes if c.node is func.node)
    ctx_of = {c.index: c for c in info.subtree(start)}
    uses: list[tuple[str, NodeCtx]] = []
    for c in info.subtree(start):
        if not (isinstance(c.node, cst.Name) and c.node.value == name and c.in_body):
            continue
        parent = c.parent
        if isinstance(parent, cst.Subscript) and parent.value is c.node:
            sub = next(x for x in info.nodes[c.index - 1 :: -1] if x.node is parent)
            if isinstance(sub.parent, (cst.Subscript, cst.Attribute)):
                return None
            kind = "store" if sub.in_target else "load"
            uses.append((kind, sub))
        elif isinstance(parent, cst.Attribute) and parent.attr.value == "shape":
            uses.append(("shape", c))
        elif isinstance(parent, cst.Arg):
            call_ctx = next(ctx_of[i] for i in range(c.index - 1, start.index - 1, -1)
                            if isinstance(ctx_of[i].node, cst.Call) and parent in ctx_of[i].node.args)
            call = call_ctx.node
            assert isinstance(call, cst.Call)
            if (wp_call(call) or "").startswith("atomic_") and call.args[0] is parent and len(call.args) >= 3:
                uses.append(("atomic", call_ctx))
            else:
                return None
        elif not (isinstance(parent, cst.Param)):
            return None
    return uses


def _wrap(fn: str):  # type: ignore[no-untyped-def]
    return lambda e: expr(f"{fn}({code(e)})")


class LiftArrayToVec3(Operator):
    """A float32 array becomes a ``wp.vec3`` array: stores broadcast, loads read one component or length."""

    name = "lift_array_vec3"
    changes = "a float32 array lifted to a vec3 array"

    def sites(self, info: ModuleInfo) -> list[tuple[NodeCtx, str]]:
        out = []
        for f in info.funcs:
            for p, t in f.params.items():
                parts = array_parts(t)
                if f.kind == "kernel" and parts is not None and parts[1] == "float32":
                    uses = _array_uses(info, f, p)
                    if uses and all(k != "atomic" or isinstance(c.parent, cst.Expr) for k, c in uses):
                        out.append((next(c for c in info.nodes if c.node is f.node), p))
        return out

    def apply(self, info: ModuleInfo, site: tuple[NodeCtx, str], rng: random.Random) -> cst.Module | None:
        ctx, name = site
        assert ctx.func is not None
        uses = _array_uses(info, ctx.func, name) or []
        edits: list[Edit] = []
        param = next(p for p in ctx.func.node.params.params if p.name.value == name)
        assert param.annotation is not None and isinstance(param.annotation.annotation, cst.Call)
        dtype_arg = next(a for a in param.annotation.annotation.args if a.keyword is None or a.keyword.value == "dtype")
        edits.append((dtype_arg.value, lambda e: expr("wp.vec3")))
        read = rng.choice(["[0]", "[1]", "[2]", "length"])
        for kind, c in uses:
            node = c.node
            if kind == "load":
                edits.append((node, (lambda e: expr(f"wp.length({code(e)})")) if read == "length"
                              else (lambda e, r=read: expr(f"{code(e)}{r}"))))
            elif kind == "store":
                stmt_node = c.stmt
                if isinstance(stmt_node, cst.SimpleStatementLine):
                    small = stmt_node.body[0]
                    if isinstance(small, (cst.Assign, cst.AugAssign)):
                        edits.append((small.value, _wrap("wp.vec3")))
            elif kind == "atomic":
                assert isinstance(node, cst.Call)
                edits.append((node.args[-1].value, _wrap("wp.vec3")))
        return rewrite(info.module, edits)


class TidTo2D(Operator):
    """1D launch -> 2D: ``i = wp.tid()`` -> ``i, j = wp.tid()``, arrays become ``wp.array2d`` indexed ``[i, j]``."""

    name = "tid_to_2d"
    changes = "the 1-D launch turned into a 2-D one"

    def _arrays(self, info: ModuleInfo, f: FuncInfo) -> dict[str, list[tuple[str, NodeCtx]]]:
        out = {}
        for p, t in f.params.items():
            parts = array_parts(t)
            ann = next(q for q in f.node.params.params if q.name.value == p).annotation
            if parts is None or parts[0] != 1 or ann is None or "ndim" in code(ann):
                continue
            uses = _array_uses(info, f, p)
            ok = uses and all(
                len(c.node.args) == 3 if k == "atomic" else k == "shape" or len(c.node.slice) == 1  # type: ignore[attr-defined]
                for k, c in uses
            )
            if ok:
                out[p] = uses
        return out

    def sites(self, info: ModuleInfo) -> list[NodeCtx]:
        out = []
        for c in info.nodes:
            f = c.func
            if f is None or f.kind != "kernel" or len(f.tid_vars) != 1 or not isinstance(c.node, cst.Assign):
                continue
            if wp_call(c.node.value) == "tid" and isinstance(c.node.targets[0].target, cst.Name) and self._arrays(info, f):
                out.append(c)
        return out

    def apply(self, info: ModuleInfo, site: NodeCtx, rng: random.Random) -> cst.Module | None:
        node = site.node
        assert isinstance(node, cst.Assign) and site.func is not None
        target = node.targets[0].target
        j = info.fresh(rng.choice(["j", "col", "y"]))
        edits: list[Edit] = [(target, lambda e: expr(f"{code(e)}, {j}"))]
        for p, uses in self._arrays(info, site.func).items():
            ann = next(q for q in site.func.node.params.params if q.name.value == p).annotation
            assert ann is not None and isinstance(ann.annotation, cst.Call)
            edits.append((ann.annotation.func, lambda e: expr("wp.array2d")))
            for kind, c in uses:
                if kind in ("load", "store"):
                    edits.append((c.node, lambda e: expr(f"{code(e.value)}[{code(e.slice[0].slice.value)}, {j}]")))
                elif kind == "atomic":
                    edits.append((c.node, lambda e: expr(
                        f"{code(e.func)}({code(e.args[0].value)}, {code(e.args[1].value)}, {j}, {code(e.args[2].value)})"
                    )))
        return rewrite(info.module, edits)
