"""Unit tests of the metric building blocks, each against a value known by construction."""

from __future__ import annotations

import math
import random
from collections import Counter
from types import ModuleType

import numpy as np
import pytest

from warp_synth.eval.digest import Corrupt, digest_record, ngram_hashes, parse_record, token_hashes
from warp_synth.eval.metrics import HashSet, NearDedup, vendi_score
from warp_synth.identity import code_tokens
from warp_synth.records import Record
from warp_synth.usage import entropy_bits

pytestmark = pytest.mark.timeout(120)

def _rec(src: str, origin: str = "template") -> Record:
    return Record(id="x", kernel_name="k", kernel_type="loop", python_source=src,
                  ir={"cpu": {"forward": "a\nb\n", "backward": "c\n"}, "cuda": {"forward": "", "backward": ""}},
                  origin=origin, generated_at="")


def _usage(src: str, names: frozenset[str]) -> tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]:
    d = digest_record(_rec(src), names)
    return d.builtins, d.dtypes, d.features


def test_digest_usage_builtins_dtypes_features(k: ModuleType) -> None:
    names = frozenset(k.BUILTINS)
    assert _usage(k.K1, names) == (("array", "float32", "sin", "sqrt", "tid"), ("float32",), ())
    assert _usage(k.K2, names) == (
        ("array", "float32", "int32", "max", "min", "tid"), ("float32", "int32"),
        ("for", "if", "elif", "break", "continue", "scalar_param"))
    assert _usage(k.K3, names) == (
        ("array", "cos", "float32", "tid", "vec3"), ("float32", "int32", "vec3"),
        ("while", "if", "bool_op", "aug_assign", "wp_func_call", "struct"))
    assert _usage(k.K4, names) == (
        ("array", "atomic_add", "float32", "tid", "tile_load"), ("float32",), ("atomic", "tile"))
    assert _usage(k.REF, names)[2] == ("while", "ternary", "aug_assign")


def test_wp_func_defined_but_not_called_and_else_if() -> None:
    src = (
        "import warp as wp\n@wp.func\ndef f(x: float):\n    return x\n@wp.kernel\ndef g(a: float):\n"
        "    if a > 0.0:\n        a = 1.0\n    else:\n        if a < -1.0:\n            a = 2.0\n"
        "    while a > 1.0 if a > 0.0 else a < 0.0:\n        a = a - 1.0\n"
    )
    # ``else: if`` is an elif for ast.unparse (and for Warp's codegen); the ternary sits in a while test;
    # ``a: float`` is a float32 scalar parameter
    assert _usage(src, frozenset()) == ((), ("float32",), ("while", "if", "elif", "ternary", "scalar_param"))


def test_comments_docstrings_and_strings_are_not_usage(k: ModuleType) -> None:
    src = (
        'import warp as wp\n\n@wp.kernel\ndef f(a: wp.array(dtype=float)):\n    """wp.cos, for, while"""\n'
        '    # wp.sqrt(wp.vec3())\n    wp.printf("wp.exp %d", 1)\n    a[0] = wp.sin(1.0)\n'
    )
    d = digest_record(_rec(src), frozenset(k.BUILTINS) | {"printf"})
    assert (d.builtins, d.dtypes, d.features) == (("array", "printf", "sin"), ("float32",), ())  # dtype=float
    bad = digest_record(_rec("def broken(:\n    wp.cos(wp.float32(1))"), frozenset(k.BUILTINS))
    assert (bad.parsed, bad.builtins, bad.dtypes) == (False, (), ())  # text that does not parse uses nothing


def test_entropy_bits() -> None:
    assert entropy_bits([1, 1, 1, 1]) == pytest.approx(2.0)
    assert entropy_bits([5]) == 0.0
    assert entropy_bits([]) == 0.0
    assert entropy_bits([3, 1]) == pytest.approx(-(0.75 * math.log2(0.75) + 0.25 * math.log2(0.25)))


def test_ngram_hashes_count_distinct_ngrams_exactly() -> None:
    toks = ["a", "b", "a", "b", "a", "c"]
    h = token_hashes(toks)
    for n in range(1, 5):
        grams = ngram_hashes(h, n)
        assert len(grams) == len(toks) - n + 1
        assert len(np.unique(grams)) == len({tuple(toks[i:i + n]) for i in range(len(toks) - n + 1)})
    assert len(ngram_hashes(h, 7)) == 0


def test_hash_set_matches_python_set_across_merges() -> None:
    rng = np.random.default_rng(0)
    hs, ref = HashSet(), set()
    for _ in range(40):
        chunk = rng.integers(0, 200_000, size=60_000, dtype=np.uint64)  # forces several merges
        hs.add(chunk)
        ref.update(chunk.tolist())
    assert len(hs) == len(ref)


