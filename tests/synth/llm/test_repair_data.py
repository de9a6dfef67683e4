"""Repair data from an LLM run (issue 16): ``--keep-rejects`` keeps the rejected rounds of each repair
chain in ``OUT/rejects/``, ``synth export --task repair`` pairs them with the record that ends the
chain, and descriptions the model writes are stored with the record."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

from tests.support.cli import read_records, run_synth
from tests.support.openai_server import OpenAIServer, Response
from warp_synth.identity import record_id
from warp_synth.synth.llm.messages import REPAIR_MARKER

pytestmark = pytest.mark.timeout(600)

BROKEN_LINE = "    b[i] = v + 1"  # float + int: Warp's codegen rejects it ("Input types must be the same")


def kernel(name: str, c: float, *, broken: bool = False, terms: int = 1) -> str:
    """``terms`` > 1 gives another skeleton (the good kernels must not all be one split group)."""
    rhs = BROKEN_LINE if broken else "    b[i] = " + " + ".join([f"v * {c}"] * terms)
    return (f"import warp as wp\n\n@wp.kernel\ndef {name}(a: wp.array(dtype=float), b: wp.array(dtype=float)):\n"
            f"    i = wp.tid()\n    v = wp.sin(a[i]) + {c}\n{rhs}\n")


def reply(code: str, description: str | None = None) -> Response:
    head = f"Description: {description}\n\n" if description else "Here is the kernel:\n\n"
    return Response.chat(f"{head}```python\n{code}```\n")


class Script:
    """First replies: a broken kernel (fixed on the second repair), a hostile one, then good kernels; the
    broken kernel's first repair is still broken."""

    def __init__(self, canary: Path) -> None:
        self.hostile = (f"import warp as wp\nopen({str(canary)!r}, 'w').write('pwned')\n\n@wp.kernel\n"
                        "def evil(a: wp.array(dtype=float)):\n    a[wp.tid()] = 1.0\n")
        self.lock = threading.Lock()
        self.first: dict[str, Response] = {}
        self.n = 0

    def __call__(self, request: dict, attempt: int) -> Response:
        text = json.dumps(request["messages"])
        if REPAIR_MARKER in text:  # the first repair keeps the bug; the second fixes it
            if "7.25" in text:
                return reply(kernel("beta", 7.5), "Writes sin(a) + 7.5, scaled by 7.5, into b.")
            return reply(kernel("beta", 7.25, broken=True))  # another kernel (the same one again is a duplicate)
        with self.lock:
            if text not in self.first:
                plan = [reply(kernel("beta", 7.5, broken=True), "Adds 7.5 to sin(a) and writes it to b."),
                        reply(self.hostile)]
                self.first[text] = plan[self.n] if self.n < len(plan) else reply(
                    kernel(f"good{self.n}", 1.0 + self.n, terms=self.n),
                    f"Writes (sin(a) + {1.0 + self.n}) * {1.0 + self.n} to b, summed {self.n} times.")
                self.n += 1
            return self.first[text]


def rejects(out: Path) -> list[dict]:
    return [json.loads(x) for p in sorted((out / "rejects").glob("shard-*.jsonl")) for x in p.read_text().splitlines()]


