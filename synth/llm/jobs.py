"""LLM mode of ``synth run``: diversify template seeds through a chat model, repair failures.

One *job* = one diversify request -> parse the reply's code block -> screen + isolated
extraction (micro-batched with other jobs' candidates) -> on failure, up to ``repair_rounds``
repair requests carrying the exact extraction error.  ``--concurrency`` jobs run at once, so
HTTP latency overlaps with compilation.  Replies are untrusted: a reply without code or with an
unsafe kernel is counted and never executed.  The main thread alone writes records.
"""

from __future__ import annotations

import random
import threading
from collections import Counter
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from warp_synth.extract.engine import MicroBatcher
from warp_synth.identity import record_id
from warp_synth.records import Accepted, Rejected, Unit
from warp_synth.synth.llm.chat import Coverage, diversify_messages, extract_code, repair_messages
from warp_synth.synth.llm.client import ChatClient, LLMBudgetExhausted, LLMFatalError, LLMRequestError
from warp_synth.synth.templates import TemplateSource

EXEMPLAR_POOL = 4  # template seeds drawn per category
RECENT_ACCEPTED = 32  # accepted kernels kept per category as further exemplars


@dataclass(slots=True)
class JobResult:
    category: str
    kind: str  # accepted | rejected | no_code | unsafe | duplicate | llm_error | budget
    source: str = ""
    rid: str = ""
    outcome: Accepted | None = None
    reason: str = ""
    repair_rounds: int = 0
    parent_id: str | None = None
    model: str = ""
    prompt_tokens: int = 0
    completion_tokens: int = 0
    rounds_tried: int = 0  # repair rounds attempted (0 = first try only)
    exemplar_ids: list[str] = field(default_factory=list)
    origin: str = "llm"  # "mutation" for mutants of accepted LLM kernels
    operators: list[str] = field(default_factory=list)


@dataclass(slots=True)
class LLMCounters:
    candidates: int = 0  # replies that carried code
    replies_without_code: int = 0
    unsafe_replies: int = 0
    duplicates: int = 0
    first_try_accepted: int = 0
    repair_tried: Counter[str] = field(default_factory=Counter)  # round -> candidates repaired
    repair_success: Counter[str] = field(default_factory=Counter)  # round -> accepted after it
    request_failures: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "candidates": self.candidates,
            "replies_without_code": self.replies_without_code,
            "unsafe_replies": self.unsafe_replies,
            "duplicates_rejected": self.duplicates,
            "first_try_accepted": self.first_try_accepted,
            "first_try_acceptance": round(self.first_try_accepted / self.candidates, 4) if self.candidates else 0.0,
            "repair_success_by_round": {r: {"tried": self.repair_tried[r], "accepted": self.repair_success[r]}
                                        for r in sorted(self.repair_tried)},
            "request_failures": self.request_failures,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any] | None) -> LLMCounters:
        c = cls()
        if not d:
            return c
        c.candidates = int(d.get("candidates", 0))
        c.replies_without_code = int(d.get("replies_without_code", 0))
        c.unsafe_replies = int(d.get("unsafe_replies", 0))
        c.duplicates = int(d.get("duplicates_rejected", 0))
        c.first_try_accepted = int(d.get("first_try_accepted", 0))
        for r, v in d.get("repair_success_by_round", {}).items():
            c.repair_tried[r] = int(v.get("tried", 0))
            c.repair_success[r] = int(v.get("accepted", 0))
        c.request_failures = int(d.get("request_failures", 0))
        return c


