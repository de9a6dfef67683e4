"""Streaming accumulators: digests in, metric dictionaries out.

A ``ScopeStats`` holds what one scope (a dataset, or one origin inside it) needs, all of it
small per record: 64-bit hashes in sets, LSH band keys of near-dedup survivors (the MinHash
signatures, 512 bytes per record, sit once per dataset in a ``SignatureStore``),
sorted arrays of distinct n-gram hashes (exact sets of 64-bit hashes: collisions are
negligible at 10^5-10^7 n-grams), a reservoir of at most ``vendi_sample`` token sequences,
counters and per-record line counts.

Definitions (``records`` = valid records of the scope, in file order):

* ``exact_dup_rate`` = 1 - distinct ``python_source`` / records;
* ``alpha_dup_rate`` = 1 - distinct ``normalized_source`` / records;
* ``near_dup_rate``: share of records a greedy near-dedup in file order drops: a record is
  dropped when it is an alpha copy of an earlier one, or when its normalised token-5-gram set
  has MinHash-estimated Jaccard >= 0.8 with an earlier *kept* record (LSH candidates with
  datasketch's band/row split for 0.8, then checked on the signatures);
* ``skeleton_unique_ratio`` = distinct ``skeleton`` / records;
* ``distinct_n[n]`` = distinct code-token n-grams / all code-token n-grams (n = 1..4);
* ``vendi``: exp(Shannon entropy of the eigenvalues of K/s), K the cosine similarity of token
  1-3-gram count vectors of a reservoir sample of s records;
* ``execution`` (and ``execution_by_category``): ``executed`` = records whose
  ``execution.status`` is ``passed`` (the kernel ran on the CPU and passed every check),
  ``execution_rate`` = executed / records, ``adjoint`` = records per adjoint result,
  ``adjoint_pass_rate`` = adjoint passed / executed, ``adjoint_checked_pass_rate`` = passed /
  (passed + failed): the pass rate among the kernels whose adjoint was actually compared.
"""

from __future__ import annotations

import math
import random
from array import array
from collections import Counter
from dataclasses import dataclass, field

import numpy as np
from datasketch import MinHashLSH

from warp_synth.eval.digest import GRAD_STATUSES, HASH_STEP, MAX_N, NUM_PERM, Digest, mix64, ngram_hashes
from warp_synth.usage import DTYPE_NAMES, FEATURES, entropy_bits

