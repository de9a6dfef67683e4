"""The LLM source of ``synth run``: LLM jobs served to the run loop, and what only they count.

``LLMSource.open(args, runner, extractor)`` wires the chat client, the call budget, the coverage
tracker and the job pool to a running ``Runner``; the loop then treats it like the offline
source (``warp_synth.synth.source.Source``).  After each commit it counts the LLM-only figures
(replies without code, unsafe replies, first-try and per-round repair success, failed requests),
feeds accepted kernels to the coverage tracker and the exemplar pool, and mutates a share of
accepted LLM kernels further (``--mutation-rate``), which it hands back as follow-up work.
"""

from __future__ import annotations

import argparse
import random
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from warp_synth.counters import Counters
from warp_synth.extract import Extractor, MicroBatcher, kernel_builtin_names
from warp_synth.reasons import Reason
from warp_synth.records import Attempt, Record
from warp_synth.synth.llm.client import CallBudget, ChatClient
from warp_synth.synth.llm.coverage import Coverage
from warp_synth.synth.llm.jobs import LLMJobs
from warp_synth.synth.source import Work

if TYPE_CHECKING:
    from warp_synth.synth.loop import Runner


@dataclass(slots=True)
class LLMCounters(Counters):
    candidates: int = 0  # replies that carried code
    replies_without_code: int = 0
    unsafe_replies: int = 0
    duplicates_rejected: int = 0
    first_try_accepted: int = 0
    repair_success_by_round: dict[str, dict[str, int]] = field(default_factory=dict)  # round -> tried, accepted
    request_failures: int = 0

    def to_dict(self) -> dict[str, Any]:
        out = Counters.to_dict(self)
        out["first_try_acceptance"] = round(self.first_try_accepted / self.candidates, 4) if self.candidates else 0.0
        return out

    def repair_round(self, round_no: int) -> dict[str, int]:
        return self.repair_success_by_round.setdefault(str(round_no), {"tried": 0, "accepted": 0})


class LLMSource:
    """LLM jobs for the run loop (see ``warp_synth.synth.source.Source``)."""

    ordered = False  # commit jobs as they finish: HTTP latency varies, nothing to keep in order

    def __init__(self, args: argparse.Namespace, runner: Runner, jobs: LLMJobs, client: ChatClient,
                 budget: CallBudget, coverage: Coverage) -> None:
        self.args, self.jobs, self.client, self.budget, self.coverage = args, jobs, client, budget, coverage
        state = runner.state.get("llm", {})
        self.counters = LLMCounters.from_dict(state.get("counters"))
        self.client_before = Counter({k: v for k, v in runner.previous.get("llm", {}).get("client", {}).items()
                                      if isinstance(v, (int, float))})
        self.next_index = runner.next_index()  # the offline cursor, kept as it was
        self.mutation_rng = random.Random(f"{args.seed}/llm-mutation/{runner.store.count}")

    @classmethod
    @contextmanager
    def open(cls, args: argparse.Namespace, runner: Runner, extractor: Extractor) -> Iterator[LLMSource]:
        state = runner.state.get("llm", {})
        coverage = (Coverage.from_dict(state["coverage"], builtins=None) if state.get("coverage")
                    else Coverage.create(kernel_builtin_names()))
        used_before = int(runner.previous.get("llm", {}).get("client", {}).get("requests", 0))
        budget = CallBudget(None if args.max_llm_calls is None else max(0, args.max_llm_calls - used_before))
        with ChatClient(args.llm_config, budget) as client:
            batcher = MicroBatcher(extractor, args.batch_size)
            jobs = LLMJobs(client, batcher, coverage, runner.dedup, seed=args.seed, concurrency=args.concurrency,
                           repair_rounds=args.repair_rounds)
            try:
                yield cls(args, runner, jobs, client, budget, coverage)
            finally:
                jobs.close()
                batcher.close()

    # ----------------------------------------------------------------- scheduling
    @property
    def stop_reason(self) -> str:
        return f"the LLM call budget ({self.args.max_llm_calls}) is spent"

    def has_room(self, inflight: int) -> bool:
        return inflight < self.jobs.max_jobs and not self.budget.exhausted and not self.jobs.stop.is_set()

    def expected(self, category: str, units: int, observed_yield: float) -> float:
        # never more jobs in flight than records still needed (an accepted LLM kernel may bring a
        # mutant along), so few LLM calls are spent past N
        return (1 + self.args.mutation_rate) * units

    def next_work(self, category: str, need: float, observed_yield: float) -> Work:
        return self.jobs.submit(category)

    # ----------------------------------------------------------------- after a commit
    def committed(self, work: Work, verdicts: list[tuple[Attempt, str]], records: list[Record],
                  remaining: Callable[[str], int]) -> list[Work]:
        lc = self.counters
        if work.notes.get("request_failed"):
            lc.request_failures += 1
        # a job's rounds are all in its verdicts (each extraction is counted by the run); the job's own
        # counters take its last round, the one that settled it
        rounds_of_job = [(a, why) for a, why in verdicts if a.candidate.origin != "mutation"]
        for attempt, why in rounds_of_job[-1:]:
            cand = attempt.candidate
            if why == Reason.NO_CODE:
                lc.replies_without_code += 1
                continue
            lc.candidates += 1
            for round_no in range(1, work.notes.get("repair_requests", 0) + 1):
                lc.repair_round(round_no)["tried"] += 1
            if why == Reason.UNSAFE:
                lc.unsafe_replies += 1
            elif why == Reason.DUPLICATE:
                lc.duplicates_rejected += 1
            elif not why:
                rounds = cand.metadata["repair_rounds"]
                if rounds == 0:
                    lc.first_try_accepted += 1
                else:
                    lc.repair_round(rounds)["accepted"] += 1
        follow_ups: list[Work] = []
        for rec in records:
            self.coverage.observe(rec.python_source)
            if rec.origin == "mutation":
                continue
            self.jobs.remember(rec.kernel_type, rec.python_source)
            if self.mutation_rng.random() < self.args.mutation_rate and remaining(rec.kernel_type) > 0:
                follow_ups.append(self.jobs.submit_mutation(rec.kernel_type, rec.python_source, rec.id, rec.description))
        return follow_ups

    def state(self, inflight: list[Work]) -> dict[str, Any]:
        return {"next_index": self.next_index,
                "llm": {"counters": self.counters.to_dict(), "coverage": self.coverage.to_dict()}}

    def _client_stats(self) -> Counter[str]:
        total = Counter(self.client_before)  # update, not +: zero counts stay in stats.json
        total.update({k: v for k, v in self.client.stats.to_dict().items() if isinstance(v, (int, float))})
        return total

    def stats(self) -> dict[str, Any]:
        client = self._client_stats()
        return {"client": dict(client), **self.counters.to_dict(), "llm_calls": client.get("requests", 0),
                "tokens_in": client.get("tokens_in", 0), "tokens_out": client.get("tokens_out", 0),
                "coverage": self.coverage.summary()}

    def postfix(self) -> dict[str, Any]:
        return {"calls": self.client.stats.requests}

    def summary(self, pairs_per_s: float) -> str:
        return f"{self._client_stats().get('requests', 0)} LLM calls"

    def close(self) -> None:
        self.jobs.stop.set()  # no job starts another request once the loop is done
