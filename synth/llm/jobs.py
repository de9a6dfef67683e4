"""LLM jobs: diversify template exemplars through a chat model, repair failures.

One *job* = one diversify request -> parse the reply's code block -> screen + isolated
extraction (micro-batched with other jobs' candidates) -> on failure, up to ``repair_rounds``
repair requests carrying the exact extraction error.  ``--concurrency`` jobs run at once, so
HTTP latency overlaps with compilation.  Replies are untrusted: a reply without code or with an
unsafe kernel is counted and never executed.  A job's result is the same ``Attempt`` list an
offline batch gives (its final candidate, or none when no request got through); what only the
LLM source counts (repair requests made, a failed request) goes in the ``Work``'s notes.  The
run loop's main thread alone commits and writes records.
"""

from __future__ import annotations

import random
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from warp_synth.errors import UserError
from warp_synth.extract import MicroBatcher
from warp_synth.identity import record_id
from warp_synth.reasons import Reason
from warp_synth.records import Accepted, Attempt, Candidate, Rejected, Unit
from warp_synth.synth.dedup import Dedup
from warp_synth.synth.llm.client import ChatClient
from warp_synth.synth.llm.config import LLMBudgetExhausted, LLMFatalError, LLMRequestError
from warp_synth.synth.llm.coverage import Coverage
from warp_synth.synth.llm.messages import diversify_messages, repair_messages
from warp_synth.synth.llm.replies import extract_code, extract_description
from warp_synth.synth.mutators.mutate import mutate
from warp_synth.synth.offline import describe_mutant
from warp_synth.synth.source import Work
from warp_synth.synth.templates import TemplateSource

MAX_REPLY_CHARS = 256 * 1024  # a longer reply is not parsed at all (a hostile reply must not cost CPU)
EXEMPLAR_POOL = 4  # template exemplars drawn per category
RECENT_ACCEPTED = 32  # accepted kernels kept per category as further exemplars