def test_digests_of_copies(k: ModuleType) -> None:
    names = frozenset(k.BUILTINS)
    d1, d1r, d2, d2n = (digest_record(_rec(s), names) for s in (k.K1, k.K1_RENAMED, k.K2, k.K2_NEAR))
    assert d1.exact != d1r.exact and d1.alpha == d1r.alpha and d1.skel == d1r.skel
    assert d2.alpha != d2n.alpha and d2.skel == d2n.skel
    assert np.array_equal(d1.minhash, d1r.minhash)  # shingles come from the normalised source
    agree = np.count_nonzero(d2.minhash == d2n.minhash) / len(d2.minhash)
    assert agree > 0.85  # true Jaccard of the 5-gram sets is ~0.95
    assert np.count_nonzero(d1.minhash == d2.minhash) / len(d1.minhash) < 0.5
    assert d1.ir_lines == (2, 1, 0, 0) and d1.py_lines == k.K1.count("\n")


def test_near_dedup_keeps_first_and_drops_near_copies(k: ModuleType) -> None:
    names = frozenset(k.BUILTINS)
    sig = {s: digest_record(_rec(s), names).minhash for s in (k.K1, k.K2, k.K2_NEAR, k.K3, k.K4)}
    nd = NearDedup()
    assert [nd.is_near_dup(sig[s]) for s in (k.K1, k.K2, k.K3, k.K2_NEAR, k.K4, k.K1)] == [False, False, False, True, False, True]


def test_parse_record_reports_corrupt_lines() -> None:
    assert isinstance(parse_record("{not json"), Corrupt)
    assert parse_record("[1, 2]") == Corrupt("not a JSON object")
    assert parse_record('{"id": "a"}') == Corrupt(
        "record lacks field(s): kernel_name, kernel_type, python_source, ir, origin")
    bad_src = '{"id": "a", "kernel_name": "k", "kernel_type": "t", "python_source": 3, "ir": {}, "origin": "llm"}'
    assert parse_record(bad_src) == Corrupt("python_source is not text")


def _cosine_vendi(sources: list[str]) -> float:
    """Independent reference: cosine kernel over Counters of token 1..3-gram tuples."""
    vecs = []
    for s in sources:
        t = code_tokens(s)
        vecs.append(Counter(tuple(t[i:i + n]) for n in (1, 2, 3) for i in range(len(t) - n + 1)))
    k = np.array([[sum(a[g] * b[g] for g in a) / math.sqrt(sum(v * v for v in a.values()) *
                                                            sum(v * v for v in b.values()))
                   for b in vecs] for a in vecs])
    lam = np.linalg.eigvalsh(k / len(vecs))
    lam = lam[lam > 1e-12]
    return math.exp(-float(np.sum(lam * np.log(lam))))


def test_vendi_score_known_values(k: ModuleType) -> None:
    t = token_hashes(code_tokens(k.K1))
    assert vendi_score([t, t, t]) == pytest.approx(1.0)  # identical items: one effective item
    disjoint = [token_hashes([f"tok{i}_{j}" for j in range(20)]) for i in range(5)]
    assert vendi_score(disjoint) == pytest.approx(5.0)  # orthogonal items: all count
    assert vendi_score([]) == 0.0
    srcs = [k.K1, k.K1_RENAMED, k.K2, k.K2_NEAR, k.K3, k.K4]
    got = vendi_score([token_hashes(code_tokens(s)) for s in srcs])
    assert got == pytest.approx(_cosine_vendi(srcs), rel=1e-5)
    assert 1.0 < got < 6.0


def test_vendi_score_feature_hashing_path_is_close() -> None:
    rng = random.Random(0)
    seqs = [[f"w{rng.randrange(30_000)}" for _ in range(60)] for _ in range(300)]  # > 2**13 distinct n-grams
    got = vendi_score([token_hashes(s) for s in seqs])
    # nearly disjoint random sequences: close to the number of items
    assert got == pytest.approx(300, rel=0.05)


def test_near_dedup_band_index_survives_merges() -> None:
    rng = np.random.default_rng(1)
    sigs = rng.integers(0, 2**32, size=(9000, 128), dtype=np.uint64).astype(np.uint32)  # > 2**16 band keys
    nd = NearDedup()
    assert not any(nd.is_near_dup(s) for s in sigs)
    near = sigs[5].copy()
    near[:10] += 1  # 118 of 128 values agree: estimated Jaccard 0.92
    far = sigs[7].copy()
    far[:40] += 1  # 88 of 128 agree: 0.69
    assert nd.is_near_dup(sigs[3]) and nd.is_near_dup(sigs[8999]) and nd.is_near_dup(near)
    assert not nd.is_near_dup(far)
