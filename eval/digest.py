"""One JSONL line -> a small, picklable digest of everything the report needs.

This is the per-record work (JSON parse, normalisation, tokenising, hashing, MinHash) and runs in
worker processes; the accumulators in ``eval.metrics`` only ever see digests, never sources.

Hashes are deterministic across processes (BLAKE2b, never Python's salted ``hash``):

* ``exact`` / ``alpha`` / ``skel``: 64-bit hashes of ``python_source``, of
  ``core.identity.normalized_source`` and of ``core.identity.skeleton``;
* ``ngrams[n-1]``: the distinct 64-bit hashes of the record's code-token n-grams, n = 1..4;
* ``minhash``: MinHash (datasketch, ``affine32`` scheme) of the token 5-gram set of the
  *normalised* source (split into words and punctuation), so renamed copies are near copies too;
* ``tokens``: the 64-bit hashes of the raw code tokens, in order (the Vendi sample needs them).
* ``builtins`` / ``dtypes`` / ``features``: ``warp_synth.usage.scan`` of the source (the one
  vocabulary, shared with the LLM's coverage guidance); builtins restricted to Warp's registry.
* ``execution`` / ``grad``: the record's ``execution.status`` (``"absent"`` for a record written
  before execution existed) and its adjoint result (``execution.grad.status``; ``"not_executed"``
  unless the kernel ran and passed its checks).
"""

from __future__ import annotations

import ast
import hashlib
import re
from dataclasses import dataclass

import numpy as np
from datasketch import MinHash

from warp_synth.identity import code_tokens, normalized_and_skeleton
from warp_synth.records import Record
from warp_synth.shards import parse_line
from warp_synth.usage import EMPTY, FEATURES, scan

NUM_PERM = 128
MINHASH_SEED = 1
SHINGLE = 5
MAX_N = 4
_CANON_TOKEN_RE = re.compile(r"\w+|[^\w\s]")

_M64 = np.uint64(0xFFFFFFFFFFFFFFFF)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)
HASH_STEP = np.uint64(0x9E3779B97F4A7C15)


@dataclass(slots=True)
class Digest:
    kernel_type: str
    origin: str
    exact: int
    alpha: int
    skel: int
    parsed: bool  # python_source parsed; otherwise alpha/skel fall back to the raw text
    minhash: np.ndarray  # uint32[NUM_PERM]
    ngrams: tuple[np.ndarray, ...]  # MAX_N arrays of distinct uint64 n-gram hashes
    ngram_totals: tuple[int, ...]  # number of n-grams (with repeats), n = 1..MAX_N
    tokens: np.ndarray  # uint64 hashes of the raw code tokens, in order
    builtins: tuple[str, ...]
    dtypes: tuple[str, ...]
    features: tuple[str, ...]
    py_lines: int
    ir_lines: tuple[int, int, int, int]  # cpu forward, cpu backward, cuda forward, cuda backward
    execution: str = "absent"  # execution.status: passed, not_executed (absent: no execution object)
    grad: str = "not_executed"  # execution.grad.status: passed, failed, not_differentiable, skipped


GRAD_STATUSES = ("passed", "failed", "not_differentiable", "skipped", "not_executed")


def execution_of(execution: object) -> tuple[str, str]:
    """(status, adjoint result) of a record's ``execution`` object."""
    if not isinstance(execution, dict):
        return "absent", "not_executed"
    status = execution.get("status")
    status = status if isinstance(status, str) and status else "absent"
    grad = execution.get("grad")
    g = grad.get("status") if isinstance(grad, dict) else None
    return status, g if status == "passed" and g in GRAD_STATUSES else "not_executed"


@dataclass(slots=True)
class Corrupt:
    reason: str


def hash64(text: str) -> int:
    return int.from_bytes(hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=8).digest(), "little")


_token_cache: dict[str, int] = {}


def token_hashes(tokens: list[str]) -> np.ndarray:
    cache = _token_cache
    if len(cache) > 500_000:  # bounded: identifiers and literals are open-ended
        cache.clear()
    out = np.empty(len(tokens), dtype=np.uint64)
    for i, t in enumerate(tokens):
        h = cache.get(t)
        if h is None:
            h = cache[t] = hash64(t)
        out[i] = h
    return out


def mix64(h: np.ndarray) -> np.ndarray:
    """SplitMix64 finaliser, element-wise (uint64 arithmetic wraps)."""
    h = (h ^ (h >> np.uint64(30))) * _MIX1
    h = (h ^ (h >> np.uint64(27))) * _MIX2
    return h ^ (h >> np.uint64(31))


