"""Read-only walks and path-copy replacement over libcst trees, without libcst's visitor machinery.

libcst's ``visit`` rebuilds every node it passes (``_visit_and_replace_children``), even for a
read-only ``CSTVisitor``, and that was most of the mutator's cost.  Here a node's children are
read off its dataclass fields, in the order libcst itself visits them:

* trivia (whitespace, comments, punctuation; ``is_trivia``) is left out: no analysis looks at it
  and it is most of a tree.  Fields whose declared type can only hold trivia are never read;
* the order of the other fields is learnt from libcst (``CSTNode.children``) the first time a
  node class is seen with a given set of non-empty fields, checked against libcst's answer and
  cached; a case where the fields do not give libcst's answer is read with ``CSTNode.children``.

So ``walk(n)`` yields the non-trivia nodes a ``CSTVisitor`` would see, in the same pre-order, and
``replace`` gives the same code as ``deep_replace`` while copying only the path to the replaced node.
"""

from __future__ import annotations

import dataclasses
import typing
from collections.abc import Callable, Iterator
from typing import Any

import libcst as cst

_TRIVIA_BASES: tuple[type, ...] = (
    cst.BaseParenthesizableWhitespace, cst.TrailingWhitespace, cst.Newline, cst.EmptyLine, cst.Comment,
    cst.Comma, cst.Dot, cst.AssignEqual, cst.Colon, cst.Semicolon, cst.LeftParen, cst.RightParen,
    cst.LeftSquareBracket, cst.RightSquareBracket, cst.LeftCurlyBrace, cst.RightCurlyBrace,
)
_TRIVIA: dict[type, bool] = {}  # every node class seen -> whether it is trivia


def _node_class(t: type) -> bool | None:
    """True: a trivia node class; False: another node class; None: not a node."""
    r = _TRIVIA.get(t)
    if r is None and issubclass(t, cst.CSTNode):
        r = _TRIVIA[t] = issubclass(t, _TRIVIA_BASES)
    return r


def is_trivia(node: object) -> bool:
    return _node_class(type(node)) is True


def _may_hold_content(annotation: object) -> bool:
    """Whether a field annotated so can hold a node that is not trivia (unsure: yes)."""
    if isinstance(annotation, type):
        return issubclass(annotation, cst.CSTNode) and not issubclass(annotation, _TRIVIA_BASES)
    if typing.get_origin(annotation) is typing.Literal:
        return False
    args = typing.get_args(annotation)
    return not args or any(_may_hold_content(a) for a in args)


class _Spec:
    """How to read one node class's non-trivia children off its fields.

    ``content`` are the fields whose declared type can hold a non-trivia node; ``order`` sorts them
    to agree with every visiting order learnt from libcst so far.  ``verified`` holds the sets of
    non-empty content fields (bit masks) for which reading them in ``order`` was checked against
    ``CSTNode.children``; ``fallback`` those where it did not agree.
    """

    __slots__ = ("content", "order", "before", "verified", "fallback")

    def __init__(self, cls: type) -> None:
        try:
            hints = typing.get_type_hints(cls)
        except Exception:  # an annotation that does not resolve: read every field
            hints = {}
        names = [f.name for f in dataclasses.fields(cls)]
        self.content = tuple(n for n in names if n not in hints or _may_hold_content(hints[n]))
        self.before: set[tuple[str, str]] = set()  # (a, b): libcst visits a before b
        self.verified: set[int] = set()
        self.fallback: set[int] = set()
        self.order: tuple[tuple[str, int], ...] = ()
        self._sort()

    def _sort(self) -> None:
        left, out = list(self.content), []  # a stable topological sort (declaration order breaks ties)
        while left:
            nxt = next((a for a in left if not any((b, a) in self.before for b in left if b != a)), left[0])
            out.append(nxt)
            left.remove(nxt)
        self.order = tuple((n, 1 << self.content.index(n)) for n in out)

    def learn(self, node: cst.CSTNode, mask: int) -> list[cst.CSTNode]:
        truth = [c for c in node.children if not is_trivia(c)]
        seen: list[str] = []
        for child in truth:  # the field each child sits in, in libcst's visiting order
            for name in self.content:
                v = getattr(node, name)
                if v is child or (type(v) in (tuple, list) and any(x is child for x in v)):
                    if name not in seen:
                        seen.append(name)
                    break
        self.before.update((a, b) for i, a in enumerate(seen) for b in seen[i + 1 :])
        self._sort()
        got, _ = _read(self, node)
        if len(got) == len(truth) and all(a is b for a, b in zip(got, truth, strict=True)):
            self.verified.add(mask)
        else:
            self.fallback.add(mask)
        return truth


