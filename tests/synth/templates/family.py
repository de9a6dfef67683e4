"""What the domain families' tests share: sampling a family, its one kernel, the parameter and
skeleton checks, and compiling and executing a sample through the real extractor."""

from __future__ import annotations

import ast
import random
from types import ModuleType
from typing import Any

from warp_synth.identity import skeleton
from warp_synth.synth.jinja_env import render
from warp_synth.synth.templates.kernel import KernelBuilder

Sample = tuple[str, str, dict]  # (variant, rendered source, sampled params)


def sample(fam: ModuleType, category: str, seed: int) -> Sample:
    """``fam``'s kernel for ``seed``, rendered with ``prompts/kernels/<category>.j2``."""
    kb = KernelBuilder(random.Random(seed))
    variant, ctx, params = fam.family(kb)
    return variant, render(f"kernels/{category}.j2", **kb.context(**ctx)), params


def samples(fam: ModuleType, category: str, n: int) -> list[Sample]:
    """The first ``n`` seeds of ``fam``."""
    return [sample(fam, category, seed) for seed in range(n)]


def only_kernel(src: str) -> ast.FunctionDef:
    kernels = [n for n in ast.parse(src).body
               if isinstance(n, ast.FunctionDef) and ast.unparse(n.decorator_list[0]) == "wp.kernel"]
    assert len(kernels) == 1, src
    return kernels[0]


def assert_parameters_used_and_not_shadowed(items: list[Sample]) -> None:
    for _, src, _ in items:
        k = only_kernel(src)
        params = {a.arg for a in k.args.args}
        assigned = {t.id for n in ast.walk(k) if isinstance(n, ast.Assign) for tg in n.targets
                    for t in (tg.elts if isinstance(tg, ast.Tuple) else [tg]) if isinstance(t, ast.Name)}
        assert not params & assigned, (params & assigned, src)  # locals, not array stores (``out[i] = ...``)
        read = {n.id for stmt in k.body for n in ast.walk(stmt) if isinstance(n, ast.Name)}
        assert params <= read, (params - read, src)


def assert_skeletons_diverse(items: list[Sample], share: float, per_variant: int) -> None:
    per: dict[str, set[str]] = {}
    for v, src, _ in items:
        per.setdefault(v, set()).add(skeleton(src))
    assert len(set().union(*per.values())) >= share * len(items)
    for v, sks in per.items():
        assert len(sks) >= per_variant, v


def compile_and_execute(picked: list[Sample], max_bad_share: float) -> list[Any]:
    """Extract ``picked`` (screened, compiled, executed); at most ``max_bad_share`` of them may fail to
    be accepted with ``execution.status == "passed"``. The outcomes, in order."""
    from warp_synth.extract.engine import ExtractOptions, Extractor
    from warp_synth.records import Accepted, Unit

    with Extractor(ExtractOptions(workers=1, isolate_units=False)) as ex:
        outs = ex.extract([Unit(f"s{i}", src) for i, (_, src, _) in enumerate(picked)])
    bad = [(v, getattr(o, "reason", None), getattr(o, "message", "")[:300])
           for (v, _, _), o in zip(picked, outs, strict=True)
           if not isinstance(o, Accepted) or o.kernels[0].execution.get("status") != "passed"]
    assert len(bad) <= int(len(picked) * max_bad_share), bad
    return outs


def assert_variants_reachable_and_modules_clean(fam: ModuleType, items: list[Sample], head: str = "import warp as wp\n"
                                               ) -> None:
    """Every variant is drawn; each module starts with ``head``, imports nothing else, has one kernel and
    no blank line inside it."""
    assert {v for v, _, _ in items} == set(fam.VARIANTS)
    for _, src, _ in items:
        assert src.startswith(head), src
        assert "\n\n    " not in src.split("@wp.kernel", 1)[1], src
        assert "import" not in src.split("\n", 1)[1], src
        only_kernel(src)
