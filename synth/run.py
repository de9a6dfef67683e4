"""``synth run``: produce exactly N accepted, unique, verified records.

Flow per batch: candidates (templates + mutator) -> dedup against everything written or in
flight -> screen + isolated batched extraction -> records appended and fsynced -> resume
cursor and stats replaced atomically.  Batches are committed in submission order, and every
candidate is a pure function of (seed, category, index), so the same seed gives the same
kernels whatever the worker count, and a killed run resumes where its last commit ended.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import threading
import time
from collections import Counter, deque
from concurrent.futures import FIRST_COMPLETED, Future, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tqdm import tqdm
from warp_synth.errors import UserError
from warp_synth.extract.engine import ExtractOptions, Extractor
from warp_synth.extract.executors.local import WorkerStartError
from warp_synth.identity import record_id
from warp_synth.records import CATEGORIES, Accepted, Candidate, Outcome, Record, Unit, make_record, utc_now
from warp_synth.shards import STATE, STATS
from warp_synth.store import Store
from warp_synth.synth.offline import OfflineSource

if TYPE_CHECKING:
    from warp_synth.synth.llm.jobs import JobResult

SCHEMA_VERSION = 1


class RunError(UserError):
    """A ``synth run`` setting or situation the run cannot go on with."""


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--category", default="all", metavar="CAT",
                   help=f"one of {', '.join(CATEGORIES)}, or 'all' to balance the ten (default: all)")
    p.add_argument("--n", type=int, required=True, metavar="N", help="accepted unique records to produce")
    p.add_argument("--out", type=Path, default=None, metavar="DIR",
                   help="output folder (default: data/<category>); an interrupted run resumes from it")
    p.add_argument("--seed", type=int, default=0, help="generation seed: the same seed gives the same kernels")
    p.add_argument("--workers", type=int, default=2, metavar="W", help="extraction worker processes (default: 2)")
    p.add_argument("--batch-size", type=int, default=32, metavar="B",
                   help="kernels compiled per translation unit (default: 32)")
    p.add_argument("--offline", action="store_true", help="templates + mutator only, never an LLM")
    p.add_argument("--mutation-rate", type=float, default=0.5, metavar="P",
                   help="share of candidates diversified by the mutator; in LLM mode, share of accepted LLM "
                        "kernels mutated further (default: 0.5)")
    p.add_argument("--with-ptx", action="store_true", help="also store each kernel's PTX (ir.cuda.ptx)")
    p.add_argument("--shard-records", type=int, default=10_000, metavar="K",
                   help="records per JSONL shard (default: 10000)")
    p.add_argument("--timeout", type=float, default=60.0, metavar="S",
                   help="base wall-clock limit per batch in seconds, plus 10 s per kernel (default: 60)")
    p.add_argument("--mem-limit-mb", type=int, default=4096, metavar="MB",
                   help="address-space limit of each worker (default: 4096)")
    p.add_argument("--executor", choices=("local", "ray"), default="local",
                   help="where extraction runs: local worker processes, or worker actors on a Ray cluster")
    p.add_argument("--ray-address", default=None, metavar="ADDR",
                   help="Ray cluster to join, e.g. ray://head:10001 or 'auto' (default: a local Ray instance)")
    p.add_argument("--max-ir-kb", type=int, default=128, metavar="KB",
                   help="reject kernels whose generated module exceeds KB per backend (default: 128; 0: no limit)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    g = p.add_argument_group("LLM mode (an endpoint given means LLM mode; --offline always wins)")
    g.add_argument("--llm-base-url", default=None, metavar="URL",
                   help="OpenAI-compatible endpoint, e.g. https://api.openai.com/v1 (env SYNTH_LLM_BASE_URL)")
    g.add_argument("--model", default=None, metavar="NAME", help="model name (env SYNTH_LLM_MODEL)")
    g.add_argument("--config", type=Path, default=None, metavar="FILE",
                   help="TOML file with an [llm] table (base_url, model, timeout, max_retries, ...)")
    g.add_argument("--concurrency", type=int, default=8, metavar="K", help="LLM requests in flight (default: 8)")
    g.add_argument("--repair-rounds", type=int, default=2, metavar="R",
                   help="repair requests per failing candidate (default: 2)")
    g.add_argument("--max-llm-calls", type=int, default=None, metavar="C",
                   help="stop cleanly after C LLM requests (default: unlimited)")
    g.add_argument("--temperature", type=float, default=None, help="sampling temperature (default: 0.8)")


@dataclass(slots=True)
class _Batch:
    category: str
    start: int  # first candidate index
    end: int
    candidates: list[tuple[Candidate, str]]  # (candidate, record id) submitted for extraction
    duplicates: int
    future: Future[list[Outcome]] | None = None


@dataclass(slots=True)
class RunStats:
    attempts: int = 0
    accepted: int = 0
    rejected: Counter[str] = field(default_factory=Counter)
    per_category: dict[str, dict[str, int]] = field(default_factory=dict)
    per_operator: dict[str, dict[str, int]] = field(default_factory=dict)
    per_origin: Counter[str] = field(default_factory=Counter)
    elapsed_s: float = 0.0
    generate_s: float = 0.0  # CPU seconds this process spent making candidates (templates, mutator, ids)

    @classmethod
    def from_dict(cls, d: dict[str, Any] | None) -> RunStats:
        s = cls()
        if not d:
            return s
        s.attempts = int(d.get("attempts", 0))
        s.accepted = int(d.get("accepted", 0))
        s.rejected = Counter(d.get("rejected", {}))
        s.per_category = {k: dict(v) for k, v in d.get("per_category", {}).items()}
        s.per_operator = {k: dict(v) for k, v in d.get("per_operator", {}).items()}
        s.per_origin = Counter(d.get("accepted_by_origin", {}))
        s.elapsed_s = float(d.get("elapsed_s", 0.0))
        s.generate_s = float(d.get("generate_s", 0.0))
        return s

    def cat(self, c: str) -> dict[str, int]:
        return self.per_category.setdefault(c, {"attempts": 0, "accepted": 0})

    def op(self, o: str) -> dict[str, int]:
        return self.per_operator.setdefault(o, {"tried": 0, "valid": 0})


def _targets(category: str, n: int) -> dict[str, int]:
    if category != "all":
        return {category: n}
    base, extra = divmod(n, len(CATEGORIES))
    return {c: base + (1 if i < extra else 0) for i, c in enumerate(CATEGORIES)}


def _settings(args: argparse.Namespace) -> dict[str, Any]:
    # what makes a run *this* run: changing any of these needs another --out
    llm = getattr(args, "llm_config", None)
    out = {"schema": SCHEMA_VERSION, "category": args.category, "seed": args.seed,
           "mode": "llm" if llm is not None else "offline", "with_ptx": args.with_ptx,
           "mutation_rate": args.mutation_rate}
    if llm is not None:
        out["model"] = llm.model
    return out


class Runner:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.targets = _targets(args.category, args.n)
        self.store = Store.open(args.out, _settings(args), shard_records=args.shard_records)
        state = self.store.read_json(STATE) or {}
        self.next_index: dict[str, int] = {c: int(state.get("next_index", {}).get(c, 0)) for c in self.targets}
        prev = self.store.read_json(STATS) or {}
        self.stats = RunStats.from_dict(prev)
        self.prev_engine: Counter[str] = Counter(prev.get("engine", {}))
        self.accepted = {c: self.store.counts_by_category.get(c, 0) for c in self.targets}
        self.source = OfflineSource(args.seed, mutation_rate=args.mutation_rate)
        self.inflight: deque[_Batch] = deque()
        self.inflight_ids: set[str] = set()
        self.t0 = time.monotonic()
        self.session_accepted = 0
        self.engine_stats: dict[str, float] = {}
        self.llm_state: dict[str, Any] = dict(state.get("llm", {}))
        self.llm_counters: Any = None
        self.llm_client_stats: dict[str, Any] = dict(prev.get("llm", {}).get("client", {}))
        self.llm_client: Any = None
        self.coverage: Any = None
        import warp  # version only; no Warp code runs in this process

        self.warp_version = warp.__version__

    # ----------------------------------------------------------------- scheduling
    def remaining(self, c: str) -> int:
        return max(0, self.targets[c] - self.accepted[c])

    def _yield(self, c: str) -> float:
        """Share of this category's candidates that became records so far (optimistic at first)."""
        v = self.stats.per_category.get(c, {})
        attempts, accepted = v.get("attempts", 0), v.get("accepted", 0)
        return max(0.2, accepted / attempts) if attempts >= 32 else 0.95

    def _expected(self, c: str) -> float:
        """Records the batches of ``c`` now in flight should still bring."""
        return self._yield(c) * sum(len(b.candidates) for b in self.inflight if b.category == c)

    def _pick_category(self) -> str | None:
        best, best_need = None, 0.0
        for c in self.targets:
            need = self.remaining(c) - self._expected(c)
            if self.remaining(c) > 0 and need > best_need:
                best, best_need = c, need
        return best

    def _make_batch(self, c: str) -> _Batch:
        t0 = time.thread_time()
        start = self.next_index[c]
        # no more candidates than the category still needs (compiling surplus kernels is waste)
        need = (self.remaining(c) - self._expected(c)) / self._yield(c)
        want = max(1, min(self.args.batch_size, int(need) + 1))
        cands: list[tuple[Candidate, str]] = []
        dups = 0
        i = start
        while len(cands) < want and i < start + 4 * want:
            cand = self.source.candidate(c, i)
            i += 1
            try:
                rid = record_id(cand.source)
            except SyntaxError:
                rid = f"unparsable-{c}-{i}"
            if rid in self.store.ids or rid in self.inflight_ids:
                dups += 1
                continue
            self.inflight_ids.add(rid)
            cands.append((cand, rid))
        self.next_index[c] = i
        self.stats.generate_s += time.thread_time() - t0
        return _Batch(c, start, i, cands, dups)

    # ----------------------------------------------------------------- committing
    def _commit(self, batch: _Batch, outcomes: list[Outcome]) -> None:
        st = self.stats
        st.attempts += len(batch.candidates) + batch.duplicates
        st.rejected["duplicate"] += batch.duplicates
        st.cat(batch.category)["attempts"] += len(batch.candidates) + batch.duplicates
        records: list[Record] = []
        for (cand, rid), out in zip(batch.candidates, outcomes, strict=True):
            self.inflight_ids.discard(rid)
            ok = isinstance(out, Accepted) and len(out.kernels) == 1
            for o in cand.provenance.get("operators", []):
                st.op(o)["tried"] += 1
                st.op(o)["valid"] += int(ok)
            if not ok:
                reason = out.reason if not isinstance(out, Accepted) else "multiple_kernels"
                st.rejected[reason] += 1
                continue
            if len(records) >= self.remaining(batch.category):
                st.rejected["surplus"] += 1  # the category filled up inside this batch
                continue
            if rid in self.store.ids:
                st.rejected["duplicate"] += 1
                continue
            assert isinstance(out, Accepted)
            records.append(make_record(
                cand.source, out.kernels[0], record_id=rid, kernel_type=cand.kernel_type, origin=cand.origin,
                warp_version=self.warp_version, parent_id=cand.parent_id, extra_metadata={
                    "provenance": cand.provenance, "seed": self.args.seed,
                },
            ))
        written = self.store.append(records)
        self.accepted[batch.category] += written
        self.session_accepted += written
        st.accepted += written
        st.cat(batch.category)["accepted"] += written
        for r in records:
            st.per_origin[r.origin] += 1
        self.store.write_json(STATE, {"next_index": self._committed_index()})
        self.store.write_json(STATS, self.stats_dict())

    def _committed_index(self) -> dict[str, int]:
        # the cursor never passes a batch that is still in flight
        out = dict(self.next_index)
        for b in self.inflight:
            out[b.category] = min(out[b.category], b.start)
        return out

    def stats_dict(self, finished: bool = False) -> dict[str, Any]:
        st = self.stats
        elapsed = st.elapsed_s + (time.monotonic() - self.t0)
        engine = Counter(self.prev_engine)
        engine.update(self.engine_stats)
        engine_out = {k: round(v, 3) if isinstance(v, float) else v for k, v in sorted(engine.items())}
        return {
            "settings": _settings(self.args),
            "target": self.args.n,
            "records": self.store.count,
            "finished": finished,
            "attempts": st.attempts,
            "accepted": st.accepted,
            "rejected": dict(sorted(st.rejected.items())),
            "accepted_by_origin": dict(sorted(st.per_origin.items())),
            "per_category": {c: {**v, "yield": round(v["accepted"] / v["attempts"], 4) if v["attempts"] else 0.0}
                             for c, v in sorted(st.per_category.items())},
            "per_operator": {o: {**v, "yield": round(v["valid"] / v["tried"], 4) if v["tried"] else 0.0}
                             for o, v in sorted(st.per_operator.items())},
            "elapsed_s": round(elapsed, 2),
            "pairs_per_s": round(st.accepted / elapsed, 3) if elapsed > 0 else 0.0,
            "generate_s": round(st.generate_s, 3),
            "engine": engine_out,
            "workers": self.args.workers,
            "batch_size": self.args.batch_size,
            "warp_version": self.warp_version,
            "updated_at": utc_now(),
            **({"llm": self._llm_stats()} if self.llm_counters is not None else {}),
        }

    def _llm_stats(self) -> dict[str, Any]:
        client = Counter({k: v for k, v in self.llm_client_stats.items() if isinstance(v, (int, float))})
        if self.llm_client is not None:
            now = self.llm_client.stats.to_dict()
            client.update({k: v for k, v in now.items() if isinstance(v, (int, float))})
        out = {"client": dict(client), **self.llm_counters.to_dict()}
        out["llm_calls"] = client.get("requests", 0)
        out["tokens_in"] = client.get("tokens_in", 0)
        out["tokens_out"] = client.get("tokens_out", 0)
        if self.coverage is not None:
            out["coverage"] = self.coverage.summary()
        return out

    # ----------------------------------------------------------------- main loop
    def run(self) -> int:
        total_left = sum(self.remaining(c) for c in self.targets)
        if total_left == 0:
            print(f"synth run: {self.args.out} already holds the {self.args.n} records of this run; nothing to do",
                  file=sys.stderr)
            return 0
        if self.store.repaired_bytes:
            print(f"synth run: repaired a torn last line ({self.store.repaired_bytes} bytes cut)", file=sys.stderr)
        if self.store.count:
            print(f"synth run: resuming {self.args.out}: {self.store.count} records kept, {total_left} to go",
                  file=sys.stderr)
        opts = ExtractOptions(workers=self.args.workers, batch_size=self.args.batch_size,
                              with_ptx=self.args.with_ptx, mem_limit_mb=self.args.mem_limit_mb,
                              timeout_base=self.args.timeout, max_ir_kb=self.args.max_ir_kb,
                              executor=self.args.executor, ray_address=self.args.ray_address)
        if self.args.llm_config is not None:
            return self._run_llm(opts)
        bar = tqdm(total=self.args.n, initial=self.store.count, unit="pair", dynamic_ncols=True,
                   disable=self.args.no_progress or None, file=sys.stderr, desc="accepted")
        try:
            with Extractor(opts) as ex:
                self.engine_stats = ex.stats
                depth = max(2, 2 * self.args.workers)
                while True:
                    while len(self.inflight) < depth:
                        c = self._pick_category()
                        if c is None:
                            break
                        b = self._make_batch(c)
                        units = [Unit(rid, cand.source) for cand, rid in b.candidates]
                        b.future = ex.submit_batch(units)
                        self.inflight.append(b)
                    if not self.inflight:
                        break
                    b = self.inflight.popleft()
                    assert b.future is not None
                    outcomes = b.future.result()
                    before = self.store.count
                    self.engine_stats = ex.stats
                    self._commit(b, outcomes)
                    bar.update(self.store.count - before)
                    rej = sum(v for k, v in self.stats.rejected.items() if k != "surplus")
                    elapsed = time.monotonic() - self.t0
                    bar.set_postfix(rate=f"{self.session_accepted / elapsed:.1f}/s", rejects=rej, refresh=False)
                    if sum(self.remaining(c) for c in self.targets) == 0:
                        for other in self.inflight:
                            if other.future is not None:
                                other.future.cancel()
                        self.inflight.clear()
                        break
                self.engine_stats = ex.stats
        except WorkerStartError as e:
            raise RunError(str(e)) from None
        finally:
            bar.close()
        final = self.stats_dict(finished=True)
        self.store.write_json(STATS, final)
        print(f"synth run: {self.store.count} records in {self.args.out} "
              f"({self.session_accepted} new, {final['pairs_per_s']} pairs/s overall); stats in "
              f"{self.args.out / STATS}", file=sys.stderr)
        return 0


    # ----------------------------------------------------------------- LLM mode
    def _run_llm(self, opts: ExtractOptions) -> int:
        from warp_synth.extract.engine import MicroBatcher
        from warp_synth.extract.warp_adapter import kernel_builtin_names
        from warp_synth.synth.llm.chat import Coverage
        from warp_synth.synth.llm.client import CallBudget, ChatClient, LLMFatalError
        from warp_synth.synth.llm.jobs import LLMCounters, LLMJobs

        args = self.args
        self.mutation_rng = random.Random(f"{args.seed}/llm-mutation/{self.store.count}")
        self.extra_jobs: list[Any] = []
        self.llm_counters = LLMCounters.from_dict(self.llm_state.get("counters"))
        names = kernel_builtin_names()
        self.coverage = (Coverage.from_dict(self.llm_state["coverage"], builtins=None)
                         if self.llm_state.get("coverage") else Coverage.create(names))
        used_before = int(self.llm_client_stats.get("requests", 0))
        budget = CallBudget(None if args.max_llm_calls is None else max(0, args.max_llm_calls - used_before))
        inflight_rids: set[str] = set()
        lock = threading.Lock()

        def is_known(rid: str) -> bool:
            with lock:
                if rid in self.store.ids or rid in inflight_rids:
                    return True
                inflight_rids.add(rid)
                return False

        bar = tqdm(total=args.n, initial=self.store.count, unit="pair", dynamic_ncols=True,
                   disable=args.no_progress or None, file=sys.stderr, desc="accepted")
        stop_reason = ""
        try:
            with Extractor(opts) as ex, ChatClient(args.llm_config, budget) as client:
                self.llm_client = client
                batcher = MicroBatcher(ex, args.batch_size)
                jobs = LLMJobs(client, batcher, self.coverage, seed=args.seed, concurrency=args.concurrency,
                               repair_rounds=args.repair_rounds, is_known=is_known)
                pending: dict[Any, str] = {}
                try:
                    while sum(self.remaining(c) for c in self.targets) > 0:
                        while len(pending) < jobs.max_jobs and not budget.exhausted and not jobs.stop.is_set():
                            c = self._pick_llm_category(pending)
                            if c is None:
                                break
                            pending[jobs.submit(c)] = c
                        if not pending:
                            stop_reason = f"the LLM call budget ({args.max_llm_calls}) is spent"
                            break
                        done, _ = wait(list(pending), return_when=FIRST_COMPLETED)
                        results = []
                        for f in done:
                            pending.pop(f)
                            try:
                                results.append(f.result())
                            except LLMFatalError as e:
                                raise RunError(str(e)) from None
                        before = self.store.count
                        for r in results:
                            with lock:
                                inflight_rids.discard(r.rid)
                        self._commit_llm(results, jobs)
                        for f, c in self.extra_jobs:
                            pending[f] = c  # a mutant counts against its category like an LLM job
                        self.extra_jobs.clear()
                        bar.update(self.store.count - before)
                        self.engine_stats = ex.stats
                        bar.set_postfix(calls=client.stats.requests, rejects=sum(self.stats.rejected.values()),
                                        refresh=False)
                finally:
                    jobs.close()
                    batcher.close()
                    self.engine_stats = ex.stats
                    self.llm_state = {"counters": self.llm_counters.to_dict(), "coverage": self.coverage.to_dict()}
                    self.store.write_json(STATE, {"next_index": self._committed_index(), "llm": self.llm_state})
        except WorkerStartError as e:
            raise RunError(str(e)) from None
        finally:
            bar.close()
        final = self.stats_dict(finished=self.store.count >= args.n)
        self.store.write_json(STATS, final)
        if stop_reason:
            print(f"synth run: stopped: {stop_reason}", file=sys.stderr)
        print(f"synth run: {self.store.count} records in {args.out} ({self.session_accepted} new, "
              f"{final['llm']['llm_calls']} LLM calls); stats in {args.out / STATS}", file=sys.stderr)
        return 0

    def _pick_llm_category(self, pending: dict[Any, str]) -> str | None:
        best, best_need = None, 0.0
        for c in self.targets:
            # never more jobs in flight than records still needed (an accepted LLM kernel may bring
            # a mutant along), so few LLM calls are spent past N
            need = self.remaining(c) - (1 + self.args.mutation_rate) * sum(1 for v in pending.values() if v == c)
            if self.remaining(c) > 0 and need > best_need:
                best, best_need = c, need
        return best

    def _why_not(self, r: JobResult, records: list[Record]) -> str:
        """Why a finished job's kernel does not become a record ("" when it does)."""
        if r.kind == "duplicate" or (r.kind == "accepted" and (r.rid in self.store.ids
                                                              or any(x.id == r.rid for x in records))):
            return "duplicate"
        if r.kind != "accepted" or r.outcome is None or len(r.outcome.kernels) != 1:
            return r.reason or "multiple_kernels"
        if sum(1 for x in records if x.kernel_type == r.category) >= self.remaining(r.category):
            return "surplus"  # the category filled up with this group of results
        return ""

    def _commit_llm(self, results: list[JobResult], jobs: Any) -> None:
        st, lc = self.stats, self.llm_counters
        records: list[Record] = []
        for r in results:
            cat = r.category
            if r.kind in ("budget", "llm_error"):
                lc.request_failures += int(r.kind == "llm_error")
                continue
            st.attempts += 1
            st.cat(cat)["attempts"] += 1
            for o in r.operators:
                st.op(o)["tried"] += 1
                st.op(o)["valid"] += int(r.kind == "accepted")
            if r.origin == "mutation":
                why = self._why_not(r, records)
                if why:
                    st.rejected[why] += 1
                    continue
                assert r.outcome is not None
                records.append(make_record(
                    r.source, r.outcome.kernels[0], record_id=r.rid, kernel_type=cat, origin="mutation",
                    warp_version=self.warp_version, parent_id=r.parent_id,
                    extra_metadata={"provenance": {"operators": r.operators}, "seed": self.args.seed}))
                continue
            if r.kind == "no_code":
                lc.replies_without_code += 1
                st.rejected["no_code"] += 1
                continue
            lc.candidates += 1
            for rnd in range(1, r.rounds_tried + 1):
                lc.repair_tried[str(rnd)] += 1
            if r.kind == "unsafe":
                lc.unsafe_replies += 1
                st.rejected["unsafe"] += 1
                continue
            why = self._why_not(r, records)
            if why:
                lc.duplicates += why == "duplicate"
                st.rejected[why] += 1
                continue
            assert r.outcome is not None
            if r.repair_rounds == 0:
                lc.first_try_accepted += 1
            else:
                lc.repair_success[str(r.repair_rounds)] += 1
            records.append(make_record(
                r.source, r.outcome.kernels[0], record_id=r.rid, kernel_type=cat,
                origin="llm" if r.repair_rounds == 0 else "llm-repair", warp_version=self.warp_version,
                parent_id=r.parent_id, extra_metadata={
                    "model": r.model, "repair_rounds": r.repair_rounds,
                    "usage": {"prompt_tokens": r.prompt_tokens, "completion_tokens": r.completion_tokens},
                    "provenance": {"exemplars": r.exemplar_ids}, "seed": self.args.seed,
                },
            ))
        written = self.store.append(records)
        for rec in records:
            self.accepted[rec.kernel_type] += 1
            st.cat(rec.kernel_type)["accepted"] += 1
            st.per_origin[rec.origin] += 1
            self.coverage.observe(rec.python_source)
            if rec.origin != "mutation":
                jobs.remember(rec.kernel_type, rec.python_source)
                if self.mutation_rng.random() < self.args.mutation_rate and self.remaining(rec.kernel_type) > 0:
                    self.extra_jobs.append((jobs.submit_mutation(rec.kernel_type, rec.python_source, rec.id),
                                            rec.kernel_type))
        self.session_accepted += written
        st.accepted += written
        self.llm_state = {"counters": self.llm_counters.to_dict(), "coverage": self.coverage.to_dict()}
        self.store.write_json(STATE, {"next_index": self._committed_index(), "llm": self.llm_state})
        self.store.write_json(STATS, self.stats_dict())


