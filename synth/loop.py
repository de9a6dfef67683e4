"""The one run loop of ``synth run``: schedule work, commit attempts, keep the folder resumable.

Offline and LLM mode differ only in their ``Source`` (``warp_synth.synth.source``).  The loop
keeps work in flight for the category that needs records most, and every finished piece of
work goes through one commit: count each attempt, turn accepted single-kernel outcomes into
records (never past a category's target, never a duplicate), append and fsync them, then
replace ``state.json`` (the source's resume cursor) and ``stats.json`` atomically.

Execution (``extract.execute``): every single-kernel outcome extraction accepted or rejected
for a runtime reason is tallied per category (``execution_by_category``: executed, passed,
not_executed, each runtime rejection, each adjoint result); ``--require-grad`` turns an adjoint
that did not pass into the loop's ``grad_not_passed``; the ids of kernels whose adjoint check
failed are appended to ``adjoint_failures.jsonl`` (written records and, with ``--require-grad``,
the ones kept out).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tqdm import tqdm

from warp_synth.counters import Counters
from warp_synth.errors import UserError
from warp_synth.reasons import RUNTIME_REASONS, Reason
from warp_synth.records import (
    NOT_KEPT_REASONS,
    Accepted,
    Attempt,
    Outcome,
    Record,
    RejectRecord,
    make_record,
    make_reject,
    parse_categories,
    utc_now,
)
from warp_synth.shards import REJECTS, STATE, STATS
from warp_synth.store import Store
from warp_synth.synth.dedup import Dedup
from warp_synth.synth.source import Source, Work

SCHEMA_VERSION = 1
ADJOINT_FAILURES = "adjoint_failures.jsonl"  # one line per kernel whose adjoint check failed
GRAD_STATUSES = ("passed", "failed", "not_differentiable", "skipped", "not_executed")


class RunError(UserError):
    """A ``synth run`` setting or situation the run cannot go on with."""


@dataclass(slots=True)
class RunStats(Counters):
    attempts: int = 0
    accepted: int = 0
    rejected: Counter[str] = field(default_factory=Counter)
    per_category: dict[str, dict[str, int]] = field(default_factory=dict)
    per_operator: dict[str, dict[str, int]] = field(default_factory=dict)
    accepted_by_origin: Counter[str] = field(default_factory=Counter)
    rejected_by_category: dict[str, dict[str, int]] = field(default_factory=dict)  # category -> reason -> n
    execution_by_category: dict[str, dict[str, int]] = field(default_factory=dict)  # see execution_counts
    adjoint_failures: int = 0  # lines appended to adjoint_failures.jsonl
    rejects_kept: int = 0  # rows appended to rejects/ (--keep-rejects)
    elapsed_s: float = 0.0
    generate_s: float = 0.0  # CPU seconds this process spent making candidates (templates, mutator, ids)
    commit_s: float = 0.0  # CPU seconds this process spent committing (records, shards, state)
    parent_cpu_s: float = 0.0  # CPU seconds of this process in all (every thread; not the workers)

    def cat(self, c: str) -> dict[str, int]:
        return self.per_category.setdefault(c, {"attempts": 0, "accepted": 0})

    def op(self, o: str) -> dict[str, int]:
        return self.per_operator.setdefault(o, {"tried": 0, "valid": 0})

    def reject(self, c: str, why: str) -> None:
        self.rejected[why] += 1
        table = self.rejected_by_category.setdefault(c, {})
        table[why] = table.get(why, 0) + 1

    def executed(self, c: str, out: Outcome) -> None:
        """Tally one outcome's execution (nothing for a kernel that never reached it)."""
        keys = execution_counts(out)
        if keys:
            table = self.execution_by_category.setdefault(c, {})
            for k in keys:
                table[k] = table.get(k, 0) + 1


def grad_status(execution: dict[str, Any] | None) -> str:
    """The adjoint result of a record's ``execution`` (``not_executed`` when it did not run)."""
    if not isinstance(execution, dict) or execution.get("status") != "passed":
        return "not_executed"
    grad = execution.get("grad")
    status = grad.get("status") if isinstance(grad, dict) else None
    return status if status in GRAD_STATUSES else "not_executed"


