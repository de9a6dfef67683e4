"""Decontamination: is a kernel a copy of a reference (benchmark) kernel?

Needs the ``eval`` extra (datasketch): ``pip install 'warp-synth[eval]'`` (``all`` has it).

API
---

* ``Reference.from_path(path) -> Reference``: ``path`` is a dataset folder (``shard-*.jsonl``,
  read with ``warp_synth.shards``), a directory tree of ``.py`` files (or one ``.py`` file: every
  ``@wp.kernel`` function in it, with the helpers it uses, is a reference kernel; files are
  parsed with ``ast``, never imported or run), or a ``.jsonl`` file of JSON objects with
  ``python_source``, ``code`` or ``source`` (id from ``id``, ``task_id`` or ``name``).  A
  missing, empty or unreadable ``path`` raises ``DecontamError`` (a ``UserError``: one line).
  ``Reference.from_sources([(ref_id, source), ...])`` builds one from text.
* ``Reference.match(source: str) -> Match | None``: the best match of any kernel of ``source``
  (a record's ``python_source``) against any reference kernel, ``None`` when it matches none.
  ``Match(kind, ref_id, jaccard, kernel, jaccard_blind)``: ``kind`` is ``"exact"`` (same
  ``warp_synth.identity.normalized_source``: comments, layout, docstrings and every user
  identifier ignored), ``"skeleton"`` (same ``warp_synth.identity.skeleton``: literal values
  ignored too) or ``"minhash"`` (MinHash-estimated Jaccard >= 0.8 of token 5-gram sets, of either
  of two shinglings: the normalised text's, exactly as ``eval/digest.py`` shingles and hashes it,
  so ``jaccard`` agrees with ``near_dup_rate``; or the same text name-blind, every renamed
  identifier ``v0, v1, ...`` one token ``v``, ``jaccard_blind``: normalisation numbers names by
  first use, so a statement that adds a variable near the top renames everything after it and
  halves ``jaccard``, while ``jaccard_blind`` stays near 0.9).  Both estimates are given for the
  matched pair; ``kernel`` is the name of the source's kernel that matched.  Priority: exact,
  then skeleton, then the highest estimate.
* ``Reference.match_units(units)``: the same for ``kernel_units(source)`` already cut (one parse
  can then serve other measures too); ``len(ref)`` = reference kernels; ``ref.describe()`` =
  ``{path, form, kernels, sources, skipped}`` (sources read, and those that gave no kernel).
* ``warp_synth.eval.decontam_report.dataset_contamination(ref, directory) -> Contamination``
  (and ``contamination(ref, [(record_id, source), ...])``; ``.to_json()``): the
  ``contamination`` section of ``synth eval``.

Cost (one process; 2 shared cores, load ~2): building ~1 ms per reference kernel (10,000 in
~9-10 s), matching ~0.6 ms per record that is not a copy (~0.35 ms for an exact copy), about
half of it ``warp_synth.identity``'s normalisation of the record's kernel.

A filter (``synth run --exclude REF``, ``synth export --exclude REF``) is::

    ref = Reference.from_path(Path(args.exclude))     # once; raises a one-line UserError
    keep = [r for r in records if ref.match(r.python_source) is None]

What is compared
----------------

Kernel by kernel (``eval.decontam_units``): each ``@wp.kernel`` function (``@wp.kernel(...)`` and ``@warp.kernel`` too,
at any depth of the module) becomes a *unit*: the kernel followed by the module-level (or
enclosing-scope) functions, structs and constants it names, transitively, in order of first
reference, with decorators and imports left out.  So a copy of a reference kernel planted in a
module that also defines other helpers or kernels still matches, helpers in another order or
with other names still match, and two thin kernels that call different helpers do not.  A
source without any ``@wp.kernel`` is one unit (the module without imports); a source that does
not parse is compared by its raw text.

Index: dicts of 64-bit hashes of the normalised and skeleton texts, and MinHash LSH (the band
split datasketch's ``MinHashLSH`` chooses for 0.8 with 128 permutations, the one
``eval.metrics`` uses; one set of bands per signature) whose candidates are confirmed on the
signatures.  What it does not
catch: a copy inside a much larger kernel (Jaccard falls under 0.8; the 13-gram overlap of
``decontam_report`` shows it), a kernel rewritten in other words, helpers inlined.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from warp_synth.eval.decontam_units import Unit, kernel_units
from warp_synth.eval.digest import NUM_PERM, hash64
from warp_synth.eval.metrics import BANDS, NEAR_THRESHOLD, ROWS
from warp_synth.shards import DatasetError, find_shards, folder_shards, iter_records

__all__ = ["KINDS", "DecontamError", "Match", "Reference", "Unit", "kernel_units"]

KINDS = ("exact", "skeleton", "minhash")
SOURCE_KEYS = ("python_source", "code", "source")
ID_KEYS = ("id", "task_id", "name")
_MIN_EQUAL = int(np.ceil(NEAR_THRESHOLD * NUM_PERM - 1e-9))  # signature rows that must agree
_EXPECTED = "expected a dataset folder, a folder of .py files, a .py file or a .jsonl file"


class DecontamError(DatasetError):
    """A reference (``--exclude REF``, ``--reference REF``) that is missing, unreadable or holds no kernel
    (a ``DatasetError``, so a ``UserError``: one line, exit status 2)."""


@dataclass(frozen=True, slots=True)
class Match:
    kind: str  # "exact" | "skeleton" | "minhash"
    ref_id: str
    jaccard: float  # MinHash estimate over normalised token 5-grams (eval/digest.py's; 1.0 when exact)
    kernel: str = ""  # the matching kernel of the source
    jaccard_blind: float = 1.0  # the estimate over name-blind 5-grams (identifiers all ``v``)


# --- the index -------------------------------------------------------------------------------------


def _band_keys(sig: np.ndarray) -> list[bytes]:
    """The bytes of each LSH band of ``sig`` (``eval.metrics``' split; one dict per band, in memory)."""
    b = sig[: BANDS * ROWS].tobytes()
    w = ROWS * sig.itemsize
    return [b[k * w : (k + 1) * w] for k in range(BANDS)]


class Reference:
    """An index of reference kernels: exact and skeleton hashes, MinHash signatures and LSH bands."""

    def __init__(self, *, path: Path | None = None, form: str = "sources") -> None:
        self.path = path
        self.form = form  # "dataset" | "python" | "jsonl" | "sources"
        self.ids: list[str] = []
        self.units: list[Unit] = []
        self.sources = 0  # sources (records, files, lines) read
        self.skipped = 0  # sources that gave no kernel (unparsable files, bad lines, no @wp.kernel)
        self._exact: dict[int, int] = {}
        self._skel: dict[int, int] = {}
        self._skel_keys: set[int] = set()
        # LSH bands of both signatures: normalised 5-grams, then name-blind 5-grams
        self._bands: list[dict[bytes, list[int]]] = [{} for _ in range(2 * BANDS)]
        self._sigs: list[np.ndarray] = []
        self._blinds: list[np.ndarray] = []
        self._matrix: tuple[np.ndarray, np.ndarray] | None = None
        self.cache: dict[str, object] = {}  # derived data readers keep with the index (decontam_report's n-grams)

    # construction

    @classmethod
    def from_sources(cls, items: Iterable[tuple[str, str]], *, path: Path | None = None, form: str = "sources",
                     whole_module: bool = True) -> Reference:
        """A reference from ``(ref_id, source)`` pairs; a source with several kernels gives ``id::kernel`` ids.
        One process (no pool: ``synth run`` may hold threads and worker processes): ~1 ms per kernel."""
        ref = cls(path=path, form=form)
        for ref_id, source in items:
            ref.sources += 1
            units = kernel_units(source, whole_module=whole_module, skeletons=True)
            if not units:
                ref.skipped += 1
            for u in units:
                ref._add(f"{ref_id}::{u.name}" if len(units) > 1 or form == "python" else ref_id, u)
        return ref

    @classmethod
    def from_path(cls, path: Path | str) -> Reference:
        """Load REF (see the module docstring); ``DecontamError`` (one line) when it cannot be used."""
        path = Path(path)
        try:
            if path.is_dir():
                if folder_shards(path):
                    items: Iterable[tuple[str, str]] = ((r.id, r.python_source) for r in iter_records(find_shards([path])))
                    ref = cls.from_sources(items, path=path, form="dataset")
                else:
                    files = _py_files(path)
                    if not files:
                        raise DecontamError(f"{path}: no shard-*.jsonl or .py files ({_EXPECTED})")
                    ref = cls.from_sources(_py_items(path, files), path=path, form="python", whole_module=False)
            elif path.is_file():
                if path.suffix == ".jsonl":
                    ref = cls.from_sources(_jsonl_items(path), path=path, form="jsonl")
                elif path.suffix == ".py":
                    ref = cls.from_sources(_py_items(path.parent, [path]), path=path, form="python",
                                           whole_module=False)
                else:
                    raise DecontamError(f"{path}: not a .jsonl or .py file ({_EXPECTED})")
            else:
                raise DecontamError(f"{path}: no such dataset folder, folder of .py files, .py file or .jsonl file")
        except OSError as e:
            raise DecontamError(f"{path}: cannot read reference ({e.strerror or e})") from None
        if not ref.units:
            what = {"python": "no @wp.kernel function", "jsonl": "no line is a JSON object with "
                    + ", ".join(SOURCE_KEYS) + " holding Python", "dataset": "no readable record"}[ref.form]
            raise DecontamError(f"{path}: empty reference ({what} in {ref.sources} source(s))")
        return ref

    def _add(self, ref_id: str, u: Unit) -> None:
        i = len(self.ids)
        self.ids.append(ref_id)
        self.units.append(u)
        self._exact.setdefault(hash64(u.norm), i)
        self._skel.setdefault(hash64(u.skel), i)
        self._skel_keys.add(u.skel_key())
        sig, blind = u.signature(), u.blind_signature()
        self._sigs.append(sig)
        self._blinds.append(blind)
        self._matrix = None
        self.cache.clear()
        for band, key in zip(self._bands, _band_keys(sig) + _band_keys(blind), strict=True):
            band.setdefault(key, []).append(i)

    def __len__(self) -> int:
        return len(self.ids)

    def describe(self) -> dict:
        return {"path": str(self.path) if self.path is not None else None, "form": self.form,
                "kernels": len(self.ids), "sources": self.sources, "skipped": self.skipped}

    # matching

    def _jaccards(self, idx: np.ndarray, u: Unit) -> tuple[np.ndarray, np.ndarray]:
        """Signature rows equal to ``u``'s, for reference units ``idx``: (normalised, name-blind)."""
        if self._matrix is None:
            self._matrix = (np.stack(self._sigs), np.stack(self._blinds))
        sigs, blinds = self._matrix
        return (np.count_nonzero(sigs[idx] == u.signature(), axis=1),
                np.count_nonzero(blinds[idx] == u.blind_signature(), axis=1))

    def _match(self, kind: str, i: int, u: Unit) -> Match:
        if kind == "exact":
            return Match(kind, self.ids[i], 1.0, u.name, 1.0)
        a, b = self._jaccards(np.array([i]), u)
        return Match(kind, self.ids[i], round(int(a[0]) / NUM_PERM, 4), u.name, round(int(b[0]) / NUM_PERM, 4))

    def match_units(self, units: list[Unit]) -> Match | None:
        """``match`` for units already cut (``kernel_units``): one parse serves matching and n-grams."""
        for u in units:
            i = self._exact.get(hash64(u.norm))
            if i is not None:
                return self._match("exact", i, u)
        for u in units:
            if u.skel_key() not in self._skel_keys:
                continue
            i = self._skel.get(hash64(u.skel))
            if i is not None:
                return self._match("skeleton", i, u)
        best: tuple[int, int, Unit] | None = None  # (equal rows of the better signature, ref index, unit)
        for u in units:
            cands: set[int] = set()
            for band, key in zip(self._bands, _band_keys(u.signature()) + _band_keys(u.blind_signature()),
                                 strict=True):
                cands.update(band.get(key, ()))
            if not cands:
                continue
            idx = np.fromiter(sorted(cands), dtype=np.int64, count=len(cands))
            equal = np.maximum(*self._jaccards(idx, u))
            j = int(np.argmax(equal))
            if equal[j] >= _MIN_EQUAL and (best is None or equal[j] > best[0]):
                best = (int(equal[j]), int(idx[j]), u)
        return None if best is None else self._match("minhash", best[1], best[2])

    def match(self, source: str) -> Match | None:
        """The best match of ``source``'s kernels against the reference, or None."""
        return self.match_units(kernel_units(source))


# --- reading REF -----------------------------------------------------------------------------------


def _py_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*.py") if p.is_file() and not any(
        part.startswith(".") or part == "__pycache__" for part in p.relative_to(root).parts))


def _py_items(root: Path, files: list[Path]) -> Iterator[tuple[str, str]]:
    for p in files:
        try:
            text = p.read_text(encoding="utf-8")
        except (UnicodeDecodeError, OSError):
            text = ""  # counted as skipped: no kernel
        yield p.relative_to(root).as_posix(), text


def _jsonl_items(path: Path) -> Iterator[tuple[str, str]]:
    with path.open("rb") as f:
        for lineno, raw in enumerate(f, 1):
            if not raw.strip():
                continue
            try:
                obj = json.loads(raw)
            except ValueError:
                obj = None
            src = next((obj[k] for k in SOURCE_KEYS if isinstance(obj, dict) and isinstance(obj.get(k), str)), "")
            rid = next((str(obj[k]) for k in ID_KEYS if isinstance(obj, dict) and isinstance(obj.get(k), (str, int))),
                       f"{path.name}:{lineno}")
            yield rid, src
