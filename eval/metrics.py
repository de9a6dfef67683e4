"""Streaming accumulators: digests in, metric dictionaries out.

A ``ScopeStats`` holds what one scope (a dataset, or one origin inside it) needs, all of it
small per record: 64-bit hashes in sets, the MinHash signatures of near-dedup *survivors* only,
sorted arrays of distinct n-gram hashes (exact sets of 64-bit hashes: collisions are
negligible at 10^5-10^7 n-grams), a reservoir of at most ``vendi_sample`` token sequences,
counters and per-record line counts.

Definitions (``records`` = valid records of the scope, in file order):

* ``exact_dup_rate`` = 1 - distinct ``python_source`` / records;
* ``alpha_dup_rate`` = 1 - distinct ``normalized_source`` / records;
* ``near_dup_rate``: share of records a greedy near-dedup in file order drops: a record is
  dropped when it is an alpha copy of an earlier one, or when its normalised token-5-gram set
  has MinHash-estimated Jaccard >= 0.8 with an earlier *kept* record (candidates from
  datasketch's MinHashLSH, then checked on the signatures);
* ``skeleton_unique_ratio`` = distinct ``skeleton`` / records;
* ``distinct_n[n]`` = distinct code-token n-grams / all code-token n-grams (n = 1..4);
* ``vendi``: exp(Shannon entropy of the eigenvalues of K/s), K the cosine similarity of token
  1-3-gram count vectors of a reservoir sample of s records.
"""

from __future__ import annotations

import math
import random
from collections import Counter
from dataclasses import dataclass, field

import numpy as np
from datasketch import LeanMinHash, MinHashLSH

from .digest import MAX_N, MINHASH_SEED, NUM_PERM, Digest, ngram_hashes
from .features import DTYPE_NAMES, FEATURES, entropy_bits

NEAR_THRESHOLD = 0.8
VENDI_MAX_N = 3
_VENDI_DIM = 1 << 14  # above this many distinct n-grams in the sample, signed feature hashing


class HashSet:
    """A growing set of uint64 hashes kept as one sorted array plus a pending buffer."""

    __slots__ = ("_sorted", "_pending", "_pending_len")

    def __init__(self) -> None:
        self._sorted = np.empty(0, dtype=np.uint64)
        self._pending: list[np.ndarray] = []
        self._pending_len = 0

    def add(self, values: np.ndarray) -> None:
        if len(values):
            self._pending.append(values)
            self._pending_len += len(values)
            # merge when the buffer is as large as the set: amortised O(N log N), memory <= 2x
            if self._pending_len >= max(1 << 20, len(self._sorted)):
                self._merge()

    def _merge(self) -> None:
        if self._pending:
            self._sorted = np.unique(np.concatenate([self._sorted, *self._pending]))
            self._pending, self._pending_len = [], 0

    def __len__(self) -> int:
        self._merge()
        return len(self._sorted)


class NearDedup:
    """Greedy MinHash-LSH near-dedup; only the kept records' signatures are stored."""

    __slots__ = ("_lsh", "_kept")

    def __init__(self) -> None:
        self._lsh = MinHashLSH(threshold=NEAR_THRESHOLD, num_perm=NUM_PERM)
        self._kept: list[np.ndarray] = []

    def is_near_dup(self, sig: np.ndarray) -> bool:
        """True when ``sig`` is near an already kept record; otherwise keep it and return False."""
        m = LeanMinHash(seed=MINHASH_SEED, hashvalues=sig, scheme="affine32")
        for key in self._lsh.query(m):
            if np.count_nonzero(self._kept[key] == sig) >= NEAR_THRESHOLD * NUM_PERM:
                return True
        self._lsh.insert(len(self._kept), m, check_duplication=False)
        self._kept.append(sig)
        return False