class LLMJobs:
    """Runs diversify/repair jobs on a thread pool; results are consumed by the run loop."""

    def __init__(self, client: ChatClient, batcher: MicroBatcher, coverage: Coverage, *, seed: int,
                 concurrency: int, repair_rounds: int, is_known: Any) -> None:
        self.client = client
        self.batcher = batcher
        self.coverage = coverage
        self.seed = seed
        self.repair_rounds = repair_rounds
        self.is_known = is_known  # rid -> bool: already written or in flight
        self.stop = threading.Event()
        # K requests on the wire at once; jobs waiting for their kernel to compile do not hold a
        # slot, so HTTP latency overlaps with extraction instead of alternating with it
        self._http_slots = threading.Semaphore(concurrency)
        self.max_jobs = 4 * concurrency
        self._pool = ThreadPoolExecutor(max_workers=self.max_jobs, thread_name_prefix="wsynth-llm")
        self._seeds: dict[str, list[tuple[str, str]]] = {}
        self._recent: dict[str, list[str]] = {}
        self._lock = threading.Lock()
        self._job_no = 0

    # ----- exemplars
    def seeds(self, category: str) -> list[tuple[str, str]]:
        with self._lock:
            if category not in self._seeds:
                ts = TemplateSource(self.seed)
                self._seeds[category] = [(record_id(c.source), c.source)
                                         for c in ts.exemplars(category, EXEMPLAR_POOL)]
            return self._seeds[category]

    def remember(self, category: str, source: str) -> None:
        with self._lock:
            recent = self._recent.setdefault(category, [])
            recent.append(source)
            del recent[:-RECENT_ACCEPTED]

    def _exemplars(self, category: str, rng: random.Random) -> tuple[list[str], list[str]]:
        seeds = self.seeds(category)
        picked = rng.sample(seeds, min(2, len(seeds)))
        sources = [s for _, s in picked]
        with self._lock:
            recent = list(self._recent.get(category, []))
        if recent:
            sources.append(rng.choice(recent))
        return sources, [i for i, _ in picked]

    # ----- jobs
    def submit(self, category: str) -> Future[JobResult]:
        with self._lock:
            self._job_no += 1
            rng = random.Random(f"{self.seed}/llm/{self._job_no}")
        return self._pool.submit(self._job, category, rng)

    def submit_mutation(self, category: str, source: str, parent_id: str) -> Future[JobResult]:
        """Diversify an accepted LLM kernel further with the libcst mutator (no LLM call)."""
        with self._lock:
            self._job_no += 1
            rng = random.Random(f"{self.seed}/mut/{self._job_no}")
        return self._pool.submit(self._mutation_job, category, source, parent_id, rng)

    def _mutation_job(self, category: str, source: str, parent_id: str, rng: random.Random) -> JobResult:
        from warp_synth.synth.mutators.mutate import mutate

        res = JobResult(category, "rejected", origin="mutation", parent_id=parent_id)
        code = source
        for _ in range(rng.randint(1, 2)):
            m = mutate(code, rng)
            if m is None:
                break
            code = m.source
            res.operators.append(m.operator)
        if not res.operators:
            res.kind = "budget"  # nothing to try: not an attempt
            return res
        res.source = code
        try:
            res.rid = record_id(code)
        except (SyntaxError, ValueError, RecursionError):
            res.reason = "syntax"
            return res
        if self.is_known(res.rid):
            res.kind = "duplicate"
            return res
        out = self.batcher.submit(Unit(res.rid, code)).result()
        if isinstance(out, Accepted):
            res.kind, res.outcome = "accepted", out
        else:
            res.reason = out.reason
        return res

    def _ask(self, messages: list[dict[str, str]], res: JobResult) -> str | None:
        with self._http_slots:
            if self.stop.is_set():
                raise LLMBudgetExhausted("run finished")
            try:
                reply = self.client.complete(messages)
            except LLMFatalError:
                self.stop.set()  # a bad key or unknown model: no other job sends another request
                raise
        res.model = reply.model
        res.prompt_tokens += reply.prompt_tokens
        res.completion_tokens += reply.completion_tokens
        return extract_code(reply.text)

    def _job(self, category: str, rng: random.Random) -> JobResult:
        res = JobResult(category, "rejected")
        if self.stop.is_set():
            res.kind = "budget"
            return res
        exemplars, ids = self._exemplars(category, rng)
        res.exemplar_ids, res.parent_id = ids, (ids[0] if ids else None)
        try:
            code = self._ask(diversify_messages(category, exemplars, self.coverage.suggest(rng)), res)
            for round_no in range(self.repair_rounds + 1):
                if code is None:
                    res.kind = "no_code"
                    return res
                res.source, res.repair_rounds = code, round_no
                try:
                    rid = record_id(code)
                except (SyntaxError, ValueError, RecursionError):
                    rid = f"unparsable-{rng.getrandbits(64):016x}"
                res.rid = rid
                if self.is_known(rid):
                    res.kind = "duplicate"
                    return res
                out = self.batcher.submit(Unit(rid, code)).result()
                if isinstance(out, Accepted):
                    res.kind, res.outcome = "accepted", out
                    return res
                assert isinstance(out, Rejected)
                res.reason = out.reason
                if out.reason == "unsafe":
                    res.kind = "unsafe"  # hostile replies are dropped, never repaired or run
                    return res
                if round_no == self.repair_rounds or self.stop.is_set():
                    return res
                res.rounds_tried = round_no + 1
                code = self._ask(repair_messages(code, out.reason, out.message, out.line, category=category), res)
        except LLMBudgetExhausted:
            res.kind = "budget" if not res.source else res.kind
            return res
        except LLMRequestError as e:
            res.kind, res.reason = ("llm_error", e.reason) if not res.source else (res.kind, res.reason)
            return res
        return res

    def close(self) -> None:
        self.stop.set()
        self._pool.shutdown(wait=True, cancel_futures=True)


__all__ = ["JobResult", "LLMCounters", "LLMFatalError", "LLMJobs"]
