"""`synth run` and execution: --no-execute, --require-grad, and what stats.json counts."""

from __future__ import annotations

import argparse
import json
from concurrent.futures import Future
from pathlib import Path
from typing import Any

import pytest

from tests.support.cli import read_records, run_synth
from warp_synth.reasons import Reason
from warp_synth.records import Accepted, Attempt, BackendIR, Candidate, KernelIR, Rejected
from warp_synth.synth.loop import ADJOINT_FAILURES, Runner, execution_counts, grad_status
from warp_synth.synth.source import Work

pytestmark = pytest.mark.timeout(900)


def _accepted(execution: dict | None) -> Accepted:
    ir = BackendIR("f", "b")
    return Accepted("k", [KernelIR("k", "k_0", ir, ir, 1, {}, [], "m", execution=execution)])


def _passed(grad: str) -> dict[str, Any]:
    extra = {"max_abs_err": 0.5, "max_rel_err": 1.0, "eps": 1e-3} if grad in ("passed", "failed") else {}
    return {"status": "passed", "seed": 5, "dim": [4], "inputs": {}, "outputs": {}, "grad": {"status": grad, **extra}}


class _Source:
    """Just enough of a ``Source`` for ``Runner.commit``."""

    def committed(self, *a: object) -> list[Work]:
        return []

    def state(self, inflight: list[Work]) -> dict[str, Any]:
        return {}

    def stats(self) -> None:
        return None


def _commit(runner: Runner, outcomes: list[tuple[str, Any]]) -> None:
    future: Future[list[Attempt]] = Future()
    future.set_result([Attempt(Candidate(f"# {rid}", "arithmetic", "template"), rid, out) for rid, out in outcomes])
    runner.commit(_Source(), Work("arithmetic", future, units=len(outcomes)))  # type: ignore[arg-type]


def _args(out: Path, require_grad: bool) -> argparse.Namespace:
    return argparse.Namespace(out=out, category="arithmetic", n=5, seed=0, with_ptx=False, mutation_rate=0.5,
                              shard_records=100, cuda_check="frontend", execute=True, require_grad=require_grad,
                              workers=1, batch_size=4)


@pytest.mark.parametrize("require_grad", [False, True])
def test_commit_counts_execution_and_logs_failed_adjoints_once(tmp_path, require_grad) -> None:
    out = tmp_path / "o"
    runner = Runner(_args(out, require_grad))
    _commit(runner, [("a" * 16, _accepted(_passed("passed"))), ("b" * 16, _accepted(_passed("failed"))),
                     ("c" * 16, _accepted(_passed("not_differentiable"))),
                     ("d" * 16, Rejected("d", Reason.TRIVIAL, "the kernel writes nothing")),
                     ("e" * 16, _accepted({"status": "not_executed", "reason": "generic kernel"}))])
    written = {rec["id"] for rec in read_records(out)}
    assert written == ({"a" * 16} if require_grad else {"a" * 16, "b" * 16, "c" * 16, "e" * 16})
    stats = json.loads((out / "stats.json").read_text())
    assert stats["execution_by_category"] == {"arithmetic": {
        "adjoint_failed": 1, "adjoint_not_differentiable": 1, "adjoint_not_executed": 1, "adjoint_passed": 1,
        "executed": 4, "not_executed": 1, "passed": 3, "trivial": 1}}
    want = {"trivial": 1, **({"grad_not_passed": 3} if require_grad else {})}
    assert stats["rejected"] == want and stats["rejected_by_category"] == {"arithmetic": want}
    assert stats["execution"]["adjoint"] == {"passed": 1, "failed": 1, "not_differentiable": 1, "skipped": 0,
                                             "not_executed": 1}
    assert stats["execution"]["rejected"] == {"trivial": 1} and stats["execution"]["require_grad"] is require_grad
    lines = [json.loads(line) for line in (out / ADJOINT_FAILURES).read_text().splitlines()]
    assert lines == [{"id": "b" * 16, "kernel_name": "k", "kernel_type": "arithmetic", "origin": "template",
                      "written": not require_grad, "seed": 5, "max_abs_err": 0.5, "max_rel_err": 1.0, "eps": 1e-3}]
    assert stats["adjoint_failures"] == 1

    # a resumed run (after a kill that tore the file's last line) never logs an id twice
    with open(out / ADJOINT_FAILURES, "a") as f:
        f.write('{"id": "tor')
    runner.store.close()
    again = Runner(_args(out, require_grad))
    _commit(again, [("b" * 16, _accepted(_passed("failed"))), ("f" * 16, _accepted(_passed("failed")))])
    ids = [json.loads(line)["id"] for line in (out / ADJOINT_FAILURES).read_text().splitlines()]
    assert ids == ["b" * 16, "f" * 16]
    assert json.loads((out / "stats.json").read_text())["adjoint_failures"] == 2


