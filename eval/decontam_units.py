"""Kernel units: what ``eval.decontam`` compares, cut out of a module and normalised.

``kernel_units(source) -> list[Unit]``: one ``Unit`` per ``@wp.kernel`` function (``@wp.kernel(...)``
and ``@warp.kernel`` too, at any depth): the kernel followed by the functions, structs and
constants of its scopes that it names, transitively, in order of first reference, decorators and
imports left out, normalised with ``warp_synth.identity``'s renamer.  A source without a kernel
is one unit (the module without imports), one that does not parse is its raw text.

A ``Unit`` carries ``norm`` (``normalized_source`` of the unit), ``skel`` (its skeleton, made on
demand), ``skel_key()`` (a cheaper, coarser key: one skeleton, one key) and two MinHash
signatures of token 5-grams: ``signature()`` over the normalised tokens, exactly
``eval.digest.minhash_of`` of ``eval/digest.py``'s shingles, and ``blind_signature()`` over the
same tokens with every renamed identifier (``v0, v1, ...``) one token ``v``.
"""

from __future__ import annotations

import ast
import copy
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import numpy as np

from warp_synth.eval.digest import (
    _CANON_TOKEN_RE,
    HASH_STEP,
    MINHASH_SEED,
    NUM_PERM,
    SHINGLE,
    hash64,
    minhash_of,
    mix64,
    token_hashes,
)

# the renamer of ``normalized_source``, on a tree: one parse serves a whole unit
from warp_synth.identity import _Renamer, _tree, normalized_and_skeleton, skeleton

__all__ = ["Unit", "kernel_units", "skeleton_key"]

_MAX_DEPS = 64  # statements pulled into one unit, at most

@dataclass(slots=True)
class Unit:
    """One kernel with what it uses, normalised."""

    name: str  # the kernel's name in the source ("" for a whole-module unit)
    norm: str  # normalized_source text (the raw text when the source does not parse)
    parsed: bool = True
    _skel: str | None = field(default=None, repr=False)
    _sig: np.ndarray | None = field(default=None, repr=False)
    _blind: np.ndarray | None = field(default=None, repr=False)

    @property
    def skel(self) -> str:
        """``warp_synth.identity.skeleton`` of the unit (``skeleton(normalized_source(x)) == skeleton(x)``)."""
        if self._skel is None:
            self._skel = skeleton(self.norm) if self.parsed else self.norm
        return self._skel

    def skel_key(self) -> int:
        """Hash of a coarser key than the skeleton (same skeleton => same key), read off ``norm`` by
        regular expressions: the full skeleton (a second tree pass) is made only when the key is known."""
        return hash64(skeleton_key(self.norm)) if self.parsed else hash64(self.norm)

    def signature(self) -> np.ndarray:
        """MinHash (uint32[NUM_PERM]) of the unit's normalised token 5-grams, as ``eval/digest.py``."""
        if self._sig is None:
            self._sig, self._blind = _signatures(self.norm)
        return self._sig

    def blind_signature(self) -> np.ndarray:
        """The same over name-blind tokens (every renamed identifier ``v0, v1, ...`` is ``v``)."""
        if self._blind is None:
            self._sig, self._blind = _signatures(self.norm)
        return self._blind


_V = hash64("v")


def _signatures(norm: str) -> tuple[np.ndarray, np.ndarray]:
    """(normalised, name-blind) MinHash signatures; both token rows are shingled in one pass."""
    words = _CANON_TOKEN_RE.findall(norm)
    if not words:
        empty = _minhash_of(np.zeros(1, dtype=np.uint64))
        return empty, empty
    tok = token_hashes(words)
    blind = np.where(np.fromiter((w[0] == "v" and w[1:].isdigit() for w in words), dtype=bool, count=len(words)),
                     np.uint64(_V), tok)
    grams = _ngram_rows(np.stack([tok, blind]), min(SHINGLE, len(words)))
    return _minhash_of(np.unique(grams[0])), _minhash_of(np.unique(grams[1]))