def ngram_hashes(tok: np.ndarray, n: int) -> np.ndarray:
    """64-bit hash of every n-gram of the token-hash sequence ``tok`` (with repeats, in order)."""
    m = len(tok) - n + 1
    if m <= 0:
        return np.empty(0, dtype=np.uint64)
    with np.errstate(over="ignore"):
        h = np.full(m, np.uint64(n), dtype=np.uint64)
        for k in range(n):
            h = mix64(h * HASH_STEP + tok[k : k + m])
    return h


def _identity(x: int) -> int:
    return x


_template: MinHash | None = None


def minhash_of(shingles: np.ndarray) -> np.ndarray:
    """MinHash hash values (uint32[NUM_PERM]) of a set of 64-bit shingle hashes."""
    global _template
    if _template is None:
        _template = MinHash(num_perm=NUM_PERM, seed=MINHASH_SEED, scheme="affine32")
    m = MinHash(num_perm=NUM_PERM, seed=MINHASH_SEED, hashfunc=_identity,
                permutations=_template.permutations, scheme="affine32")
    m.update_batch((shingles & np.uint64(0xFFFFFFFF)).astype(np.uint32))
    return m.hashvalues.astype(np.uint32, copy=False)


def _line_count(text: object) -> int:
    if not isinstance(text, str) or not text:
        return 0
    return text.count("\n") + (0 if text.endswith("\n") else 1)


def _ir_lines(ir: dict) -> tuple[int, int, int, int]:
    cpu = ir.get("cpu") or {}
    cuda = ir.get("cuda") or {}
    return (_line_count(cpu.get("forward")), _line_count(cpu.get("backward")),
            _line_count(cuda.get("forward")), _line_count(cuda.get("backward")))


def parse_record(line: str | bytes) -> Record | Corrupt:
    """The record on one line, or why not (``warp_synth.shards.parse_line``'s reason) as a value."""
    try:
        return parse_line(line)
    except ValueError as e:
        return Corrupt(str(e))


def digest_record(rec: Record, builtin_names: frozenset[str]) -> Digest:
    src = rec.python_source
    status, grad = execution_of(rec.execution)
    usage = EMPTY  # what ``scan`` gives a source that does not parse
    try:
        tree = ast.parse(src)
        usage = scan(tree)  # before normalisation rewrites the tree
        (norm, skel), parsed = normalized_and_skeleton(tree), True
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        norm, skel, parsed = src, src, False
    raw_tok = token_hashes(code_tokens(src))
    # ast.unparse output is canonical, so a regex split tokenises it as well as ``tokenize`` would
    norm_tok = token_hashes(_CANON_TOKEN_RE.findall(norm))
    grams = [ngram_hashes(raw_tok, n) for n in range(1, MAX_N + 1)]
    shingles = ngram_hashes(norm_tok, SHINGLE) if len(norm_tok) >= SHINGLE else ngram_hashes(norm_tok, len(norm_tok))
    if len(shingles) == 0:
        shingles = np.zeros(1, dtype=np.uint64)
    return Digest(
        kernel_type=rec.kernel_type,
        origin=rec.origin,
        exact=hash64(src),
        alpha=hash64(norm),
        skel=hash64(skel),
        parsed=parsed,
        minhash=minhash_of(np.unique(shingles)),
        ngrams=tuple(np.unique(g) for g in grams),
        ngram_totals=tuple(len(g) for g in grams),
        tokens=raw_tok,
        builtins=tuple(sorted(usage.builtins & builtin_names)),
        dtypes=tuple(sorted(usage.dtypes)),
        features=tuple(f for f in FEATURES if f in usage.features),
        py_lines=_line_count(src),
        ir_lines=_ir_lines(rec.ir),
        execution=status,
        grad=grad,
    )


_worker_builtins: frozenset[str] = frozenset()


def init_worker(builtin_names: frozenset[str]) -> None:
    global _worker_builtins
    _worker_builtins = builtin_names


def digest_lines(lines: list[bytes]) -> list[Digest | Corrupt]:
    """Worker entry point: digest a batch of JSONL lines (uses ``init_worker``'s builtin set)."""
    out: list[Digest | Corrupt] = []
    for line in lines:
        rec = parse_record(line)
        out.append(rec if isinstance(rec, Corrupt) else digest_record(rec, _worker_builtins))
    return out
