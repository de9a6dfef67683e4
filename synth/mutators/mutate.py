"""Diversify candidate kernels with small, type-aware libcst mutations.

``mutate(source, rng)`` picks an operator applicable to ``source`` (or the one asked for), lists
its eligible sites, lets ``rng`` choose one and returns the rewritten module.  It never raises
for bad input: a source that does not parse, an operator with no site, or a rewrite that fails
all come back as None.  The result is deterministic for a given rng state.
"""

from __future__ import annotations

import ast
import random
from dataclasses import dataclass

import libcst as cst

from warp_synth.synth.mutators import ALL_OPERATORS, ModuleInfo, Operator, analyze
from warp_synth.synth.mutators.base import NodeCtx

OPERATORS: dict[str, type[Operator]] = {op.name: op for op in ALL_OPERATORS}


@dataclass(slots=True, frozen=True)
class Mutation:
    source: str  # full mutated module text
    operator: str  # operator name


def _sites(op: Operator, info: ModuleInfo) -> list[object]:
    """``op``'s sites, less any inside a ``while`` loop's test or its step (changed, the loop may never end)."""
    try:
        sites = list(op.sites(info))
    except Exception:  # an operator bug on odd input must not take the pipeline down
        return []
    steps = info.loop_steps()
    return [c for c in sites if not (isinstance(c, NodeCtx) and c.stmt is not None and (
        id(c.stmt) in steps or (isinstance(c.stmt, cst.While) and c.node is not c.stmt)))]


def applicable(source: str) -> list[str]:
    """Names of the operators with at least one site in ``source`` (in OPERATORS order)."""
    info = analyze(source)
    if info is None:
        return []
    return [name for name, cls in OPERATORS.items() if _sites(cls(), info)]


def _apply(name: str, info: ModuleInfo, rng: random.Random) -> Mutation | None:
    op = OPERATORS[name]()
    sites = _sites(op, info)
    if not sites:
        return None
    site = rng.choice(sites)
    try:
        module = op.apply(info, site, rng)
        if module is None:
            return None
        text = module.code
        ast.parse(text)  # the rewrite must still be Python (CPython's own parser: fast)
    except Exception:
        return None
    if text == info.text:
        return None
    return Mutation(source=text, operator=name)


def mutate(source: str, rng: random.Random, operator: str | None = None) -> Mutation | None:
    """Apply one operator (random among applicable ones when ``operator`` is None) at a site chosen by rng.

    Returns None when no operator applies, the operator is unknown or the source does not parse.
    """
    if operator is not None and operator not in OPERATORS:
        return None
    info = analyze(source)
    if info is None:
        return None
    if operator is not None:
        return _apply(operator, info, rng)
    # a random order, first operator that applies: uniform over the applicable operators, without
    # collecting every operator's sites first (each is a full tree walk)
    names = list(OPERATORS)
    rng.shuffle(names)
    for name in names:
        m = _apply(name, info, rng)
        if m is not None:
            return m
    return None
