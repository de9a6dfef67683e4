"""Train/validation/test splits for ``synth export``, leak-free by construction.

Records are grouped (union-find) so that two records sharing a normalised source *or* a
skeleton (``core.identity``) are in one group; whole groups are then assigned to splits,
category by category (stratified by ``kernel_type``), largest group first, each to the split
furthest below its target size.  Ties between equal-sized groups are broken by a shuffle seeded
with ``--seed``, so the same seed and inputs give the same splits.

No normalised source and no skeleton can therefore appear in two splits; the price is that the
achieved sizes only approximate the ratios when groups are large (they are reported).
"""

from __future__ import annotations

import hashlib
import multiprocessing as mp
import random
import re
import sys
from collections import Counter, deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from warp_synth.eval.export.source import ExportError
from warp_synth.identity import normalized_and_skeleton

# Accepted split names; the first three are the ones `datasets` knows by these spellings too.
SPLIT_NAMES: tuple[str, ...] = ("train", "validation", "test", "val", "valid", "dev")
_ITEM = re.compile(r"^\s*([A-Za-z_]\w*)\s*=\s*([^=]+?)\s*$")
BATCH = 256


def parse_split_spec(spec: str) -> list[tuple[str, float]]:
    """``"train=0.9,val=0.05,test=0.05"`` -> ``[("train", 0.9), ...]``; ``ExportError`` if malformed."""
    items = spec.split(",")
    if not spec.strip() or any(not s.strip() for s in items):
        raise ExportError(f"--split {spec!r}: expected NAME=RATIO[,NAME=RATIO...], e.g. train=0.9,val=0.05,test=0.05")
    out: list[tuple[str, float]] = []
    for item in items:
        m = _ITEM.match(item)
        if not m:
            raise ExportError(f"--split {spec!r}: {item.strip()!r} is not NAME=RATIO")
        name, text = m.group(1), m.group(2)
        if name not in SPLIT_NAMES:
            raise ExportError(f"--split {spec!r}: unknown split name {name!r} (use {', '.join(SPLIT_NAMES)})")
        if any(name == n for n, _ in out):
            raise ExportError(f"--split {spec!r}: split {name!r} given twice")
        try:
            ratio = float(text)
        except ValueError:
            raise ExportError(f"--split {spec!r}: {text!r} is not a number") from None
        if not (0.0 < ratio <= 1.0):
            raise ExportError(f"--split {spec!r}: ratio of {name!r} must be in (0, 1], got {text}")
        out.append((name, ratio))
    total = sum(r for _, r in out)
    if abs(total - 1.0) > 1e-6:
        raise ExportError(f"--split {spec!r}: ratios sum to {total:g}, not 1")
    return out


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:20]


def group_keys(source: str) -> tuple[str, str]:
    """(normalised-source key, skeleton key) of one kernel; raw text keys if it does not parse."""
    try:
        norm, skel = normalized_and_skeleton(source)
        return "n:" + _digest(norm), "s:" + _digest(skel)
    except (SyntaxError, ValueError, RecursionError):
        raw = "r:" + _digest(source)
        return raw, raw


def _keys_batch(sources: list[str | tuple[str, ...]]) -> list[tuple[str, ...]]:
    """Group keys per item; an item of several sources (a record and the broken versions it repairs)
    has the keys of all of them."""
    return [group_keys(s) if isinstance(s, str) else tuple(k for one in s for k in group_keys(one)) for s in sources]


@dataclass(slots=True)
class _Item:
    id: str
    category: str


Item = tuple[str, str, str | tuple[str, ...]]  # (id, category, source or (source, *linked sources))


def _batches(items: Iterable[Item]) -> Iterator[tuple[list[_Item], list[str | tuple[str, ...]]]]:
    metas: list[_Item] = []
    sources: list[str | tuple[str, ...]] = []
    for rid, category, source in items:
        metas.append(_Item(rid, category))
        sources.append(source)
        if len(sources) >= BATCH:
            yield metas, sources
            metas, sources = [], []
    if sources:
        yield metas, sources