NEAR_THRESHOLD = 0.8
VENDI_MAX_N = 3
_VENDI_DIM = 1 << 13  # above this many distinct n-grams in the sample, signed feature hashing (<= 64 MB)


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
            # merge when the buffer reaches a quarter of the set: amortised O(N log N), memory ~1.25x
            if self._pending_len >= max(1 << 18, len(self._sorted) // 4):
                self._merge()

    def _merge(self) -> None:
        if self._pending:
            self._sorted = np.unique(np.concatenate([self._sorted, *self._pending]))
            self._pending, self._pending_len = [], 0

    def __len__(self) -> int:
        self._merge()
        return len(self._sorted)


class SignatureStore:
    """MinHash signatures (uint32[NUM_PERM]) of a dataset's records, by record number."""

    __slots__ = ("_sigs", "_n")

    def __init__(self) -> None:
        self._sigs = np.empty((1024, NUM_PERM), dtype=np.uint32)
        self._n = 0

    def append(self, sig: np.ndarray) -> int:
        if self._n == len(self._sigs):
            grown = np.empty((2 * len(self._sigs), NUM_PERM), dtype=np.uint32)
            grown[: self._n] = self._sigs
            self._sigs = grown
        self._sigs[self._n] = sig
        self._n += 1
        return self._n - 1

    def __getitem__(self, i: int) -> np.ndarray:
        return self._sigs[i]


def _lsh_params() -> tuple[int, int]:
    """(bands, rows) datasketch's MinHashLSH chooses for NEAR_THRESHOLD and NUM_PERM."""
    lsh = MinHashLSH(threshold=NEAR_THRESHOLD, num_perm=NUM_PERM)
    return lsh.b, lsh.r


BANDS, ROWS = _lsh_params()


def band_keys(sig: np.ndarray) -> np.ndarray:
    """One 64-bit key per LSH band (the band's number is mixed in, so one key space serves all bands)."""
    rows = sig[: BANDS * ROWS].astype(np.uint64).reshape(BANDS, ROWS)
    with np.errstate(over="ignore"):
        h = np.arange(1, BANDS + 1, dtype=np.uint64)
        for j in range(ROWS):
            h = mix64(h * HASH_STEP + rows[:, j])
    return h


class NearDedup:
    """Greedy MinHash-LSH near-dedup in arrival order.

    Records are banded exactly as datasketch's ``MinHashLSH`` would band them (same ``b, r``),
    but the band keys of kept records live in one sorted ``uint64`` array (plus a small dict of
    recent ones): 12 bytes per band instead of a Python set per bucket, which at 10^5 records is
    the difference between ~10 MB and ~1 GB.  Candidates are confirmed on the signatures.
    """

    __slots__ = ("_store", "_keys", "_ids", "_recent")

    def __init__(self, store: SignatureStore | None = None) -> None:
        self._store = store if store is not None else SignatureStore()
        self._keys = np.empty(0, dtype=np.uint64)
        self._ids = np.empty(0, dtype=np.int32)
        self._recent: dict[int, list[int]] = {}

    def _candidates(self, keys: np.ndarray) -> set[int]:
        out: set[int] = set()
        lo = np.searchsorted(self._keys, keys, "left")
        hi = np.searchsorted(self._keys, keys, "right")
        for a, b in zip(lo.tolist(), hi.tolist(), strict=True):
            if b > a:
                out.update(self._ids[a:b].tolist())
        for k in keys.tolist():
            out.update(self._recent.get(k, ()))
        return out

    def is_near_dup(self, sig: np.ndarray, record: int | None = None) -> bool:
        """True when ``sig`` is near an already kept record; otherwise keep it and return False.

        ``record`` is the signature's number in the shared store (appended when None).
        """
        keys = band_keys(sig)
        for c in self._candidates(keys):
            if np.count_nonzero(self._store[c] == sig) >= NEAR_THRESHOLD * NUM_PERM:
                return True
        rid = self._store.append(sig) if record is None else record
        for k in keys.tolist():
            self._recent.setdefault(k, []).append(rid)
        if len(self._recent) >= 1 << 15:  # ~200 bytes per dict entry: keep the dict small
            self._merge()
        return False

    def _merge(self) -> None:
        ks = np.fromiter((k for k, ids in self._recent.items() for _ in ids), dtype=np.uint64)
        ids = np.fromiter((i for v in self._recent.values() for i in v), dtype=np.int32)
        keys = np.concatenate([self._keys, ks])
        order = np.argsort(keys, kind="stable")
        self._keys, self._ids = keys[order], np.concatenate([self._ids, ids])[order]
        self._recent = {}


@dataclass(slots=True)
class ScopeStats:
    vendi_sample: int
    rng: random.Random
    store: SignatureStore  # shared by the scopes of one dataset
    records: int = 0
    unparsed: int = 0
    exact: set[int] = field(default_factory=set)
    alpha: set[int] = field(default_factory=set)
    skeletons: Counter[int] = field(default_factory=Counter)
    near: NearDedup = field(init=False)
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
    execution: Counter[str] = field(default_factory=Counter)  # "status:<s>" and "grad:<g>" -> records
    execution_by_category: dict[str, Counter[str]] = field(default_factory=dict)
    py_lines: array = field(default_factory=lambda: array("l"))
    ir_lines: array = field(default_factory=lambda: array("l"))  # cpu forward + backward, per record

    def __post_init__(self) -> None:
        self.near = NearDedup(self.store)

    def add(self, d: Digest, record: int) -> None:
        """Fold in one record; ``record`` is the number of its signature in ``store``."""
        self.records += 1
        self.unparsed += not d.parsed
        self.exact.add(d.exact)
        new_alpha = d.alpha not in self.alpha
        self.alpha.add(d.alpha)
        self.skeletons[d.skel] += 1
        if not new_alpha or self.near.is_near_dup(d.minhash, record):
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
        keys = (f"status:{d.execution}", f"grad:{d.grad}")
        self.execution.update(keys)
        self.execution_by_category.setdefault(d.kernel_type, Counter()).update(keys)
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
            "execution": execution_stats(self.execution),
            "execution_by_category": {c: execution_stats(v) for c, v in sorted(self.execution_by_category.items())},
        }


def _rate(num: int, den: int) -> float:
    return round(num / den, 6) if den else 0.0


def execution_stats(counts: Counter[str]) -> dict:
    """Execution and adjoint figures of a scope (see the module docstring)."""
    records = sum(v for k, v in counts.items() if k.startswith("status:"))
    executed = counts["status:passed"]
    adjoint = {g: counts[f"grad:{g}"] for g in GRAD_STATUSES}
    return {
        "records": records,
        "executed": executed,
        "execution_rate": _rate(executed, records),
        "statuses": {k[7:]: v for k, v in sorted(counts.items()) if k.startswith("status:")},
        "adjoint": adjoint,
        "adjoint_pass_rate": _rate(adjoint["passed"], executed),
        "adjoint_checked_pass_rate": _rate(adjoint["passed"], adjoint["passed"] + adjoint["failed"]),
    }


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
    # raw counts are small integers, exact in float32; K is summed in float64 over column blocks,
    # so the sample needs s * dim * 4 bytes (<= 32 MB) plus one 8 MB block at a time
    x = np.zeros((s, dim), dtype=np.float32)
    np.add.at(x, (r, idx), v.astype(np.float32))
    k = np.zeros((s, s), dtype=np.float64)
    for c0 in range(0, dim, 1024):
        blk = x[:, c0 : c0 + 1024].astype(np.float64)
        k += blk @ blk.T
    del x
    norm = np.sqrt(np.maximum(np.diag(k), 1e-300))
    k /= np.outer(norm, norm)
    lam = np.clip(np.linalg.eigvalsh(k / s), 0.0, None)
    lam = lam[lam > 1e-12]
    return float(math.exp(-np.sum(lam * np.log(lam))))