def test_execution_counts_of_each_outcome() -> None:
    passed = {"status": "passed", "grad": {"status": "failed", "max_abs_err": 1.0}}
    assert execution_counts(_accepted(passed)) == ["executed", "passed", "adjoint_failed"]
    assert execution_counts(_accepted({"status": "not_executed", "reason": "--no-execute"})) == [
        "not_executed", "adjoint_not_executed"]
    assert execution_counts(_accepted(None)) == ["not_executed", "adjoint_not_executed"]
    assert execution_counts(Rejected("k", Reason.TRIVIAL, "the kernel writes nothing")) == ["executed", "trivial"]
    assert execution_counts(Rejected("k", Reason.CRASH, "the kernel's process died in the forward launch")) == [
        "executed", "crash"]
    assert execution_counts(Rejected("k", Reason.CRASH, "the worker died compiling the batch")) == []
    assert execution_counts(Rejected("k", Reason.CPU_COMPILE, "error")) == []
    assert grad_status(passed) == "failed" and grad_status({"status": "passed"}) == "not_executed"


def test_no_execute_writes_compile_only_pairs(tmp_path) -> None:
    out = tmp_path / "o"
    r = run_synth("run", "--category", "arithmetic", "--n", "3", "--offline", "--no-progress", "--no-execute",
                  "--out", str(out))
    assert r.returncode == 0, r.stderr
    rows = read_records(out)
    assert len(rows) == 3
    assert all(rec["execution"] == {"status": "not_executed", "reason": "--no-execute"} for rec in rows)
    stats = json.loads((out / "stats.json").read_text())
    ex = stats["execution"]
    assert (ex["enabled"], ex["require_grad"], ex["executed"], ex["passed"]) == (False, False, 0, 0)
    assert ex["not_executed"] == stats["attempts"] - sum(stats["rejected"].get(k, 0) for k in ("codegen", "crash"))
    assert ex["adjoint"]["not_executed"] == ex["not_executed"] and ex["adjoint"]["passed"] == 0
    assert json.loads((out / "settings.json").read_text())["execute"] is False
    assert not (out / ADJOINT_FAILURES).exists()
    # another setting is another run: the folder is refused rather than mixed
    again = run_synth("run", "--category", "arithmetic", "--n", "4", "--offline", "--no-progress", "--out", str(out))
    assert again.returncode == 2 and "settings" in again.stderr and len(again.stderr.strip().splitlines()) == 1


def test_flags_are_documented_and_checked(tmp_path) -> None:
    r = run_synth("run", "--help")
    assert "--no-execute" in r.stdout and "--require-grad" in r.stdout and "grad_not_passed" in r.stdout
    r = run_synth("run", "--n", "2", "--offline", "--no-execute", "--require-grad", "--out", str(tmp_path / "o"))
    assert r.returncode == 2
    assert r.stderr.strip() == ("synth run: error: --require-grad keeps kernels whose adjoint check passed: it "
                                "needs execution (drop --no-execute)")
    assert not (tmp_path / "o").exists()


@pytest.mark.slow
def test_require_grad_keeps_exactly_n_passing_pairs_and_logs_failures(tmp_path) -> None:
    out = tmp_path / "o"
    r = run_synth("run", "--category", "all", "--n", "10", "--seed", "0", "--offline", "--no-progress",
                  "--require-grad", "--out", str(out))
    assert r.returncode == 0, r.stderr
    rows = read_records(out)
    assert len(rows) == 10 and len({rec["id"] for rec in rows}) == 10
    assert all(rec["execution"]["status"] == "passed" and rec["execution"]["grad"]["status"] == "passed"
               for rec in rows)
    for rec in rows:  # a record carries its vectors
        ex = rec["execution"]
        assert ex["dim"] and ex["inputs"] and ex["outputs"] and isinstance(ex["seed"], int)
        assert set(ex["outputs"]) <= set(ex["inputs"])

    stats = json.loads((out / "stats.json").read_text())
    assert stats["rejected"]["grad_not_passed"] > 0
    # per category, every rejection by reason; the runtime reasons show up there
    by_cat = stats["rejected_by_category"]
    totals: dict[str, int] = {}
    for reasons in by_cat.values():
        for k, v in reasons.items():
            totals[k] = totals.get(k, 0) + v
    assert totals == stats["rejected"]
    assert any(k in totals for k in ("trivial", "non_finite", "out_of_bounds", "nondeterministic"))
    ex = stats["execution"]
    assert ex["require_grad"] is True and ex["enabled"] is True
    assert ex["executed"] == ex["passed"] + sum(ex["rejected"].values())
    assert sum(ex["adjoint"].values()) == ex["passed"] + ex["not_executed"]
    assert ex["adjoint"]["passed"] >= 10
    per_cat = stats["execution_by_category"]
    assert sum(v.get("executed", 0) for v in per_cat.values()) == ex["executed"]
    for reason, n in ex["rejected"].items():
        assert sum(v.get(reason, 0) for v in per_cat.values()) == n

    path = out / ADJOINT_FAILURES
    failures = [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []
    assert len(failures) == ex["adjoint"]["failed"] == stats["adjoint_failures"]
    assert len({f["id"] for f in failures}) == len(failures)
    written = {rec["id"] for rec in rows}
    assert all(not f["written"] and f["id"] not in written for f in failures)
    assert all(f["max_abs_err"] is not None and f["kernel_type"] in per_cat for f in failures)
