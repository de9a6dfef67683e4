"""The ``contamination`` section of ``synth eval DIR --reference REF``: how much of a dataset is a
copy of the reference, and how many long n-grams it shares with it.

* ``contamination(ref, items) -> Contamination`` for ``(record_id, python_source)`` pairs;
  ``dataset_contamination(ref, directory)`` reads a dataset folder (``warp_synth.shards``);
  ``Contamination.to_json()`` is what ``report.json`` holds.
* ``rate`` = records that ``Reference.match`` matches / records, ``by_kind`` counts them by their
  best kind (exact > skeleton > minhash), ``examples`` are the first ``EXAMPLES`` matches in file
  order.
* ``ngram_overlap``: tokens are the normalised text's (``warp_synth.identity.normalized_source``
  of each kernel unit, as ``eval.decontam`` cuts them: imports and decorators are already left
  out, and so are ``... = wp.tid()`` lines), split as ``eval/digest.py`` splits them.  A 13-gram
  is *boilerplate* when it occurs in more than 1% of the reference's kernels and in at least 5 of
  them, or in more than 1% of the dataset's records and in at least 5 of them (parameter lists
  such as ``v1: wp.array(dtype=wp.float32), v2: wp.array(...)``).  ``records_overlapping`` =
  records sharing at least one non-boilerplate 13-gram with the reference (``record_rate`` = that
  / records); ``ngram_share`` = of the dataset's 13-grams (distinct within a record, summed over
  records, boilerplate included), the share that are non-boilerplate reference 13-grams.  The
  dataset-side filter is what keeps common generator idioms out; a dataset that copied one
  reference kernel into more than 1% of its records (and at least 5) hides that kernel's 13-grams
  from this figure, but not from ``rate``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from warp_synth.eval.decontam import KINDS, Match, Reference, Unit, kernel_units
from warp_synth.eval.digest import _CANON_TOKEN_RE, ngram_hashes, token_hashes
from warp_synth.shards import find_shards, iter_records

__all__ = ["BOILERPLATE_MIN_DOCS", "BOILERPLATE_SHARE", "EXAMPLES", "NGRAM", "Contamination", "NgramOverlap",
           "contamination", "dataset_contamination", "unit_ngrams"]

NGRAM = 13
BOILERPLATE_SHARE = 0.01
BOILERPLATE_MIN_DOCS = 5
EXAMPLES = 5
_TID_LINE = re.compile(r"^[ \t]*[\w, ()]+=[ \t]*wp\.tid\(\)[ \t]*$", re.M)


def unit_ngrams(units: Iterable[Unit], n: int = NGRAM) -> np.ndarray:
    """Distinct 64-bit hashes of the normalised-token n-grams of ``units`` (``wp.tid()`` lines left out)."""
    grams = [ngram_hashes(token_hashes(_CANON_TOKEN_RE.findall(_TID_LINE.sub("", u.norm))), n) for u in units]
    return np.unique(np.concatenate(grams)) if grams else np.empty(0, dtype=np.uint64)


def _boilerplate(counts: np.ndarray, docs: int) -> np.ndarray:
    return (counts > BOILERPLATE_SHARE * docs) & (counts >= BOILERPLATE_MIN_DOCS)


@dataclass(slots=True)
class _RefGrams:
    grams: np.ndarray  # sorted distinct non-boilerplate reference n-grams
    total: int  # distinct reference n-grams
    boilerplate: int


def _reference_grams(ref: Reference) -> _RefGrams:
    cached = ref.cache.get("ngrams")
    if isinstance(cached, _RefGrams):
        return cached
    per = [unit_ngrams([u]) for u in ref.units]
    uniq, counts = np.unique(np.concatenate(per), return_counts=True) if per else (np.empty(0, np.uint64), [])
    bp = _boilerplate(np.asarray(counts), len(ref.units))
    out = _RefGrams(grams=uniq[~bp], total=len(uniq), boilerplate=int(bp.sum()))
    ref.cache["ngrams"] = out
    return out


@dataclass(slots=True)
class NgramOverlap:
    n: int
    records_overlapping: int
    record_rate: float
    ngram_share: float
    dataset_ngrams: int  # distinct per record, summed over records
    shared_ngrams: int  # of those, non-boilerplate reference n-grams
    reference_ngrams: int  # distinct n-grams of the reference's kernels
    boilerplate_reference: int  # reference n-grams left out as boilerplate of the reference
    boilerplate_dataset: int  # reference n-grams left out as boilerplate of the dataset

    def to_json(self) -> dict:
        return {"n": self.n, "records_overlapping": self.records_overlapping, "record_rate": self.record_rate,
                "ngram_share": self.ngram_share, "dataset_ngrams": self.dataset_ngrams,
                "shared_ngrams": self.shared_ngrams, "reference_ngrams": self.reference_ngrams,
                "boilerplate": {"share": BOILERPLATE_SHARE, "min_kernels": BOILERPLATE_MIN_DOCS,
                                "reference": self.boilerplate_reference, "dataset": self.boilerplate_dataset}}


@dataclass(slots=True)
class Example:
    record_id: str
    kernel: str
    ref_id: str
    kind: str
    jaccard: float
    jaccard_blind: float


@dataclass(slots=True)
class Contamination:
    reference: dict  # Reference.describe()
    records: int
    matched: int
    by_kind: dict[str, int]
    examples: list[Example]
    ngram_overlap: NgramOverlap
    matched_ids: list[str] = field(default_factory=list)  # every matched record id, in order (not in the JSON)

    @property
    def rate(self) -> float:
        return _rate(self.matched, self.records)

    def to_json(self) -> dict:
        return {"reference": dict(self.reference), "records": self.records, "matched": self.matched,
                "rate": self.rate, "by_kind": dict(self.by_kind),
                "examples": [{"record_id": e.record_id, "kernel": e.kernel, "ref_id": e.ref_id, "kind": e.kind,
                              "jaccard": e.jaccard, "jaccard_blind": e.jaccard_blind} for e in self.examples],
                "ngram_overlap": self.ngram_overlap.to_json()}


def _rate(num: int, den: int) -> float:
    return round(num / den, 6) if den else 0.0


def contamination(ref: Reference, items: Iterable[tuple[str, str]], *, examples: int = EXAMPLES) -> Contamination:
    """Match every ``(record_id, python_source)`` against ``ref`` and measure the n-gram overlap."""
    rg = _reference_grams(ref)
    by_kind = dict.fromkeys(KINDS, 0)
    found: list[Example] = []
    matched_ids: list[str] = []
    hits: list[np.ndarray] = []  # per record with any reference n-gram: those n-grams
    records = total = 0
    for rid, source in items:
        records += 1
        units = kernel_units(source)
        m: Match | None = ref.match_units(units)
        if m is not None:
            by_kind[m.kind] += 1
            matched_ids.append(rid)
            if len(found) < examples:
                found.append(Example(rid, m.kernel, m.ref_id, m.kind, m.jaccard, m.jaccard_blind))
        g = unit_ngrams(units)
        total += len(g)
        if len(rg.grams) and len(g):
            pos = np.minimum(np.searchsorted(rg.grams, g), len(rg.grams) - 1)
            h = g[rg.grams[pos] == g]
            if len(h):
                hits.append(h)
    if hits:
        uniq, counts = np.unique(np.concatenate(hits), return_counts=True)
        data_bp = uniq[_boilerplate(counts, records)]
    else:
        data_bp = np.empty(0, dtype=np.uint64)
    overlapping = shared = 0
    for h in hits:
        k = int(np.count_nonzero(~np.isin(h, data_bp)))
        overlapping += k > 0
        shared += k
    ngram = NgramOverlap(n=NGRAM, records_overlapping=overlapping, record_rate=_rate(overlapping, records),
                         ngram_share=_rate(shared, total), dataset_ngrams=total, shared_ngrams=shared,
                         reference_ngrams=rg.total, boilerplate_reference=rg.boilerplate,
                         boilerplate_dataset=len(data_bp))
    return Contamination(reference=ref.describe(), records=records, matched=len(matched_ids), by_kind=by_kind,
                         examples=found, ngram_overlap=ngram, matched_ids=matched_ids)


def _dataset_items(directory: Path) -> Iterator[tuple[str, str]]:
    for rec in iter_records(find_shards([directory])):
        yield rec.id, rec.python_source


def dataset_contamination(ref: Reference, directory: Path, *, examples: int = EXAMPLES) -> Contamination:
    """``contamination`` of the unique, well-formed records of a dataset folder."""
    return contamination(ref, _dataset_items(Path(directory)), examples=examples)