def _affine32(shingles: np.ndarray) -> np.ndarray:
    """``eval.digest.minhash_of`` without building a ``MinHash`` (datasketch's affine32 arithmetic on
    the arrays): 3x faster on a kernel's ~100 shingles.  ``_minhash_of`` checks it agrees first."""
    a, b = _PERMS
    hv = (shingles & np.uint64(0xFFFFFFFF)).astype(np.uint32).reshape(-1, 1)
    s1, m1, s2, m2, s3 = _FMIX
    with np.errstate(over="ignore"):
        hv = hv ^ (hv >> s1)
        hv = hv * m1
        hv = hv ^ (hv >> s2)
        hv = hv * m2
        hv = hv ^ (hv >> s3)
        return (hv * a + b).min(axis=0).astype(np.uint32, copy=False)


def _pick_minhash() -> Callable[[np.ndarray], np.ndarray]:
    global _PERMS, _FMIX
    try:
        from datasketch import MinHash
        from datasketch.minhash import _FMIX_CONSTANTS

        _PERMS = MinHash(num_perm=NUM_PERM, seed=MINHASH_SEED, scheme="affine32").permutations
        _FMIX = tuple(_FMIX_CONSTANTS[32])
        probe = np.random.default_rng(7).integers(0, 2**63, size=(4, 97), dtype=np.int64).astype(np.uint64)
        if all(np.array_equal(_affine32(p), minhash_of(p)) for p in probe):
            return _affine32
    except Exception:  # any change in datasketch internals: fall back to its public API
        pass
    return minhash_of


_PERMS: tuple[np.ndarray, np.ndarray] = (np.empty(0), np.empty(0))
_FMIX: tuple = ()
_minhash_of = _pick_minhash()


def _ngram_rows(tok: np.ndarray, n: int) -> np.ndarray:
    """``eval.digest.ngram_hashes`` of each row of ``tok`` (the same formula, on a 2-D array)."""
    m = tok.shape[1] - n + 1
    with np.errstate(over="ignore"):
        h = np.full((tok.shape[0], m), np.uint64(n), dtype=np.uint64)
        for k in range(n):
            h = mix64(h * HASH_STEP + tok[:, k : k + m])
    return h


_Q3, _D3 = "'" * 3, '"' * 3
_STR = (r"[rbuRBUfF]{0,2}(?:" + _Q3 + r"(?:[^\\]|\\.)*?" + _Q3 + "|" + _D3 + r"(?:[^\\]|\\.)*?" + _D3
        + r"|'(?:[^'\\\n]|\\.)*'" + r'|"(?:[^"\\\n]|\\.)*")')
_NUM = r"(?<![\w.])(?:\d[\d_]*\.?[\d_]*|\.\d[\d_]*)(?:[eE][+-]?\d+)?[jJ]?"
_LITERAL = re.compile(f"{_STR}|{_NUM}")
_SIGN = re.compile(r"[-+](?=N\b)")
_PARENS = re.compile(r"[()]")


def skeleton_key(norm: str) -> str:
    """``norm`` (``ast.unparse`` output) with literals -> N / S, a sign before a literal and every
    parenthesis dropped: kernels with one skeleton have one key (the unparser writes ``x ** (-1)``
    where the skeleton says ``x ** N``)."""
    text = _LITERAL.sub(lambda m: "S" if m.group(0)[-1] in "'\"" else "N", norm)
    return _PARENS.sub("", _SIGN.sub("", text))


# --- cutting kernels out of a module ---------------------------------------------------------------

_COMPOUND = (ast.If, ast.For, ast.While, ast.With, ast.Try)
_DEFS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)


def _is_kernel(node: ast.AST) -> bool:
    if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
        return False
    for d in node.decorator_list:
        t = d.func if isinstance(d, ast.Call) else d
        if isinstance(t, ast.Attribute) and t.attr == "kernel" and isinstance(t.value, ast.Name) \
                and t.value.id in ("wp", "warp"):
            return True
        if isinstance(t, ast.Name) and t.id == "kernel":
            return True
    return False