def _keyed(items: Iterable[Item], workers: int) -> Iterator[tuple[_Item, tuple[str, ...]]]:
    """Each item with its group keys, in input order; at most a few batches in flight."""
    if workers <= 1:
        for metas, sources in _batches(items):
            yield from zip(metas, _keys_batch(sources), strict=True)
        return
    ctx = mp.get_context("fork" if sys.platform.startswith("linux") else "spawn")
    with ctx.Pool(workers) as pool:
        pending: deque = deque()
        for metas, sources in _batches(items):
            pending.append((metas, pool.apply_async(_keys_batch, (sources,))))
            if len(pending) >= 3 * workers:
                m, res = pending.popleft()
                yield from zip(m, res.get(), strict=True)
        while pending:
            m, res = pending.popleft()
            yield from zip(m, res.get(), strict=True)


@dataclass(slots=True)
class SplitPlan:
    """Which split each record id goes to, and the sizes that achieves."""

    names: list[str]
    ratios: list[float]
    assignment: dict[str, int] = field(default_factory=dict)  # record id -> index into names
    sizes: dict[str, int] = field(default_factory=dict)
    by_category: dict[str, dict[str, int]] = field(default_factory=dict)
    groups: int = 0
    largest_group: int = 0

    def split_of(self, record_id: str) -> str:
        return self.names[self.assignment[record_id]]

    def to_json(self) -> dict:
        return {
            "ratios": dict(zip(self.names, self.ratios, strict=True)),
            "sizes": dict(self.sizes),
            "by_category": {c: dict(v) for c, v in self.by_category.items()},
            "groups": self.groups,
            "largest_group": self.largest_group,
        }


def _find(parent: list[int], i: int) -> int:
    root = i
    while parent[root] != root:
        root = parent[root]
    while parent[i] != root:  # path compression
        parent[i], i = root, parent[i]
    return root


def plan_split(
    items: Iterable[Item], ratios: list[tuple[str, float]], *, seed: int, workers: int = 1
) -> SplitPlan:
    """Assign each ``(id, category, python_source)`` to a split (see the module docstring).  The source
    may be a tuple ``(python_source, *linked)``: the record is then grouped with every linked source
    too (the broken versions its repair rows show)."""
    names = [n for n, _ in ratios]
    weights = [r for _, r in ratios]
    ids: list[str] = []
    cats: list[str] = []
    parent: list[int] = []
    first_by_key: dict[str, int] = {}
    for item, keys in _keyed(items, workers):
        i = len(ids)
        ids.append(item.id)
        cats.append(item.category)
        parent.append(i)
        for key in keys:
            j = first_by_key.setdefault(key, i)
            if j != i:
                a, b = _find(parent, i), _find(parent, j)
                if a != b:
                    parent[max(a, b)] = min(a, b)  # the root is a group's first record
    first_by_key.clear()

    members: dict[int, list[int]] = {}
    for i in range(len(ids)):
        members.setdefault(_find(parent, i), []).append(i)
    by_cat: dict[str, list[int]] = {}
    for root in members:  # a group's category is its first record's
        by_cat.setdefault(cats[root], []).append(root)

    plan = SplitPlan(names=names, ratios=weights, groups=len(members))
    plan.largest_group = max((len(m) for m in members.values()), default=0)
    sizes: Counter[tuple[str, str]] = Counter()
    for cat in sorted(by_cat):
        roots = by_cat[cat]
        random.Random(f"{seed}:{cat}").shuffle(roots)
        roots.sort(key=lambda r: -len(members[r]))  # stable: the shuffle breaks ties
        total = sum(len(members[r]) for r in roots)
        targets = [w * total for w in weights]
        filled = [0] * len(names)
        for root in roots:
            k = max(range(len(names)), key=lambda s: (targets[s] - filled[s], -s))
            filled[k] += len(members[root])
            for i in members[root]:
                plan.assignment[ids[i]] = k
                sizes[(cats[i], names[k])] += 1
    # report by each record's own category (a group may hold a stray record of another one)
    plan.by_category = {c: {n: sizes[(c, n)] for n in names} for c in sorted(set(cats))}
    plan.sizes = {n: sum(row[n] for row in plan.by_category.values()) for n in names}
    return plan