def _ran_then_failed(out: Outcome) -> bool:
    """A rejection by a runtime check, or a crash/timeout of the kernel's launch (extract.execute)."""
    if isinstance(out, Accepted):
        return False
    if out.reason in RUNTIME_REASONS:
        return True
    return out.reason in (Reason.CRASH, Reason.TIMEOUT) and (" launch" in out.message
                                                              or "the kernel ran longer than" in out.message)


def execution_counts(out: Outcome) -> list[str]:
    """The ``execution_by_category`` keys one outcome adds to: ``executed`` (the kernel ran on the
    CPU), ``passed`` (and passed every check), a runtime rejection reason, ``not_executed`` (accepted
    without running: ``--no-execute``, an unsupported parameter kind), ``recorded_failure`` (a trusted
    kernel whose failed run is kept in its record), ``adjoint_<grad status>``."""
    if isinstance(out, Accepted):
        if len(out.kernels) != 1:
            return []
        ex = out.kernels[0].execution
        grad = "adjoint_" + grad_status(ex)
        status = ex.get("status") if isinstance(ex, dict) else None
        if status == "passed":
            return ["executed", "passed", grad]
        if status in (None, "not_executed"):
            return ["not_executed", grad]
        return ["executed", "recorded_failure", grad]  # a trusted kernel's failed run, kept in its record
    return ["executed", str(out.reason)] if _ran_then_failed(out) else []


def _process_cpu() -> float:
    """CPU seconds (user + system) of this process so far: every thread, no child process."""
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


def targets(category: str, n: int) -> dict[str, int]:
    """Records per category: ``n`` split evenly over the categories ``category`` names, the first ones
    taking the remainder."""
    cats = parse_categories(category)
    base, extra = divmod(n, len(cats))
    return {c: base + (1 if i < extra else 0) for i, c in enumerate(cats)}


def run_settings(args: argparse.Namespace) -> dict[str, Any]:
    """What makes a run *this* run: changing any of these needs another --out."""
    llm = getattr(args, "llm_config", None)
    out = {"schema": SCHEMA_VERSION, "category": args.category, "seed": args.seed,
           "mode": "llm" if llm is not None else "offline", "with_ptx": args.with_ptx,
           "mutation_rate": args.mutation_rate}
    level = getattr(args, "cuda_check", None) or "ptx"
    if level != "ptx":  # absent means "ptx": folders written before --cuda-check existed were checked so
        out["cuda_check"] = level
    if llm is not None:
        out["model"] = llm.model
    if not getattr(args, "execute", True):  # absent means executed (and folders from before execution)
        out["execute"] = False
    if getattr(args, "require_grad", False):
        out["require_grad"] = True
    if getattr(args, "exclude", None) is not None:
        out["exclude"] = str(args.exclude)
    return out


def execution_summary(st: RunStats, args: argparse.Namespace) -> dict[str, Any]:
    """The run's execution totals (over ``execution_by_category``), for ``stats.json``."""
    total: Counter[str] = Counter()
    for v in st.execution_by_category.values():
        total.update(v)
    return {
        "enabled": getattr(args, "execute", True),
        "require_grad": getattr(args, "require_grad", False),
        "executed": total["executed"],
        "passed": total["passed"],
        "not_executed": total["not_executed"],
        "rejected": {r.value: total[r.value] for r in (*RUNTIME_REASONS, Reason.CRASH, Reason.TIMEOUT)
                     if total[r.value]},
        "adjoint": {g: total["adjoint_" + g] for g in GRAD_STATUSES},
        "adjoint_failures_file": ADJOINT_FAILURES,
    }


def _logged_ids(path: Path) -> set[str]:
    """The ids ``adjoint_failures.jsonl`` holds; a torn last line (a killed run) is cut off."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return set()
    end = data.rfind(b"\n") + 1
    if end < len(data):
        with open(path, "r+b") as f:
            f.truncate(end)
    ids: set[str] = set()
    for line in data[:end].splitlines():
        try:
            ids.add(str(json.loads(line)["id"]))
        except (ValueError, KeyError, TypeError):
            continue
    return ids


def load_reference(path: Path | None) -> Any:
    """``--exclude REF``'s index (``warp_synth.eval.decontam.Reference``), or None without one."""
    if path is None:
        return None
    try:
        from warp_synth.eval.decontam import Reference
    except ImportError:
        raise RunError("--exclude needs the eval extra (datasketch): pip install 'warp-synth[eval]'") from None
    return Reference.from_path(path)