def validate(args: argparse.Namespace) -> None:
    if args.category != "all" and args.category not in CATEGORIES:
        raise RunError(f"unknown category {args.category!r}; choose one of {', '.join(CATEGORIES)} or 'all'")
    if args.n <= 0:
        raise RunError(f"--n must be a positive number of records, got {args.n}")
    if args.workers <= 0 or args.batch_size <= 0 or args.shard_records <= 0:
        raise RunError("--workers, --batch-size and --shard-records must be positive")
    if not 0.0 <= args.mutation_rate <= 1.0:
        raise RunError(f"--mutation-rate must be between 0 and 1, got {args.mutation_rate}")
    if args.out is None:
        args.out = Path("data") / args.category
    if args.max_ir_kb < 0:
        raise RunError(f"--max-ir-kb must be >= 0, got {args.max_ir_kb}")
    if args.concurrency <= 0 or args.repair_rounds < 0:
        raise RunError("--concurrency must be positive and --repair-rounds non-negative")
    if args.max_llm_calls is not None and args.max_llm_calls < 0:
        raise RunError(f"--max-llm-calls must be >= 0, got {args.max_llm_calls}")
    if args.config is not None and not args.config.is_file():
        raise RunError(f"config file {args.config} does not exist")
    from warp_synth.synth.llm.client import LLMConfig, LLMConfigError

    cli = {"llm_base_url": args.llm_base_url, "model": args.model, "temperature": args.temperature,
           "offline": args.offline or None}
    try:
        args.llm_config = LLMConfig.resolve(cli, os.environ, args.config)
    except LLMConfigError as e:
        raise RunError(str(e)) from None
    if args.out.exists() and not os.access(args.out, os.W_OK):
        raise RunError(f"cannot write to {args.out}: permission denied")


def run(args: argparse.Namespace) -> int:
    validate(args)
    return Runner(args).run()