def _flat(body: list[ast.stmt]) -> Iterator[ast.stmt]:
    """Statements of one scope: ``body`` and the blocks of its if/for/while/with/try statements."""
    for s in body:
        yield s
        if isinstance(s, _COMPOUND):
            for blk in ("body", "orelse", "finalbody"):
                yield from _flat(getattr(s, blk, []))
            for h in getattr(s, "handlers", []):
                yield from _flat(h.body)


def _defined_names(s: ast.stmt) -> list[str]:
    if isinstance(s, _DEFS):
        return [s.name]
    targets = s.targets if isinstance(s, ast.Assign) else [s.target] if isinstance(s, ast.AnnAssign) else []
    return [n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)]


_IDENT = re.compile(r"(?<![.\w])[A-Za-z_]\w*")


def _names_in_order(s: ast.stmt, lines: list[str]) -> list[str]:
    """Identifiers in the text of ``s`` (decorators left out), in source order, attributes left out.
    Read off the text, not the tree: a third of the cost of a tree walk (a name in a comment or a
    string may pull in a helper it names; that costs only a slightly longer unit)."""
    return _IDENT.findall("\n".join(lines[s.lineno - 1 : s.end_lineno]))


def _scopes(body: list[ast.stmt], chain: tuple[dict[str, list[ast.stmt]], ...] = ()
            ) -> Iterator[tuple[ast.stmt, tuple[dict[str, list[ast.stmt]], ...]]]:
    """(kernel, its scope chain innermost last) for every kernel under ``body``."""
    defs: dict[str, list[ast.stmt]] = {}
    stmts = list(_flat(body))
    for s in stmts:
        if isinstance(s, (*_DEFS, ast.Assign, ast.AnnAssign)) and not _is_kernel(s):
            for name in _defined_names(s):
                defs.setdefault(name, []).append(s)
    chain = (*chain, defs)
    for s in stmts:
        if _is_kernel(s):
            yield s, chain
        elif isinstance(s, _DEFS):
            yield from _scopes(s.body, chain)


def _strip(stmts: list[ast.stmt]) -> list[ast.stmt]:
    for s in stmts:
        if isinstance(s, _DEFS):
            s.decorator_list = []
    return stmts


def _unit_of(stmts: list[ast.stmt], name: str, skeletons: bool) -> Unit:
    module = ast.Module(body=_strip(stmts), type_ignores=[])
    if skeletons:
        norm, skel = normalized_and_skeleton(module)
        return Unit(name, norm, _skel=skel)
    # ``normalized_source`` of the statements without a second parse (its renamer, on the tree); the
    # skeleton only when ``skel_key`` says it may match
    return Unit(name, ast.unparse(_Renamer().visit(_tree(module))))


def kernel_units(source: str, *, whole_module: bool = True, skeletons: bool = False) -> list[Unit]:
    """The units of ``source`` (see the module docstring).  ``whole_module=False``: kernels only, no
    fallback unit for a source without ``@wp.kernel`` (a benchmark file's host code);
    ``skeletons=True``: compute every skeleton now (a reference needs them all, a query rarely)."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return [Unit("", source, parsed=False)] if whole_module and source.strip() else []
    units: list[Unit] = []
    try:
        kernels = list(_scopes(tree.body))
        lines = source.splitlines()
        for kernel, chain in kernels:
            stmts: list[ast.stmt] = [kernel]
            seen = {id(kernel)}
            i = 0
            while i < len(stmts) and len(stmts) < _MAX_DEPS and any(chain):
                for name in _names_in_order(stmts[i], lines):
                    for scope in reversed(chain):
                        if name in scope:
                            for s in scope[name]:
                                if id(s) not in seen:
                                    seen.add(id(s))
                                    stmts.append(s)
                            break
                i += 1
            if len(kernels) > 1:  # normalisation rewrites the tree in place; helpers may be shared
                stmts = [copy.deepcopy(s) for s in stmts]
            units.append(_unit_of(stmts, kernel.name, skeletons))
        if not units and whole_module:
            body = [s for s in tree.body if not isinstance(s, (ast.Import, ast.ImportFrom))]
            if body:
                units.append(_unit_of(body, "", skeletons))
    except (RecursionError, MemoryError):
        return [Unit("", source, parsed=False)] if whole_module else []
    return units