def _with_yield(table: dict[str, dict[str, int]], num: str, den: str) -> dict[str, dict[str, Any]]:
    return {k: {**v, "yield": round(v[num] / v[den], 4) if v[den] else 0.0} for k, v in sorted(table.items())}


class Runner:
    """One ``synth run`` on one ``--out`` folder (opened, locked and reloaded on construction)."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.targets = targets(args.category, args.n)
        self.store = Store.open(args.out, run_settings(args), shard_records=args.shard_records)
        self.state: dict[str, Any] = self.store.read_json(STATE) or {}
        self.previous: dict[str, Any] = self.store.read_json(STATS) or {}
        self.stats = RunStats.from_dict(self.previous)
        self.prev_engine: Counter[str] = Counter(self.previous.get("engine", {}))
        self.dedup = Dedup(self.store.ids)  # the store's own id set: what it appends, dedup sees
        self.rejects = self.store.sub_store(REJECTS) if getattr(args, "keep_rejects", False) else None
        self.reference = load_reference(getattr(args, "exclude", None))
        self.excluded_examples: list[dict[str, Any]] = list(self.previous.get("exclude", {}).get("examples", []))
        self.failures_path = args.out / ADJOINT_FAILURES
        self.failure_ids = _logged_ids(self.failures_path)  # a resumed run never logs an id twice
        self.inflight: list[Work] = []
        self.t0 = time.monotonic()
        self.cpu0 = _process_cpu()
        self.session_accepted = 0
        self.engine_stats: Callable[[], dict[str, float]] = dict
        self.sandbox: dict[str, Any] = {}  # what the batches run in (synth.run.sandbox_in_force)
        self.verified: dict[str, str] = {}  # what the compilers checked (extract.verified_by): metadata.verified
        import warp  # version only; no Warp code runs in this process

        self.warp_version = warp.__version__

    def next_index(self) -> dict[str, int]:
        """The offline cursor saved by an earlier session of this folder."""
        return {c: int(self.state.get("next_index", {}).get(c, 0)) for c in self.targets}

    # ----------------------------------------------------------------- scheduling
    def remaining(self, c: str) -> int:
        return max(0, self.targets[c] - self.store.counts_by_category.get(c, 0))

    def total_remaining(self) -> int:
        return sum(self.remaining(c) for c in self.targets)

    def _yield(self, c: str) -> float:
        """Share of this category's candidates that became records so far (optimistic at first)."""
        v = self.stats.per_category.get(c, {})
        attempts, accepted = v.get("attempts", 0), v.get("accepted", 0)
        return max(0.2, accepted / attempts) if attempts >= 32 else 0.95

    def _need(self, source: Source, c: str) -> float:
        """Records ``c`` still needs beyond what its work in flight should bring."""
        units = sum(w.units for w in self.inflight if w.category == c)
        return self.remaining(c) - source.expected(c, units, self._yield(c))

    def _pick_category(self, source: Source) -> str | None:
        best, best_need = None, 0.0
        for c in self.targets:
            need = self._need(source, c)
            if self.remaining(c) > 0 and need > best_need:
                best, best_need = c, need
        return best

    def _fill(self, source: Source) -> None:
        while source.has_room(len(self.inflight)):
            c = self._pick_category(source)
            if c is None:
                break
            work = source.next_work(c, self._need(source, c), self._yield(c))
            self.stats.generate_s += work.generate_s
            self.inflight.append(work)

    def _finished_work(self, source: Source) -> list[Work]:
        if source.ordered:  # commit in submission order: the same seed gives the same records
            done = [self.inflight[0]]
        else:
            done_set, _ = wait([w.future for w in self.inflight], return_when=FIRST_COMPLETED)
            done = [w for w in self.inflight if w.future in done_set]
        for w in done:
            self.inflight.remove(w)
        return done

    # ----------------------------------------------------------------- committing
    def _verdict(self, a: Attempt, records: list[Record]) -> str:
        """Why an attempt does not become a record ("" when it does)."""
        out = a.outcome
        if not (isinstance(out, Accepted) and len(out.kernels) == 1):
            return out.reason if not isinstance(out, Accepted) else Reason.MULTIPLE_KERNELS
        c = a.candidate.kernel_type
        if getattr(self.args, "require_grad", False) and grad_status(out.kernels[0].execution) != "passed":
            return Reason.GRAD_NOT_PASSED
        if self.reference is not None:
            m = self.reference.match(a.candidate.source)
            if m is not None:
                if len(self.excluded_examples) < 5:
                    self.excluded_examples.append({"id": a.record_id, "ref_id": m.ref_id, "kind": m.kind,
                                                   "jaccard": round(m.jaccard, 3)})
                return Reason.EXCLUDED
        if sum(1 for r in records if r.kernel_type == c) >= self.remaining(c):
            return Reason.SURPLUS  # the category filled up inside this commit
        if self.dedup.is_written(a.record_id) or any(r.id == a.record_id for r in records):
            return Reason.DUPLICATE
        return ""

    def commit(self, source: Source, work: Work) -> list[Work]:
        t0 = time.thread_time()
        try:
            return self._commit(source, work)
        finally:
            self.stats.commit_s += time.thread_time() - t0

    def _commit(self, source: Source, work: Work) -> list[Work]:
        st = self.stats
        records: list[Record] = []
        rejects: list[RejectRecord] = []
        verdicts: list[tuple[Attempt, str]] = []
        failures: list[dict[str, Any]] = []
        for a in work.future.result():
            cand, out = a.candidate, a.outcome
            st.attempts += 1
            st.cat(cand.kernel_type)["attempts"] += 1
            early_duplicate = not isinstance(out, Accepted) and out.reason == Reason.DUPLICATE
            if not early_duplicate:  # it went to extraction under its claimed id
                self.dedup.release(a.record_id)
                ok = isinstance(out, Accepted) and len(out.kernels) == 1
                for o in cand.provenance.get("operators", []):
                    st.op(o)["tried"] += 1
                    st.op(o)["valid"] += int(ok)
                st.executed(cand.kernel_type, out)
            why = self._verdict(a, records)
            verdicts.append((a, why))
            if why in ("", Reason.GRAD_NOT_PASSED):
                failures += self._adjoint_failure(a, written=not why)
            if why:
                st.reject(cand.kernel_type, why)
                if self.rejects is not None and why not in NOT_KEPT_REASONS:
                    rejects.append(make_reject(a, why, {"seed": self.args.seed}))
                continue
            assert isinstance(out, Accepted)
            records.append(make_record(
                cand.source, out.kernels[0], record_id=a.record_id, kernel_type=cand.kernel_type,
                origin=cand.origin, warp_version=self.warp_version, parent_id=cand.parent_id,
                extra_metadata={**cand.metadata, "provenance": cand.provenance, "seed": self.args.seed},
                verified=self.verified or None, description=cand.description,
                description_by=cand.description_by,
            ))
        if self.rejects is not None:  # first: an accepted record is never written before its chain's rounds
            st.rejects_kept += self.rejects.append(rejects)
        written = self.store.append(records)
        self._log_failures(failures)
        for r in records:
            st.cat(r.kernel_type)["accepted"] += 1
            st.accepted_by_origin[r.origin] += 1
        self.session_accepted += written
        st.accepted += written
        follow_ups = source.committed(work, verdicts, records, self.remaining)
        self._save(source)
        return follow_ups

    def _adjoint_failure(self, a: Attempt, written: bool) -> list[dict[str, Any]]:
        out = a.outcome
        assert isinstance(out, Accepted)
        ex = out.kernels[0].execution
        if grad_status(ex) != "failed" or a.record_id in self.failure_ids:
            return []
        assert isinstance(ex, dict)
        self.failure_ids.add(a.record_id)
        grad = ex["grad"]
        return [{"id": a.record_id, "kernel_name": out.kernels[0].kernel_name,
                 "kernel_type": a.candidate.kernel_type, "origin": a.candidate.origin, "written": written,
                 "seed": ex.get("seed"), "max_abs_err": grad.get("max_abs_err"),
                 "max_rel_err": grad.get("max_rel_err"), "eps": grad.get("eps")}]

    def _log_failures(self, lines: list[dict[str, Any]]) -> None:
        if not lines:
            return
        with open(self.failures_path, "a", encoding="utf-8") as f:
            f.writelines(json.dumps(line, sort_keys=True) + "\n" for line in lines)
            f.flush()
            os.fsync(f.fileno())
        self.stats.adjoint_failures += len(lines)

    def _save(self, source: Source) -> None:
        self.store.write_json(STATE, source.state(self.inflight))
        self.store.write_json(STATS, self.stats_dict(source))

    def stats_dict(self, source: Source, finished: bool = False) -> dict[str, Any]:
        st = self.stats
        elapsed = st.elapsed_s + (time.monotonic() - self.t0)
        engine = Counter(self.prev_engine)
        engine.update(self.engine_stats())
        extra = source.stats()
        return {
            "settings": run_settings(self.args),
            "target": self.args.n,
            "records": self.store.count,
            "finished": finished,
            "attempts": st.attempts,
            "accepted": st.accepted,
            "rejected": dict(sorted(st.rejected.items())),
            "accepted_by_origin": dict(sorted(st.accepted_by_origin.items())),
            "per_category": _with_yield(st.per_category, "accepted", "attempts"),
            "per_operator": _with_yield(st.per_operator, "valid", "tried"),
            "rejected_by_category": {c: dict(sorted(v.items())) for c, v in sorted(st.rejected_by_category.items())},
            "execution_by_category": {c: dict(sorted(v.items())) for c, v in sorted(st.execution_by_category.items())},
            "execution": execution_summary(st, self.args),
            "adjoint_failures": st.adjoint_failures,
            "rejects_kept": st.rejects_kept,
            **({"exclude": {"reference": str(self.args.exclude), "kernels": len(self.reference),
                            "excluded": st.rejected.get(Reason.EXCLUDED, 0), "examples": self.excluded_examples}}
               if self.reference is not None else {}),
            "elapsed_s": round(elapsed, 2),
            "pairs_per_s": round(st.accepted / elapsed, 3) if elapsed > 0 else 0.0,
            "generate_s": round(st.generate_s, 3),
            "commit_s": round(st.commit_s, 3),
            "parent_cpu_s": round(st.parent_cpu_s + _process_cpu() - self.cpu0, 3),
            "engine": {k: round(v, 3) if isinstance(v, float) else v for k, v in sorted(engine.items())},
            "workers": self.args.workers,
            "batch_size": self.args.batch_size,
            "warp_version": self.warp_version,
            "sandbox": self.sandbox,
            "updated_at": utc_now(),
            **({"llm": extra} if extra is not None else {}),
        }

    # ----------------------------------------------------------------- the loop
    def run(self, source: Source, engine_stats: Callable[[], dict[str, float]]) -> str:
        """Run ``source`` until every target is met or it has no more to give; returns why it
        stopped early ("" when it did not)."""
        self.engine_stats = engine_stats
        args = self.args
        bar = tqdm(total=args.n, initial=self.store.count, unit="pair", dynamic_ncols=True,
                   disable=args.no_progress or None, file=sys.stderr, desc="accepted")
        stop_reason = ""
        try:
            while self.total_remaining() > 0:
                self._fill(source)
                if not self.inflight:
                    stop_reason = source.stop_reason
                    break
                for work in self._finished_work(source):
                    before = self.store.count
                    self.inflight.extend(self.commit(source, work))
                    bar.update(self.store.count - before)
                rejects = sum(v for k, v in self.stats.rejected.items() if k != Reason.SURPLUS)
                rate = self.session_accepted / max(time.monotonic() - self.t0, 1e-9)
                bar.set_postfix(rate=f"{rate:.1f}/s", rejects=rejects, **source.postfix(), refresh=False)
            for other in self.inflight:
                other.future.cancel()
        finally:
            bar.close()
            source.close()
            # the cursor still counts the cancelled work: a later, larger run regenerates it
            self.store.write_json(STATE, source.state(self.inflight))
            self.inflight.clear()
        final = self.stats_dict(source, finished=self.total_remaining() == 0)
        self.store.write_json(STATS, final)
        if stop_reason:
            print(f"synth run: stopped: {stop_reason}", file=sys.stderr)
        print(f"synth run: {self.store.count} records in {args.out} ({self.session_accepted} new, "
              f"{source.summary(final['pairs_per_s'])}); stats in {args.out / STATS}", file=sys.stderr)
        return stop_reason
