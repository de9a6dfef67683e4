"""Shared machinery of the mutation operators: one parse + analysis pass, the operator protocol.

``analyze`` parses a module once and records, in traversal order, every node with its context
(enclosing ``@wp.kernel``/``@wp.func``, enclosing statement and loops, whether it sits in an
annotation or decorator).  Operators pick their eligible sites from that list, the caller chooses
one with its rng, and the operator rewrites the tree at that site (by node identity, with
``walk.replace``).  Nothing here depends on set order or on ``id()`` values (ids are only tested
for membership), so a seeded rng reproduces a run.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

import libcst as cst

from warp_synth.synth.mutators.walk import drive, replace, walk
from warp_synth.synth.mutators.wptypes import annotation_type, infer


@dataclass(slots=True)
class FuncInfo:
    """One ``@wp.kernel`` or ``@wp.func`` with the static types we could infer for its names."""

    node: cst.FunctionDef
    kind: str  # "kernel" | "func"
    params: dict[str, str | None]
    env: dict[str, str | None]  # params + locals (first assignment wins) + loop variables
    tid_vars: list[str]


@dataclass(slots=True)
class NodeCtx:
    node: cst.CSTNode
    parent: cst.CSTNode | None
    func: FuncInfo | None
    stmt: cst.BaseStatement | None  # nearest enclosing statement that sits directly in a block
    loops: tuple[cst.For | cst.While, ...]
    in_annotation: bool
    in_decorator: bool
    in_target: bool  # inside an assignment / aug-assignment target (an lvalue)
    index: int = 0  # pre-order position in ModuleInfo.nodes
    end: int = 0  # index of the last node of this node's subtree

    @property
    def in_body(self) -> bool:
        """Inside the body of a kernel/func, not in its signature or decorators."""
        return self.func is not None and self.stmt is not None and not (self.in_annotation or self.in_decorator)

    @property
    def in_expr_body(self) -> bool:
        """An rvalue inside a kernel/func body: safe to replace by an equal-typed expression."""
        return self.in_body and not self.in_target


@dataclass(slots=True)
class ModuleInfo:
    module: cst.Module
    funcs: list[FuncInfo]
    constants: dict[str, str | None]  # module-level NAME = literal / wp.constant(...)
    structs: list[str]
    names: set[str]  # every identifier in the module: fresh names avoid all of them
    nodes: list[NodeCtx] = field(default_factory=list)
    text: str = ""  # the source analysed (== module.code: libcst round-trips exactly)
    steps: set[int] | None = None  # ``loop_steps()``, once computed

    def loop_steps(self) -> set[int]:
        """``id``s of the statements that step a ``while`` loop (``loop_progress``), computed once."""
        if self.steps is None:
            has_while = any(isinstance(c.node, cst.While) for c in self.nodes)
            self.steps = {id(c.node) for c in self.nodes if has_while and c.stmt is c.node and loop_progress(self, c)}
        return self.steps

    def fresh(self, base: str) -> str:
        name, k = base, 1
        while name in self.names:
            name, k = f"{base}_{k}", k + 1
        self.names.add(name)
        return name

    def func_named(self, name: str) -> FuncInfo | None:
        return next((f for f in self.funcs if f.node.name.value == name), None)

    def type_of(self, expr: cst.BaseExpression, func: FuncInfo | None) -> str | None:
        env = dict(self.constants)
        if func is not None:
            env.update(func.env)
        return infer(expr, env, self)

    def subtree(self, c: NodeCtx) -> list[NodeCtx]:
        """``c`` and every node under it, in pre-order (a slice of ``nodes``)."""
        return self.nodes[c.index : c.end + 1]


class Operator:
    """A mutation operator: list the eligible sites, rewrite the module at one of them.

    ``apply`` returns the new module, or None when the site turns out unusable (a value, never
    an exception: cf. libcst codemod's TransformSkip).
    """

    name: ClassVar[str]
    # what applying the operator does to the kernel's results, as a short phrase for descriptions
    # ("a statement wrapped in a branch"); None when results stay the same (renames, reorderings, refactors)
    changes: ClassVar[str | None]

    def sites(self, info: ModuleInfo) -> list[Any]:
        raise NotImplementedError

    def apply(self, info: ModuleInfo, site: Any, rng: random.Random) -> cst.Module | None:
        raise NotImplementedError


# ----------------------------------------------------------------------------- helpers


def wp_attr(node: cst.CSTNode | None) -> str | None:
    """``wp.X`` -> "X"."""
    if isinstance(node, cst.Attribute) and isinstance(node.value, cst.Name) and node.value.value == "wp":
        return node.attr.value
    return None


def wp_call(node: cst.CSTNode | None) -> str | None:
    """``wp.X(...)`` -> "X"."""
    return wp_attr(node.func) if isinstance(node, cst.Call) else None


def decorator_kind(fn: cst.FunctionDef | cst.ClassDef) -> str | None:
    for dec in fn.decorators:
        target = dec.decorator.func if isinstance(dec.decorator, cst.Call) else dec.decorator
        kind = wp_attr(target)
        if kind in ("kernel", "func", "struct"):
            return kind
    return None


def expr(text: str) -> cst.BaseExpression:
    return cst.parse_expression(text)


def stmt(text: str) -> cst.BaseStatement:
    return cst.parse_statement(text)


def code(node: cst.CSTNode) -> str:
    if isinstance(node, cst.Annotation):  # its ':'/'->' indicator depends on the parent
        node = node.annotation
    return cst.Module(body=[]).code_for_node(node)


def insert_before(
    module: cst.Module,
    anchor: cst.BaseStatement,
    new: list[cst.BaseStatement],
    replacement: cst.BaseStatement | None = None,
) -> cst.Module:
    """Put ``new`` statements in front of ``anchor`` (optionally replaced), moving its leading comments."""
    kept = replacement if replacement is not None else anchor
    lead = getattr(anchor, "leading_lines", ())
    if lead and hasattr(new[0], "leading_lines"):
        new = [new[0].with_changes(leading_lines=lead), *new[1:]]  # type: ignore[call-arg]
        kept = kept.with_changes(leading_lines=[])  # type: ignore[call-arg]
    return replace(module, anchor, cst.FlattenSentinel([*new, kept]))  # type: ignore[arg-type]


def names_in(node: cst.CSTNode) -> list[str]:
    """Identifiers read in ``node`` (``Name`` nodes, not attribute names), in order, unique."""
    out: list[str] = []
    for n in walk(node, skip=lambda n: isinstance(n, cst.Attribute)):
        if isinstance(n, cst.Attribute):  # its base, not its attribute name
            out.extend(x for x in names_in(n.value) if x not in out)
        elif isinstance(n, cst.Name) and n.value not in out:
            out.append(n.value)
    return out


def _bound(t: cst.BaseExpression, out: list[str]) -> None:
    if isinstance(t, cst.Name) and t.value not in out:
        out.append(t.value)
    elif isinstance(t, cst.Tuple):
        for el in t.elements:
            _bound(el.value, out)


def assigned_names(node: cst.CSTNode) -> list[str]:
    """Names bound (assigned, aug-assigned, loop targets) anywhere inside ``node``."""
    out: list[str] = []
    for n in walk(node):
        if isinstance(n, (cst.AssignTarget, cst.AugAssign, cst.AnnAssign, cst.For)):
            _bound(n.target, out)
    return out


def contains(node: cst.CSTNode, kinds: tuple[type[cst.CSTNode], ...]) -> bool:
    return any(isinstance(n, kinds) for n in walk(node))


def names_read(ctxs: list[NodeCtx]) -> list[str]:
    """``names_in`` of an analysed subtree (``ModuleInfo.subtree``), from the walk already made."""
    out: dict[str, None] = {}
    for c in ctxs:
        if isinstance(c.node, cst.Name) and not (isinstance(c.parent, cst.Attribute) and c.parent.attr is c.node):
            out.setdefault(c.node.value)
    return list(out)


def assigned_in(ctxs: list[NodeCtx]) -> list[str]:
    """``assigned_names`` of an analysed subtree (``ModuleInfo.subtree``)."""
    out: list[str] = []
    for c in ctxs:
        if isinstance(c.node, (cst.AssignTarget, cst.AugAssign, cst.AnnAssign, cst.For)):
            _bound(c.node.target, out)
    return out


def loop_progress(info: ModuleInfo, c: NodeCtx) -> bool:
    """Statement ``c`` assigns a name that the test of a ``while`` loop around it reads: the loop's
    progress.  Made conditional or repeated, the loop may never end (``while n < 8`` and ``n += 1``
    under a branch, or stepping past a ``!=`` bound)."""
    tests = {n for lp in c.loops if isinstance(lp, cst.While) for n in names_in(lp.test)}
    return bool(tests) and not tests.isdisjoint(assigned_in(info.subtree(c)))


# ----------------------------------------------------------------------------- analysis


_FUNC, _STMT, _ANN, _DEC, _AUG, _TGT, _LOOP, _BLOCK = (1 << i for i in range(8))
_KIND_OF: dict[type, int] = {}


def _kind(t: type) -> int:
    """The node class's bits above (an isinstance per bit, once per class: libcst's bases are ABCs)."""
    k = _KIND_OF.get(t)
    if k is None:
        checks = ((cst.FunctionDef, _FUNC), (cst.BaseStatement, _STMT), (cst.Annotation, _ANN),
                  (cst.Decorator, _DEC), (cst.AugAssign, _AUG), (cst.AssignTarget, _TGT),
                  ((cst.For, cst.While), _LOOP), ((cst.IndentedBlock, cst.Module), _BLOCK))
        k = _KIND_OF[t] = sum(bit for base, bit in checks if issubclass(t, base))
    return k


class _Walker:
    def __init__(self, info: ModuleInfo) -> None:
        self.info = info
        self.func: FuncInfo | None = None
        self.stmts: list[cst.BaseStatement | None] = [None]
        self.loops: tuple[cst.For | cst.While, ...] = ()
        self.ann = 0
        self.dec = 0
        self.tgt = 0
        self.aug_targets: set[int] = set()  # id()s of aug-assignment targets (membership only)
        self.open: list[NodeCtx] = []
        self.building: FuncInfo | None = None  # the top-level kernel/func being walked: it binds locals

    def on_visit(self, node: cst.CSTNode) -> None:
        parent = self.open[-1].node if self.open else None
        k = _kind(type(node))
        if k & _FUNC:
            self.func = None
            if isinstance(parent, cst.Module):
                kind = decorator_kind(node)  # type: ignore[arg-type]
                if kind in ("kernel", "func"):
                    self.func = self.building = _func_info(node, kind, self.info)  # type: ignore[arg-type]
        if self.building is not None:  # only its body holds statements (Assign, For) that bind
            _add_local(node, self.building, self.info)
        if k & _STMT and parent is not None and _kind(type(parent)) & _BLOCK and self.func is not None:
            self.stmts.append(node)  # type: ignore[arg-type]
        if k & _ANN:
            self.ann += 1
        if k & _DEC:
            self.dec += 1
        if k & _AUG:
            self.aug_targets.add(id(node.target))  # type: ignore[attr-defined]
        if k & _TGT or id(node) in self.aug_targets:
            self.tgt += 1
        ctx = NodeCtx(
            node, parent, self.func, self.stmts[-1], self.loops, self.ann > 0, self.dec > 0, self.tgt > 0,
            index=len(self.info.nodes),
        )
        self.info.nodes.append(ctx)
        self.open.append(ctx)
        if k & _LOOP:
            self.loops = (*self.loops, node)  # type: ignore[assignment]

    def on_leave(self, node: cst.CSTNode) -> None:
        self.open.pop().end = len(self.info.nodes) - 1
        k = _kind(type(node))
        if k & _TGT or id(node) in self.aug_targets:
            self.tgt -= 1
        if k & _LOOP:
            self.loops = self.loops[:-1]
        if self.stmts[-1] is node:
            self.stmts.pop()
        if k & _ANN:
            self.ann -= 1
        if k & _DEC:
            self.dec -= 1
        if k & _FUNC:
            self.func = None
        if self.building is not None and node is self.building.node:
            self.info.funcs.append(self.building)
            self.building = None


def _func_info(fn: cst.FunctionDef, kind: str, info: ModuleInfo) -> FuncInfo:
    """A function's parameters; its locals are added by ``_add_local`` during the walk of its body."""
    params: dict[str, str | None] = {}
    for p in fn.params.params:
        params[p.name.value] = annotation_type(p.annotation.annotation, info) if p.annotation else None
    return FuncInfo(fn, kind, params, dict(params), [])


