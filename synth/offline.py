"""The offline source: template kernels, some diversified by the libcst mutator.

Candidate ``i`` of category ``c`` is a pure function of ``(seed, c, i)`` (``OfflineCandidates``):
its own RNG renders a template and applies 0..``max_mutations`` mutation operators.  Because no
candidate depends on what happened to another, batches can be generated and compiled in parallel
and a resumed run regenerates exactly the candidates it had not yet committed.  ``OfflineSource``
serves them to the run loop a batch at a time (one translation unit per batch), with a cursor
per category that ``state.json`` keeps.
"""

from __future__ import annotations

import hashlib
import random
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any

from warp_synth.extract import Extractor
from warp_synth.identity import record_id
from warp_synth.reasons import Reason
from warp_synth.records import Attempt, Candidate, Outcome, Record, Rejected, Unit
from warp_synth.synth.dedup import Dedup
from warp_synth.synth.mutators.mutate import OPERATORS, mutate
from warp_synth.synth.source import Work
from warp_synth.synth.templates import TemplateSource
from warp_synth.synth.templates.facts import redescribe


def _derived_seed(*parts: object) -> int:
    digest = hashlib.sha256("/".join(map(str, parts)).encode()).digest()
    return int.from_bytes(digest[:8], "little")


@dataclass(slots=True)
class OfflineCandidates:
    seed: int
    mutation_rate: float = 0.5  # share of candidates that go through the mutator
    max_mutations: int = 3

    def candidate(self, category: str, index: int) -> Candidate:
        rng = random.Random(_derived_seed(self.seed, category, index))
        base = TemplateSource(rng.getrandbits(64)).sample(category)
        if rng.random() >= self.mutation_rate:
            return base
        source, applied = base.source, []
        for _ in range(rng.randint(1, self.max_mutations)):
            m = mutate(source, rng)
            if m is None:
                break
            source = m.source
            applied.append(m.operator)
        if not applied:
            return base
        provenance = {**base.provenance, "operators": applied}
        description, description_by = describe_mutant(base, source, applied)
        return Candidate(source=source, kernel_type=category, origin="mutation", provenance=provenance,
                         parent_id=record_id(base.source), description=description, description_by=description_by)


def describe_mutant(parent: Candidate, source: str, operators: list[str]) -> tuple[str | None, dict[str, Any]]:
    """The parent's description for its mutant ``source``: the facts sentence re-read from the mutant, and a
    closing sentence naming what the meaning-changing operators did (then marked approximate)."""
    changes = list(dict.fromkeys(c for op in operators if (c := OPERATORS[op].changes) is not None))
    by: dict[str, Any] = {"by": "mutation", "approximate": bool(changes), "operators": list(operators)}
    if parent.description is None:
        return None, by
    text = redescribe(parent.description, parent.source, source)
    if changes:
        made = "a template kernel" if parent.origin == "template" else "a model-written kernel"
        text += (f" Mutated from {made}: {'; '.join(changes)}; the arithmetic may differ from the "
                 f"sentences above.")
    return text, by


def chain(inner: Future[Any], then: Callable[[Any], Any]) -> Future[Any]:
    """A future of ``then(inner.result())``; cancelling it cancels ``inner``."""
    outer: Future[Any] = Future()

    def done(f: Future[Any]) -> None:
        if outer.cancelled():
            return
        try:
            outer.set_result(then(f.result()) if not f.cancelled() else None)
        except BaseException as e:  # noqa: BLE001 - handed to whoever waits on outer
            if not outer.done():
                outer.set_exception(e)

    inner.add_done_callback(done)
    outer.add_done_callback(lambda o: inner.cancel() if o.cancelled() else None)
    return outer


class OfflineSource:
    """Batches of offline candidates for the run loop (see ``warp_synth.synth.source.Source``)."""

    ordered = True  # the same seed gives the same records whatever the worker count
    stop_reason = ""

    def __init__(self, candidates: OfflineCandidates, extractor: Extractor, dedup: Dedup, *,
                 batch_size: int, workers: int, next_index: dict[str, int]) -> None:
        self.candidates = candidates
        self.extractor = extractor
        self.dedup = dedup
        self.batch_size = batch_size
        self.depth = max(2, 2 * workers)  # batches in flight: enough to keep every worker busy
        self.next_index = next_index

    def has_room(self, inflight: int) -> bool:
        return inflight < self.depth

    def expected(self, category: str, units: int, observed_yield: float) -> float:
        return observed_yield * units

    def next_work(self, category: str, need: float, observed_yield: float) -> Work:
        t0 = time.thread_time()
        start = i = self.next_index[category]
        # no more candidates than the category still needs (compiling surplus kernels is waste)
        want = max(1, min(self.batch_size, int(need / observed_yield) + 1))
        fresh: list[tuple[Candidate, str]] = []
        duplicates: list[Attempt] = []
        while len(fresh) < want and i < start + 4 * want:
            cand = self.candidates.candidate(category, i)
            i += 1
            try:
                rid = record_id(cand.source)
            except SyntaxError:
                rid = f"unparsable-{category}-{i}"
            if not self.dedup.claim(rid):
                duplicates.append(Attempt(cand, rid, Rejected(rid, Reason.DUPLICATE, "already written or in flight")))
                continue
            fresh.append((cand, rid))
        self.next_index[category] = i
        units = [Unit(rid, cand.source) for cand, rid in fresh]

        def attempts(outcomes: list[Outcome]) -> list[Attempt]:
            return [Attempt(c, rid, out) for (c, rid), out in zip(fresh, outcomes, strict=True)] + duplicates

        future = chain(self.extractor.submit_batch(units), attempts)
        return Work(category, future, units=len(fresh), generate_s=time.thread_time() - t0, start=start)

    def committed(self, work: Work, verdicts: list[tuple[Attempt, str]], records: list[Record],
                  remaining: Callable[[str], int]) -> list[Work]:
        return []

    def state(self, inflight: list[Work]) -> dict[str, Any]:
        out = dict(self.next_index)  # the cursor never passes a batch that is still in flight
        for w in inflight:
            out[w.category] = min(out[w.category], w.start)
        return {"next_index": out}

    def stats(self) -> dict[str, Any] | None:
        return None

    def postfix(self) -> dict[str, Any]:
        return {}

    def summary(self, pairs_per_s: float) -> str:
        return f"{pairs_per_s} pairs/s overall"

    def close(self) -> None:
        pass
