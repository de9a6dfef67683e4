"""Read one dataset directory and fold it into a ``DatasetStats``.

Lines are read one at a time, digested in batches by a small process pool (at most a few
batches in flight, so memory stays bounded however large the shards are) and folded, in file
order, into one ``ScopeStats`` for the whole dataset and one per origin.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import random
import sys
import zlib
from collections import Counter, deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from warp_synth.eval.digest import Corrupt, Digest, digest_lines, init_worker
from warp_synth.eval.metrics import ScopeStats, SignatureStore
from warp_synth.records import ORIGINS
from warp_synth.shards import MAX_CORRUPT_EXAMPLES, find_shards, iter_lines

BATCH = 256


def _batches(shards: list[Path]) -> Iterator[tuple[list[bytes], list[str]]]:
    """(lines, "DIR/SHARD:LINE" labels) in batches; blank lines are skipped, not counted."""
    lines: list[bytes] = []
    where: list[str] = []
    for label, raw in iter_lines(shards):
        lines.append(raw)
        where.append(label)
        if len(lines) >= BATCH:
            yield lines, where
            lines, where = [], []
    if lines:
        yield lines, where


@dataclass(slots=True)
class DatasetStats:
    name: str
    path: Path
    shards: int
    vendi_sample: int
    seed: int
    corrupt_lines: int = 0
    corrupt_examples: list[str] = field(default_factory=list)
    store: SignatureStore = field(default_factory=SignatureStore)
    total: ScopeStats = field(init=False)
    by_origin: dict[str, ScopeStats] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.total = self._scope("(all)")

    def _scope(self, label: str) -> ScopeStats:
        rng = random.Random(self.seed * 1_000_003 + zlib.crc32(label.encode()))
        return ScopeStats(vendi_sample=self.vendi_sample, rng=rng, store=self.store)

    def add(self, item: Digest | Corrupt, where: str) -> None:
        if isinstance(item, Corrupt):
            self.corrupt_lines += 1
            if len(self.corrupt_examples) < MAX_CORRUPT_EXAMPLES:
                self.corrupt_examples.append(f"{where}: {item.reason}")
            return
        rid = self.store.append(item.minhash)
        self.total.add(item, rid)
        scope = self.by_origin.get(item.origin)
        if scope is None:
            scope = self.by_origin[item.origin] = self._scope(item.origin)
        scope.add(item, rid)

    def result(self, builtin_names: list[str]) -> dict:
        out = {"name": self.name, "path": str(self.path), "shards": self.shards}
        out.update(self.total.result(builtin_names))
        out["corrupt_lines"] = self.corrupt_lines
        out["corrupt_examples"] = list(self.corrupt_examples)
        out["origins"] = dict(self.total.origins)
        order = [o for o in ORIGINS if o in self.by_origin] + sorted(set(self.by_origin) - set(ORIGINS))
        by_origin = {}
        for o in order:
            r = self.by_origin[o].result(builtin_names)
            r["builtin_coverage"].pop("records_using")
            by_origin[o] = r
        out["by_origin"] = by_origin
        sizes = Counter(self.total.skeletons.values())
        out["skeleton_cluster_sizes"] = {str(k): sizes[k] for k in sorted(sizes)}
        out["lengths"] = {"python_lines": _summary(self.total.py_lines), "ir_cpu_lines": _summary(self.total.ir_lines)}
        return out


def _summary(values: list[int]) -> dict:
    if not values:
        return {"min": 0, "p50": 0, "p90": 0, "max": 0, "mean": 0.0}
    a = np.asarray(values)
    return {"min": int(a.min()), "p50": float(np.percentile(a, 50)), "p90": float(np.percentile(a, 90)),
            "max": int(a.max()), "mean": round(float(a.mean()), 2)}


def scan_dataset(
    d: Path,
    builtin_names: frozenset[str],
    *,
    name: str,
    vendi_sample: int,
    seed: int,
    workers: int,
    progress: bool,
) -> DatasetStats:
    shards = find_shards([d])
    stats = DatasetStats(name=name, path=d, shards=len(shards), vendi_sample=vendi_sample, seed=seed)
    bar = None
    if progress:
        from tqdm import tqdm

        total_bytes = sum(p.stat().st_size for p in shards)
        bar = tqdm(total=total_bytes, unit="B", unit_scale=True, desc=f"eval {name}", file=sys.stderr)

    def fold(batch: list[Digest | Corrupt], lines: list[bytes], where: list[str]) -> None:
        for item, w in zip(batch, where, strict=True):
            stats.add(item, w)
        if bar is not None:
            bar.update(sum(len(x) for x in lines))

    if workers <= 1:
        init_worker(builtin_names)
        for lines, where in _batches(shards):
            fold(digest_lines(lines), lines, where)
    else:
        ctx = mp.get_context("fork" if sys.platform.startswith("linux") else "spawn")
        with ctx.Pool(workers, initializer=init_worker, initargs=(builtin_names,)) as pool:
            pending: deque = deque()
            for lines, where in _batches(shards):
                pending.append((pool.apply_async(digest_lines, (lines,)), lines, where))
                if len(pending) >= 3 * workers:
                    res, ls, ws = pending.popleft()
                    fold(res.get(), ls, ws)
            while pending:
                res, ls, ws = pending.popleft()
                fold(res.get(), ls, ws)
    if bar is not None:
        bar.close()
    return stats


def default_workers() -> int:
    return max(1, min(os.cpu_count() or 1, 8))