def _add_local(n: cst.CSTNode, fi: FuncInfo, info: ModuleInfo) -> None:
    """Bind what ``n`` (a node of ``fi``'s body, in pre-order) assigns: first assignment wins."""
    if isinstance(n, cst.Assign):
        for t in n.targets:
            if isinstance(t.target, cst.Name) and t.target.value not in fi.env:
                fi.env[t.target.value] = info.type_of(n.value, fi)
                if wp_call(n.value) == "tid":
                    fi.tid_vars.append(t.target.value)
            elif isinstance(t.target, cst.Tuple) and wp_call(n.value) == "tid":
                for el in t.target.elements:
                    if isinstance(el.value, cst.Name):
                        fi.env[el.value.value] = "int32"
                        fi.tid_vars.append(el.value.value)
    elif isinstance(n, cst.For) and isinstance(n.target, cst.Name) and n.target.value not in fi.env:
        fi.env[n.target.value] = "int32"


def analyze(source: str) -> ModuleInfo | None:
    """Parse and analyse ``source``; None when it does not parse."""
    try:
        module = cst.parse_module(source)
    except Exception:  # libcst raises ParserSyntaxError and, on odd input, others
        return None
    info = ModuleInfo(module, [], {}, [], set(), text=source)
    for top in module.body:
        if isinstance(top, cst.ClassDef) and decorator_kind(top) == "struct":
            info.structs.append(top.name.value)
        elif isinstance(top, cst.SimpleStatementLine):
            for small in top.body:
                if isinstance(small, cst.Assign) and isinstance(small.targets[0].target, cst.Name):
                    value = small.value
                    if wp_call(value) == "constant" and isinstance(value, cst.Call) and value.args:
                        value = value.args[0].value
                    info.constants[small.targets[0].target.value] = infer(value, {}, info)
    walker = _Walker(info)  # also builds info.funcs, in module order (each sees the ones before it)
    drive(module, walker.on_visit, walker.on_leave)
    info.names = set(names_read(info.nodes))  # the identifiers read anywhere
    return info


