"""The mutator's own tree walk agrees with libcst's visitors, and its path copy with ``deep_replace``.

The corpus is every template family, the mutator's example kernels and their mutants, plus
hand-written odd shapes (comments, parentheses, decorators with arguments, nested functions,
star-args, lambdas, f-strings, ``while``/``else``), so classes are met with many field shapes.
"""

from __future__ import annotations

import random
from textwrap import dedent

import libcst as cst
import pytest

from warp_synth.records import CATEGORIES
from warp_synth.synth.mutators import walk
from warp_synth.synth.mutators.examples import EXAMPLE_KERNELS
from warp_synth.synth.mutators.mutate import mutate
from warp_synth.synth.templates import TemplateSource

pytestmark = pytest.mark.timeout(300)

ODD = dedent('''
    import warp as wp  # a comment

    @wp.kernel(enable_backward=False)
    def k(a: wp.array(dtype=float), *rest, scale: float = (1.0), **kw) -> None:
        """Doc."""
        i = wp.tid()  # trailing
        x, y = (a[i], -a[i])
        f = lambda v, *w: v + 1
        s = f"{x!r:>{y}}"
        while x < 1.0:
            x += 1.0
        else:
            pass
        def inner(q):
            return [q for q in range(3) if q] or {q: q for q in ()}
        if (x := 2) and not y:
            a[i] = x if y else (y)
        del f; assert True, "msg"
        try:
            pass
        except (ValueError, TypeError) as e:
            raise
        finally:
            pass
    ''')


def _corpus() -> list[str]:
    sources = [ODD, *EXAMPLE_KERNELS]
    for c in CATEGORIES:
        sources += [TemplateSource(s).sample(c).source for s in range(8)]
    rng = random.Random(0)
    for s in list(sources):
        m = mutate(s, rng)
        if m is not None:
            sources.append(m.source)
    return sources


class _Order(cst.CSTVisitor):
    def __init__(self) -> None:
        self.events: list[tuple[str, cst.CSTNode]] = []

    def on_visit(self, node: cst.CSTNode) -> bool:
        self.events.append(("enter", node))
        return True

    def on_leave(self, original_node: cst.CSTNode) -> None:
        self.events.append(("leave", original_node))


def test_walk_is_libcst_preorder_without_trivia() -> None:
    sources = _corpus()
    assert len(sources) > 100
    for src in sources:
        module = cst.parse_module(src)
        v = _Order()
        module.visit(v)
        expected = [n for e, n in v.events if e == "enter" and not walk.is_trivia(n)]
        got = list(walk.walk(module))
        assert len(got) == len(expected) and all(a is b for a, b in zip(got, expected, strict=True)), src
        events: list[tuple[str, cst.CSTNode]] = []
        record = events.append
        walk.drive(module, lambda n, rec=record: rec(("enter", n)), lambda n, rec=record: rec(("leave", n)))
        want = [(e, n) for e, n in v.events if not walk.is_trivia(n)]
        assert [e for e, _ in events] == [e for e, _ in want]
        assert all(a is b for (_, a), (_, b) in zip(events, want, strict=True))


def test_trivia_is_only_whitespace_comments_and_punctuation() -> None:
    module = cst.parse_module(ODD)
    kinds = {type(n) for n in walk.walk(module)}
    assert cst.Name in kinds and cst.Call in kinds and cst.Lambda in kinds and cst.While in kinds
    assert not kinds & {cst.SimpleWhitespace, cst.Comment, cst.Comma, cst.LeftParen, cst.Newline}


def test_skip_prunes_a_subtree() -> None:
    module = cst.parse_module("x = a.b.c + d\n")
    names = [n.value for n in walk.walk(module, skip=lambda n: isinstance(n, cst.Attribute))
             if isinstance(n, cst.Name)]
    assert names == ["x", "d"]


def test_replace_matches_deep_replace() -> None:
    checked = 0
    for src in _corpus()[:60]:
        module = cst.parse_module(src)
        nodes = list(walk.walk(module))
        rng = random.Random(len(src))
        for old in rng.sample(nodes, min(8, len(nodes))):
            if isinstance(old, cst.BaseExpression):
                new: object = cst.Name("zz")
            elif isinstance(old, cst.BaseStatement):
                new = cst.FlattenSentinel([cst.parse_statement("pass\n"), old])
            else:
                continue
            try:
                expected = module.deep_replace(old, new).code  # type: ignore[arg-type]
            except Exception:  # e.g. a sentinel where libcst does not take one
                continue
            assert walk.replace(module, old, new).code == expected
            checked += 1
    assert checked > 100


def test_a_removed_statement_as_deep_replace() -> None:
    module = cst.parse_module("a = 1\nb = 2\nc = 3\n")
    b = module.body[1]
    assert walk.replace(module, b, cst.RemovalSentinel.REMOVE).code == "a = 1\nc = 3\n"