def test_llm_repair_chains_are_kept_and_exported(tmp_path: Path) -> None:
    canary = tmp_path / "canary"
    out = tmp_path / "run"
    with OpenAIServer(Script(canary)) as server:
        r = run_synth("run", "--category", "arithmetic", "--n", "3", "--out", str(out), "--no-progress",
                      "--llm-base-url", server.base_url, "--model", "test-model", "--concurrency", "1",
                      "--mutation-rate", "0", "--repair-rounds", "2", "--keep-rejects")
    assert r.returncode == 0, r.stderr
    assert not canary.exists()
    recs = read_records(out)
    by_name = {x["kernel_name"]: x for x in recs}
    beta = by_name["beta"]
    assert beta["origin"] == "llm-repair" and beta["metadata"]["repair_rounds"] == 2
    chain = beta["metadata"]["chain"]
    assert chain["round"] == 2 and len(chain["id"]) == 16
    assert beta["description"] == "Writes sin(a) + 7.5, scaled by 7.5, into b."
    assert beta["metadata"]["description_by"] == {"by": "llm", "approximate": False, "model": "test-model"}
    good = [x for x in recs if x["kernel_name"].startswith("good")]
    assert good and all(x["description"].startswith("Writes (sin(a) + ") for x in good)

    kept = rejects(out)
    in_chain = sorted((x for x in kept if x["chain"] and x["chain"]["id"] == chain["id"]),
                      key=lambda x: x["chain"]["round"])
    assert [x["chain"]["round"] for x in in_chain] == [0, 1]
    for x in in_chain:  # field by field
        assert set(x) == {"id", "kernel_type", "origin", "python_source", "reason", "message", "line",
                          "generated_at", "parent_id", "chain", "metadata"}
        assert x["kernel_type"] == "arithmetic" and x["reason"] == "codegen"
        assert x["id"] == record_id(x["python_source"])
        assert "Input types must be the same" in x["message"]
        assert x["python_source"].splitlines()[x["line"] - 1] == BROKEN_LINE
        assert x["metadata"]["model"] == "test-model" and "provenance" in x["metadata"]
    assert [x["origin"] for x in in_chain] == ["llm", "llm-repair"]
    hostile = [x for x in kept if x["reason"] == "unsafe"]
    assert len(hostile) == 1 and "pwned" in hostile[0]["python_source"]
    # nothing rejected is in the accepted shards
    assert not {x["id"] for x in kept} & {x["id"] for x in recs}
    assert all("pwned" not in x["python_source"] and BROKEN_LINE not in x["python_source"] for x in recs)
    stats = json.loads((out / "stats.json").read_text())
    assert stats["rejects_kept"] == len(kept) == 3

    exp = tmp_path / "repair"
    r = run_synth("export", str(out), "--format", "chat", "--task", "repair", "--out", str(exp))
    assert r.returncode == 0, r.stderr
    lines = [json.loads(x) for x in (exp / "train.jsonl").read_text().splitlines()]
    assert len(lines) == 2  # the chain's two broken rounds; the hostile reply makes no row
    for line, broken in zip(lines, in_chain, strict=True):
        system, user, assistant = line["messages"]
        assert [m["role"] for m in line["messages"]] == ["system", "user", "assistant"]
        assert "fix NVIDIA Warp kernels" in system["content"]
        assert broken["python_source"].rstrip("\n") in user["content"]
        assert f"codegen at line {broken['line']}: `{BROKEN_LINE.strip()}`" in user["content"]
        assert "Input types must be the same" in user["content"]
        assert assistant["content"] == beta["python_source"].rstrip("\n")
        meta = line["metadata"]
        assert meta["id"] == beta["id"] and meta["broken_id"] == broken["id"] and meta["task"] == "repair"
        assert meta["kind"] == "llm-chain" and meta["reason"] == "codegen" and meta["line"] == broken["line"]
        assert meta["chain"] == broken["chain"]
    manifest = json.loads((exp / "export.json").read_text())
    assert manifest["task"] == "repair" and manifest["lines"] == {"train": 2}
    assert manifest["skipped"] == {"no_broken_version": len(recs) - 1}
    assert manifest["rejects_read"]["records"] == 3


def test_repair_export_without_rejects_is_a_one_line_error(tmp_path: Path) -> None:
    out = tmp_path / "run"
    r = run_synth("run", "--category", "arithmetic", "--n", "2", "--offline", "--out", str(out), "--no-progress")
    assert r.returncode == 0, r.stderr
    r = run_synth("export", str(out), "--format", "chat", "--task", "repair", "--out", str(tmp_path / "x"))
    assert r.returncode == 2
    assert r.stderr.strip().count("\n") == 0 and "--keep-rejects" in r.stderr
    assert not (tmp_path / "x").exists()
    r = run_synth("export", str(out), "--format", "parquet", "--task", "repair", "--out", str(tmp_path / "y"))
    assert r.returncode == 2 and "--task applies to --format chat only" in r.stderr


def test_the_three_tasks_share_leak_free_splits(tmp_path: Path) -> None:
    """translate, implement and repair exports of one folder with one --split/--seed: a record's rows are
    in one split whatever the task, and no normalised source or skeleton of any row's code (the kernel,
    and the broken version a repair row shows) is in two splits."""
    from warp_synth.identity import normalized_and_skeleton

    out = tmp_path / "run"
    with OpenAIServer(Script(tmp_path / "canary")) as server:
        r = run_synth("run", "--category", "arithmetic", "--n", "6", "--out", str(out), "--no-progress",
                      "--llm-base-url", server.base_url, "--model", "test-model", "--concurrency", "1",
                      "--mutation-rate", "0", "--keep-rejects")
    assert r.returncode == 0, r.stderr
    split_of: dict[str, str] = {}
    keys: dict[str, set[str]] = {}
    for task in ("translate", "implement", "repair"):
        exp = tmp_path / task
        r = run_synth("export", str(out), "--format", "chat", "--task", task, "--split", "train=0.5,test=0.5",
                      "--seed", "3", "--out", str(exp))
        assert r.returncode == 0, r.stderr
        for f in exp.glob("*.jsonl"):
            for x in f.read_text().splitlines():
                row = json.loads(x)
                rid = row["metadata"]["id"]
                assert split_of.setdefault(rid, f.stem) == f.stem, (task, rid)
                user, assistant = row["messages"][1]["content"], row["messages"][2]["content"]
                codes = [assistant] if task != "translate" else [user.split("\n", 1)[1].rsplit("\n\n###", 1)[0]]
                if task == "repair":
                    codes.append(user.split("```python\n", 1)[1].split("\n```", 1)[0])
                for code in codes:
                    keys.setdefault(f.stem, set()).update(normalized_and_skeleton(code))
    assert len(set(split_of.values())) == 2  # both splits got rows
    assert not keys["train"] & keys["test"]