Edit = tuple[cst.CSTNode, Callable[[Any], Any]]


class _Rewrite(cst.CSTTransformer):
    def __init__(self, edits: list[Edit]) -> None:
        self.edits = edits

    def on_leave(self, original_node: cst.CSTNode, updated_node: cst.CSTNode) -> Any:
        for node, fn in self.edits:
            if node is original_node:
                return fn(updated_node)
        return updated_node


def rewrite(module: cst.Module, edits: list[Edit]) -> cst.Module:
    """Apply several edits in one pass; each is keyed by an original node and receives its updated copy."""
    return module.visit(_Rewrite(edits))


# builtins whose arguments the templates bring into a domain (``wp.sqrt(wp.abs(x))``, ``wp.acos(wp.clamp(x, -1.0,
# 1.0))``, ``wp.exp(wp.clamp(x, -4.0, 4.0))``): a mutation inside them could leave it
DOMAIN_BUILTINS = frozenset({"sqrt", "log", "log2", "log10", "asin", "acos", "pow", "exp", "sinh", "cosh",
                             "smoothstep", "clamp", "tile_load", "tile_store", "tile_atomic_add"})
# (clamp: bin indices are clamped into their array; tile offsets stay non-negative)
_DIVIDES = (cst.Divide, cst.FloorDivide, cst.Modulo)


def guarded_spans(info: ModuleInfo) -> list[tuple[int, int]]:
    """Index spans (into ``info.nodes``) of divisors and of the arguments of ``DOMAIN_BUILTINS``: the
    guards there (``wp.max(d, 1)``, ``wp.abs(d) + 1.0``, clamps) keep a kernel free of division by
    zero and of NaN, so value-changing operators leave them alone."""
    spans = []
    for c in info.nodes:
        node = c.node
        if isinstance(node, cst.BinaryOperation) and isinstance(node.operator, _DIVIDES):
            right = next((d for d in info.subtree(c) if d.node is node.right), None)
            if right is not None:
                spans.append((right.index, right.end))
        elif isinstance(node, cst.Call) and wp_call(node) in DOMAIN_BUILTINS:
            spans.append((c.index + 1, c.end))
    return spans


def in_spans(c: NodeCtx, spans: list[tuple[int, int]]) -> bool:
    return any(s <= c.index <= e for s, e in spans)
