"""`synth run` end to end: exactly N unique records, reproducible, resumable after kill -9."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time

import pytest

from tests.support.cli import read_records, run_synth, start_synth
from warp_synth.identity import normalized_source

pytestmark = pytest.mark.timeout(900)

synth, records = run_synth, read_records


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--category", "bogus", "--n", "5"], "synth run: error: unknown category 'bogus'; choose from "
         "arithmetic, conditional, loop, math, vector, atomic, nested, multi_cond, combined, scalar_param, spatial, linalg, "
         "random, bitwise, geometry, structs, functions, tiles, volumes, 'seed' (the seed's ten), 'all', or a comma-separated list of these"),
        (["--category", "atomic,loops", "--n", "5"], "synth run: error: unknown category 'loops'; choose from "
         "arithmetic, conditional, loop, math, vector, atomic, nested, multi_cond, combined, scalar_param, spatial, linalg, "
         "random, bitwise, geometry, structs, functions, tiles, volumes, 'seed' (the seed's ten), 'all', or a comma-separated list of these"),
        (["--category", "atomic", "--n", "0"], "synth run: error: --n must be a positive number of records, got 0"),
        (["--n", "-3"], "synth run: error: --n must be a positive number of records, got -3"),
        (["--n", "ten"], "synth run: error: argument --n: invalid int value: 'ten' (see 'synth run --help')"),
    ],
)
def test_bad_arguments_are_one_line_exit_2(tmp_path, args, message):
    r = synth("run", *args, "--out", str(tmp_path / "o"))
    assert r.returncode == 2
    assert r.stderr.strip() == message
    assert not (tmp_path / "o").exists()


def test_foreign_or_unwritable_out_is_refused_and_untouched(tmp_path):
    other = tmp_path / "other"
    other.mkdir()
    (other / "notes.txt").write_text("keep me")
    r = synth("run", "--n", "3", "--out", str(other))
    assert r.returncode == 2 and r.stderr.strip() == (
        f"synth run: error: {other} is not empty and is not a warp-synth run folder (found 'notes.txt'); "
        "use an empty or new --out")
    assert [p.name for p in other.iterdir()] == ["notes.txt"] and (other / "notes.txt").read_text() == "keep me"

    blocker = tmp_path / "file"
    blocker.write_text("x")
    r = synth("run", "--n", "3", "--out", str(blocker / "sub"))
    assert r.returncode == 2 and r.stderr.startswith(f"synth run: error: cannot create output folder {blocker / 'sub'}")
    assert len(r.stderr.strip().splitlines()) == 1


def test_a_second_run_on_the_same_out_is_refused_while_the_first_finishes(tmp_path):
    out = tmp_path / "o"
    args = ["run", "--category", "loop", "--n", "40", "--seed", "3", "--workers", "1", "--batch-size", "8",
            "--offline", "--no-progress", "--out", str(out)]
    first = start_synth(*args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while not (out / "settings.json").exists() and first.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    second = synth(*args)
    _, first_err = first.communicate(timeout=600)
    assert first.returncode == 0, first_err
    assert second.returncode == 2
    assert second.stderr.strip() == (f"synth run: error: {out} is in use by another synth run (pid {first.pid}); "
                                     "wait for it to finish or use another --out")
    rows = records(out)
    assert len(rows) == 40 and len({r["id"] for r in rows}) == 40
    stats = json.loads((out / "stats.json").read_text())
    engine = stats["engine"]
    worker_cpu = sum(engine[k] for k in ("startup_s", "codegen_s", "cpu_compile_s", "cuda_compile_s"))
    assert stats["generate_s"] > 0 and engine["cpu_compile_s"] > 0 and engine["cuda_compile_s"] > 0
    assert worker_cpu <= stats["elapsed_s"]  # CPU seconds of one worker never exceed the run's wall time


@pytest.mark.slow
def test_kill_9_resume_reaches_exactly_n_and_matches_an_uninterrupted_run(tmp_path):
    n = 48
    base = ["run", "--category", "all", "--n", str(n), "--seed", "11", "--no-progress", "--offline"]
    common = [*base, "--batch-size", "6"]
    # uninterrupted reference run, with a different worker count and batch size
    ref = tmp_path / "ref"
    r = synth(*base, "--batch-size", "12", "--workers", "1", "--out", str(ref))
    assert r.returncode == 0, r.stderr
    ref_ids = {rec["id"] for rec in records(ref)}
    assert len(ref_ids) == n

    out = tmp_path / "killed"
    proc = start_synth(*common, "--out", str(out), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                       start_new_session=True)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and len(records(out) if out.exists() else []) < n // 3:
        time.sleep(0.2)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    partial = records(out)
    assert n // 3 <= len(partial) < n
    shard = sorted(out.glob("shard-*.jsonl"))[-1]
    with open(shard, "a") as f:  # a torn write: half a record, no newline
        f.write('{"id": "torn", "kernel_name": "half')

    r = synth(*common, "--out", str(out))
    assert r.returncode == 0, r.stderr
    assert "repaired a torn last line" in r.stderr and "resuming" in r.stderr
    rows = records(out)
    ids = [rec["id"] for rec in rows]
    assert len(rows) == n and len(set(ids)) == n
    assert len({normalized_source(rec["python_source"]) for rec in rows}) == n
    assert set(ids) == ref_ids  # same seed, same kernels, whatever the interruption
    stats = json.loads((out / "stats.json").read_text())
    assert stats["records"] == n and stats["finished"] is True
    assert sum(v["accepted"] for v in stats["per_category"].values()) >= n - len(partial)

    before = {p.name: p.read_bytes() for p in out.iterdir() if p.suffix == ".jsonl"}
    r = synth(*common, "--out", str(out))
    assert r.returncode == 0
    assert r.stderr.strip() == f"synth run: {out} already holds the {n} records of this run; nothing to do"
    assert before == {p.name: p.read_bytes() for p in out.iterdir() if p.suffix == ".jsonl"}