_SPECS: dict[type, _Spec] = {}


def _read(spec: _Spec, node: cst.CSTNode) -> tuple[list[cst.CSTNode], int]:
    out: list[cst.CSTNode] = []
    mask = 0
    for name, bit in spec.order:
        v = getattr(node, name)
        t = type(v)
        if t is tuple or t is list:
            if v:
                out.extend(x for x in v if not is_trivia(x))
                mask |= bit
        else:
            kind = _node_class(t)
            if kind is not None:
                if not kind:
                    out.append(v)
                mask |= bit
    return out, mask


def children(node: cst.CSTNode) -> list[cst.CSTNode]:
    """``node.children`` but trivia, in libcst's order, without rebuilding ``node``."""
    spec = _SPECS.get(type(node))
    if spec is None:
        spec = _SPECS[type(node)] = _Spec(type(node))
    out, mask = _read(spec, node)
    if mask in spec.verified:
        return out
    if mask in spec.fallback:
        return [c for c in node.children if not is_trivia(c)]
    return spec.learn(node, mask)


def walk(node: cst.CSTNode, skip: Callable[[cst.CSTNode], bool] | None = None) -> Iterator[cst.CSTNode]:
    """Every node under ``node`` (itself first) but trivia, in pre-order.

    ``skip(n)`` true: not ``n``'s children.
    """
    stack = [node]
    while stack:
        n = stack.pop()
        yield n
        if skip is None or not skip(n):
            stack.extend(reversed(children(n)))


def drive(node: cst.CSTNode, enter: Callable[[cst.CSTNode], Any], leave: Callable[[cst.CSTNode], Any]) -> None:
    """``enter(n)`` before and ``leave(n)`` after each non-trivia node's subtree (as a CSTVisitor's
    ``on_visit``/``on_leave``)."""
    stack: list[tuple[cst.CSTNode, bool]] = [(node, False)]
    while stack:
        n, done = stack.pop()
        if done:
            leave(n)
            continue
        enter(n)
        stack.append((n, True))
        stack.extend((c, False) for c in reversed(children(n)))


def _path(root: cst.CSTNode, target: cst.CSTNode) -> list[cst.CSTNode] | None:
    stack: list[tuple[cst.CSTNode, int]] = [(root, 0)]
    path: list[cst.CSTNode] = []
    while stack:
        n, depth = stack.pop()
        del path[depth:]
        path.append(n)
        if n is target:
            return path
        stack.extend((c, depth + 1) for c in reversed(children(n)))
    return None


def _swap_child(parent: cst.CSTNode, old: cst.CSTNode, new: Any) -> cst.CSTNode:
    for name in (f.name for f in dataclasses.fields(parent)):
        v = getattr(parent, name)
        if v is old:
            if isinstance(new, (cst.FlattenSentinel, cst.RemovalSentinel)):
                raise ValueError("a sentinel can only replace an element of a sequence")
            return parent.with_changes(**{name: new})
        if isinstance(v, (tuple, list)) and any(x is old for x in v):
            items: list[Any] = []
            for x in v:
                if x is not old:
                    items.append(x)
                elif isinstance(new, cst.FlattenSentinel):
                    items.extend(new.nodes)
                elif not isinstance(new, cst.RemovalSentinel):
                    items.append(new)
            return parent.with_changes(**{name: type(v)(items) if isinstance(v, tuple) else items})
    raise ValueError("not a child")  # pragma: no cover - _path only yields real parents


def replace(root: cst.CSTNode, old: cst.CSTNode, new: Any) -> Any:
    """``root.deep_replace(old, new)`` copying only the path from ``root`` to ``old``.

    ``new`` may be a FlattenSentinel or RemovalSentinel where ``old`` is an element of a sequence.
    Falls back to libcst's ``deep_replace`` where the shortcut does not apply.
    """
    path = _path(root, old)
    if path is None or len(path) == 1:  # not found (trivia is not walked), or the root itself
        return root.deep_replace(old, new)
    try:
        cur: Any = new
        for parent, child in zip(reversed(path[:-1]), reversed(path[1:]), strict=True):
            cur = _swap_child(parent, child, cur)
        return cur
    except (ValueError, TypeError, cst.CSTValidationError):
        return root.deep_replace(old, new)