@dataclass(slots=True)
class ScopeStats:
    vendi_sample: int
    rng: random.Random
    records: int = 0
    unparsed: int = 0
    exact: set[int] = field(default_factory=set)
    alpha: set[int] = field(default_factory=set)
    skeletons: Counter[int] = field(default_factory=Counter)
    near: NearDedup = field(default_factory=NearDedup)
    near_dups: int = 0
    ngrams: list[HashSet] = field(default_factory=lambda: [HashSet() for _ in range(MAX_N)])
    ngram_totals: list[int] = field(default_factory=lambda: [0] * MAX_N)
    sample: list[np.ndarray] = field(default_factory=list)
    categories: Counter[str] = field(default_factory=Counter)
    origins: Counter[str] = field(default_factory=Counter)
    builtins: Counter[str] = field(default_factory=Counter)
    dtypes: Counter[str] = field(default_factory=Counter)
    features: Counter[str] = field(default_factory=Counter)
    ir_by_category: dict[str, list[int]] = field(default_factory=dict)  # [n, cpu f, cpu b, cuda f, cuda b]
    py_lines: list[int] = field(default_factory=list)
    ir_lines: list[int] = field(default_factory=list)  # cpu forward + backward, per record

    def add(self, d: Digest) -> None:
        self.records += 1
        self.unparsed += not d.parsed
        self.exact.add(d.exact)
        new_alpha = d.alpha not in self.alpha
        self.alpha.add(d.alpha)
        self.skeletons[d.skel] += 1
        if not new_alpha or self.near.is_near_dup(d.minhash):
            self.near_dups += 1
        for n in range(MAX_N):
            self.ngrams[n].add(d.ngrams[n])
            self.ngram_totals[n] += d.ngram_totals[n]
        # reservoir sampling (Algorithm R)
        if len(self.sample) < self.vendi_sample:
            self.sample.append(d.tokens)
        else:
            j = self.rng.randrange(self.records)
            if j < self.vendi_sample:
                self.sample[j] = d.tokens
        self.categories[d.kernel_type] += 1
        self.origins[d.origin] += 1
        self.builtins.update(d.builtins)
        self.dtypes.update(d.dtypes)
        self.features.update(d.features)
        ir = self.ir_by_category.setdefault(d.kernel_type, [0, 0, 0, 0, 0])
        ir[0] += 1
        for k in range(4):
            ir[k + 1] += d.ir_lines[k]
        self.py_lines.append(d.py_lines)
        self.ir_lines.append(d.ir_lines[0] + d.ir_lines[1])

    def result(self, builtin_names: list[str]) -> dict:
        n = self.records
        universe = set(builtin_names)
        used = sorted(b for b in self.builtins if b in universe)
        return {
            "records": n,
            "unparsed_sources": self.unparsed,
            "exact_dup_rate": _rate(n - len(self.exact), n),
            "alpha_dup_rate": _rate(n - len(self.alpha), n),
            "near_dup_rate": _rate(self.near_dups, n),
            "skeleton_unique_ratio": _rate(len(self.skeletons), n),
            "distinct_n": {str(k + 1): _rate(len(self.ngrams[k]), self.ngram_totals[k]) for k in range(MAX_N)},
            "vendi": round(vendi_score(self.sample), 4),
            "vendi_sample": len(self.sample),
            "builtin_coverage": {
                "used": len(used),
                "total": len(builtin_names),
                "ratio": _rate(len(used), len(builtin_names)),
                "entropy": round(entropy_bits([self.builtins[b] for b in used]), 4),
                "records_using": {b: self.builtins[b] for b in used},
            },
            "dtype_coverage": _coverage(self.dtypes, DTYPE_NAMES),
            "feature_coverage": _coverage(self.features, FEATURES),
            "categories": dict(sorted(self.categories.items(), key=lambda kv: (-kv[1], kv[0]))),
            "ir": ir_stats(self.ir_by_category),
        }


def _rate(num: int, den: int) -> float:
    return round(num / den, 6) if den else 0.0


def _coverage(counts: Counter[str], universe: tuple[str, ...]) -> dict:
    used = [u for u in universe if counts.get(u)]
    return {"used": len(used), "total": len(universe), "ratio": _rate(len(used), len(universe)),
            "records_using": {u: counts[u] for u in universe if counts.get(u)}}


def ir_stats(by_category: dict[str, list[int]]) -> dict:
    """Mean forward/backward IR lines and backward/forward ratio per category and backend."""
    out: dict[str, dict] = {}
    totals = [0, 0, 0, 0, 0]
    for cat, v in sorted(by_category.items()):
        out[cat] = _ir_row(v)
        totals = [a + b for a, b in zip(totals, v, strict=True)]
    if by_category:
        out["(all)"] = _ir_row(totals)
    return out


def _ir_row(v: list[int]) -> dict:
    n = v[0] or 1
    row: dict[str, float] = {"records": v[0]}
    for i, backend in enumerate(("cpu", "cuda")):
        f, b = v[1 + 2 * i], v[2 + 2 * i]
        row[f"{backend}_forward_lines"] = round(f / n, 2)
        row[f"{backend}_backward_lines"] = round(b / n, 2)
        row[f"{backend}_backward_forward_ratio"] = round(b / f, 4) if f else 0.0
    return row


def vendi_score(token_seqs: list[np.ndarray]) -> float:
    """Vendi score of a sample under the cosine kernel of token 1..3-gram count vectors."""
    s = len(token_seqs)
    if s == 0:
        return 0.0
    rows, cols, vals = [], [], []
    for i, tok in enumerate(token_seqs):
        grams = np.concatenate([ngram_hashes(tok, n) for n in range(1, VENDI_MAX_N + 1)])
        if len(grams) == 0:
            grams = np.zeros(1, dtype=np.uint64)  # an empty kernel: one shared "empty" feature
        uniq, counts = np.unique(grams, return_counts=True)
        rows.append(np.full(len(uniq), i))
        cols.append(uniq)
        vals.append(counts.astype(np.float64))
    r, c, v = np.concatenate(rows), np.concatenate(cols), np.concatenate(vals)
    vocab, idx = np.unique(c, return_inverse=True)
    if len(vocab) > _VENDI_DIM:  # signed feature hashing keeps inner products unbiased
        idx = (c % np.uint64(_VENDI_DIM)).astype(np.int64)
        v = v * np.where((c >> np.uint64(63)) == 1, -1.0, 1.0)
        dim = _VENDI_DIM
    else:
        dim = len(vocab)
    x = np.zeros((s, dim), dtype=np.float32)
    np.add.at(x, (r, idx), v.astype(np.float32))
    x /= np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)
    k = (x @ x.T).astype(np.float64)
    lam = np.clip(np.linalg.eigvalsh(k / s), 0.0, None)
    lam = lam[lam > 1e-12]
    return float(math.exp(-np.sum(lam * np.log(lam))))