class LLMJobs:
    """Runs diversify/repair jobs on a thread pool; results are consumed by the run loop."""

    def __init__(self, client: ChatClient, batcher: MicroBatcher, coverage: Coverage, dedup: Dedup, *, seed: int,
                 concurrency: int, repair_rounds: int) -> None:
        self.client = client
        self.batcher = batcher
        self.coverage = coverage
        self.seed = seed
        self.repair_rounds = repair_rounds
        self.dedup = dedup
        self.stop = threading.Event()
        # K requests on the wire at once; jobs waiting for their kernel to compile do not hold a
        # slot, so HTTP latency overlaps with extraction instead of alternating with it
        self._http_slots = threading.Semaphore(concurrency)
        self.max_jobs = 4 * concurrency
        self._pool = ThreadPoolExecutor(max_workers=self.max_jobs, thread_name_prefix="wsynth-llm")
        self._pool_by_category: dict[str, list[tuple[str, str]]] = {}
        self._recent: dict[str, list[str]] = {}
        self._lock = threading.Lock()
        self._job_no = 0

    # ----- exemplars
    def exemplar_pool(self, category: str) -> list[tuple[str, str]]:
        """``(record id, source)`` of the template exemplars drawn for ``category``."""
        with self._lock:
            if category not in self._pool_by_category:
                ts = TemplateSource(self.seed)
                self._pool_by_category[category] = [(record_id(c.source), c.source)
                                         for c in ts.exemplars(category, EXEMPLAR_POOL)]
            return self._pool_by_category[category]

    def remember(self, category: str, source: str) -> None:
        with self._lock:
            recent = self._recent.setdefault(category, [])
            recent.append(source)
            del recent[:-RECENT_ACCEPTED]

    def _exemplars(self, category: str, rng: random.Random) -> tuple[list[str], list[str]]:
        pool = self.exemplar_pool(category)
        picked = rng.sample(pool, min(2, len(pool)))
        sources = [s for _, s in picked]
        with self._lock:
            recent = list(self._recent.get(category, []))
        if recent:
            sources.append(rng.choice(recent))
        return sources, [i for i, _ in picked]

    # ----- jobs
    def submit(self, category: str) -> Work:
        with self._lock:
            self._job_no += 1
            rng = random.Random(f"{self.seed}/llm/{self._job_no}")
        notes: dict[str, Any] = {}  # the job fills them in: the loop reads them on commit
        return Work(category, self._pool.submit(self._job, category, rng, notes), units=1, notes=notes)

    def submit_mutation(self, category: str, source: str, parent_id: str, description: str | None = None) -> Work:
        """Diversify an accepted LLM kernel further with the libcst mutator (no LLM call)."""
        with self._lock:
            self._job_no += 1
            rng = random.Random(f"{self.seed}/mut/{self._job_no}")
        parent = Candidate(source, category, "llm", description=description)
        return Work(category, self._pool.submit(self._mutation_job, parent, parent_id, rng), units=1)

    def _extract(self, cand: Candidate, rid: str) -> Attempt:
        if not self.dedup.claim(rid):
            return Attempt(cand, rid, Rejected(rid, Reason.DUPLICATE, "already written or in flight"))
        return Attempt(cand, rid, self.batcher.submit(Unit(rid, cand.source)).result())

    def _mutation_job(self, parent: Candidate, parent_id: str, rng: random.Random) -> list[Attempt]:
        category, source = parent.kernel_type, parent.source
        code, operators = source, []
        for _ in range(rng.randint(1, 2)):
            m = mutate(code, rng)
            if m is None:
                break
            code = m.source
            operators.append(m.operator)
        if not operators:
            return []  # nothing to try: not an attempt
        description, described_by = describe_mutant(parent, code, operators)
        cand = Candidate(code, category, "mutation", parent_id=parent_id, provenance={"operators": operators},
                         description=description, description_by=described_by if description else None)
        try:
            rid = record_id(code)
        except (SyntaxError, ValueError, RecursionError):
            return [Attempt(cand, f"unparsable-{rng.getrandbits(64):016x}",
                            Rejected("", Reason.SYNTAX, "the mutant does not parse"))]
        return [self._extract(cand, rid)]

    def _ask(self, messages: list[dict[str, str]], usage: dict[str, Any]) -> tuple[str | None, str | None]:
        """(the reply's kernel module, its description line), each None when the reply has none."""
        with self._http_slots:
            if self.stop.is_set():
                raise LLMBudgetExhausted("run finished")
            try:
                reply = self.client.complete(messages)
            except LLMFatalError as e:
                self.stop.set()  # a bad key or unknown model: no other job sends another request
                raise UserError(str(e)) from None
        usage["model"] = reply.model
        usage["prompt_tokens"] += reply.prompt_tokens
        usage["completion_tokens"] += reply.completion_tokens
        if len(reply.text) > MAX_REPLY_CHARS:
            return None, None  # counted as a reply without (usable) code
        return extract_code(reply.text), extract_description(reply.text)

    def _job(self, category: str, rng: random.Random, notes: dict[str, Any]) -> list[Attempt]:
        if self.stop.is_set():
            return []
        exemplars, ids = self._exemplars(category, rng)
        usage: dict[str, Any] = {"model": "", "prompt_tokens": 0, "completion_tokens": 0}
        last: Attempt | None = None
        tried: list[Attempt] = []  # every reply extracted: the rejected rounds are counted too

        chain = uuid.uuid4().hex[:16]  # ties this conversation's rounds together (--keep-rejects, --task repair)
        described: str | None = None

        def candidate(code: str, rounds: int) -> Candidate:
            meta = {"model": usage["model"], "repair_rounds": rounds, "chain": {"id": chain, "round": rounds},
                    "usage": {"prompt_tokens": usage["prompt_tokens"], "completion_tokens": usage["completion_tokens"]}}
            return Candidate(code, category, "llm" if rounds == 0 else "llm-repair",
                             parent_id=ids[0] if ids else None, provenance={"exemplars": ids}, metadata=meta,
                             description=described,
                             description_by={"by": "llm", "approximate": False, "model": usage["model"]}
                             if described else None)

        notes["repair_requests"] = 0
        try:
            code, described = self._ask(diversify_messages(category, exemplars, self.coverage.suggest(rng)), usage)
            for round_no in range(self.repair_rounds + 1):
                if code is None:
                    return [Attempt(candidate("", round_no), f"no-code-{rng.getrandbits(64):016x}",
                                    Rejected("", Reason.NO_CODE, "the reply has no code block"))]
                try:
                    rid = record_id(code)
                except (SyntaxError, ValueError, RecursionError):
                    rid = f"unparsable-{rng.getrandbits(64):016x}"
                last = self._extract(candidate(code, round_no), rid)
                tried.append(last)
                out = last.outcome
                if isinstance(out, Accepted) or out.reason in (Reason.DUPLICATE, Reason.UNSAFE):
                    return tried  # hostile replies are dropped, never repaired or run
                if round_no == self.repair_rounds or self.stop.is_set():
                    return tried
                notes["repair_requests"] = round_no + 1
                code, again = self._ask(repair_messages(code, out.reason, out.message, out.line, category=category),
                                        usage)
                described = again or described  # a repair that keeps the computation may not restate it
        except LLMBudgetExhausted:
            pass
        except LLMRequestError as e:
            if last is None:
                notes["request_failed"] = e.reason
        return tried

    def close(self) -> None:
        self.stop.set()
        self._pool.shutdown(wait=True, cancel_futures=True)


__all__ = ["LLMJobs"]
