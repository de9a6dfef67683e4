"""Operators that move code across ``@wp.func`` boundaries: extract an expression, inline a call."""

from __future__ import annotations

import random

import libcst as cst

from warp_synth.synth.mutators.base import (
    ModuleInfo,
    NodeCtx,
    Operator,
    code,
    expr,
    guarded_spans,
    in_spans,
    names_in,
    names_read,
    stmt,
    wp_call,
)
from warp_synth.synth.mutators.statements import _Substitute
from warp_synth.synth.mutators.walk import replace
from warp_synth.synth.mutators.wptypes import SCALARS, is_composite

_GLOBAL = ("wp", "math", "range", "float", "int", "bool", "True", "False")


def _annotation_text(t: str | None) -> str | None:
    if t is None:
        return None
    if t in SCALARS:
        return {"float32": "float", "int32": "int", "bool": "bool"}.get(t, f"wp.{t}")
    if is_composite(t):
        return f"wp.{t}"
    if t.startswith("struct:"):
        return t.removeprefix("struct:")
    return None


class ExtractFunc(Operator):
    """Move an expression into a new ``@wp.func`` taking its free variables as typed parameters."""

    name = "extract_func"
    changes = None  # results unchanged

    def _params(self, info: ModuleInfo, c: NodeCtx) -> list[tuple[str, str]] | None:
        """(name, annotation text) for every free variable of the expression; None if one is untyped."""
        assert c.func is not None
        out = []
        for name in names_read(info.subtree(c)):
            if name in _GLOBAL or name in info.constants or info.func_named(name) or name in info.structs:
                continue
            if name in c.func.params and c.func.params[name] is not None:
                p = next(p for p in c.func.node.params.params if p.name.value == name)
                assert p.annotation is not None
                out.append((name, code(p.annotation.annotation)))
                continue
            text = _annotation_text(c.func.env.get(name))
            if text is None:
                return None
            out.append((name, text))
        return out

    def sites(self, info: ModuleInfo) -> list[NodeCtx]:
        out = []
        spans = guarded_spans(info)  # moved into a @wp.func, a guard would lose its protection
        for c in info.nodes:
            if not (c.in_expr_body and isinstance(c.node, (cst.BinaryOperation, cst.Call))):
                continue
            if wp_call(c.node) == "tid" or isinstance(c.parent, cst.Attribute) or in_spans(c, spans):
                continue
            if isinstance(c.parent, cst.For) and c.parent.iter is c.node:
                continue  # a loop's range(...) is no value a @wp.func can return
            if any(wp_call(n.node) == "tid" for n in info.subtree(c)):
                continue
            if self._params(info, c):  # at least one parameter
                out.append(c)
        return out

    def apply(self, info: ModuleInfo, site: NodeCtx, rng: random.Random) -> cst.Module | None:
        node = site.node
        params = self._params(info, site)
        assert isinstance(node, cst.BaseExpression) and site.func is not None and params
        name = info.fresh(rng.choice(["compute_term", "helper", "eval_expr", "apply_op"]))
        body = code(node.with_changes(lpar=[], rpar=[]))
        sig = ", ".join(f"{p}: {a}" for p, a in params)
        fn = stmt(f"@wp.func\ndef {name}({sig}):\n    return {body}\n")
        assert isinstance(fn, cst.FunctionDef)
        call = expr(f"{name}({', '.join(p for p, _ in params)})")
        module = replace(info.module, node, call)
        owner = site.func.node
        idx = next(i for i, s in enumerate(info.module.body) if s is owner)
        fn = fn.with_changes(leading_lines=owner.leading_lines)
        body_list = list(module.body)
        body_list.insert(idx, fn)
        return module.with_changes(body=body_list)


def _single_return(fn: cst.FunctionDef) -> cst.BaseExpression | None:
    body = fn.body
    if not isinstance(body, cst.IndentedBlock) or len(body.body) != 1:
        return None
    line = body.body[0]
    if isinstance(line, cst.SimpleStatementLine) and len(line.body) == 1 and isinstance(line.body[0], cst.Return):
        return line.body[0].value
    return None


class InlineFunc(Operator):
    """Replace a call of a one-line ``@wp.func`` by its body (the def goes when it has no caller left)."""

    name = "inline_func"
    changes = None  # results unchanged

    def _callee(self, info: ModuleInfo, c: NodeCtx) -> cst.FunctionDef | None:
        node = c.node
        if not (isinstance(node, cst.Call) and isinstance(node.func, cst.Name)) or c.func is None:
            return None
        defs = [f for f in info.funcs if f.kind == "func" and f.node.name.value == node.func.value]
        if len(defs) != 1 or defs[0] is c.func:  # overloaded or recursive
            return None
        fn = defs[0].node
        value = _single_return(fn)
        params = fn.params
        if value is None or isinstance(params.star_arg, cst.Param) or params.kwonly_params or params.posonly_params:
            return None
        if len(node.args) != len(params.params) or any(a.keyword or a.star for a in node.args):
            return None
        free = set(names_in(value)) - {p.name.value for p in params.params}
        if free & set(c.func.env):  # a global the body reads is shadowed at the call site
            return None
        return fn

    def sites(self, info: ModuleInfo) -> list[NodeCtx]:
        return [c for c in info.nodes if c.in_expr_body and self._callee(info, c) is not None]

    def apply(self, info: ModuleInfo, site: NodeCtx, rng: random.Random) -> cst.Module | None:
        node = site.node
        fn = self._callee(info, site)
        assert isinstance(node, cst.Call) and fn is not None
        value = _single_return(fn)
        assert value is not None
        mapping: dict[str, cst.BaseExpression] = {}
        for p, a in zip(fn.params.params, node.args, strict=False):
            arg = a.value
            if not isinstance(arg, (cst.Name, cst.Integer, cst.Float, cst.Call, cst.Subscript, cst.Attribute)):
                arg = arg.with_changes(lpar=[cst.LeftParen()], rpar=[cst.RightParen()])
            mapping[p.name.value] = arg
        value = value.visit(_Substitute(mapping))  # type: ignore[assignment]
        value = value.with_changes(lpar=[cst.LeftParen()], rpar=[cst.RightParen()])
        if isinstance(site.parent, (cst.Assign, cst.Return, cst.Arg, cst.Index)) or isinstance(
            value, (cst.Name, cst.Call, cst.Subscript)
        ):
            value = value.with_changes(lpar=[], rpar=[])
        module = replace(info.module, node, value)
        idx = next(i for i, s in enumerate(info.module.body) if s is fn)
        without = module.with_changes(body=[s for i, s in enumerate(module.body) if i != idx])
        return without if fn.name.value not in names_in(without) else module
