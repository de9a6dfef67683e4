"""``synth export --format chat --task implement|repair`` (issue 16): rows, their reproducibility with
Warp, and splits that stay leak-free across tasks."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from warp_synth.eval.export.splits import plan_split
from warp_synth.eval.export.tasks import SHOWN_VALUES, RepairLinks, kernel_signature
from warp_synth.extract.verify import replay_records
from warp_synth.records import RejectRecord

pytestmark = pytest.mark.timeout(600)
ROOT = Path(__file__).resolve().parents[3]


def synth(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "warp_synth.synth.cli", *args], capture_output=True, text=True,
                          cwd=ROOT, timeout=600)


def test_kernel_signature_is_the_decorator_and_def_lines() -> None:
    src = ('import warp as wp\n\n@wp.func\ndef h(x: float) -> float:\n    return x\n\n'
           '@wp.kernel(enable_backward=False)\ndef k(a: wp.array(dtype=float),\n      b: wp.array(dtype=float)):\n'
           '    """doc"""\n    b[wp.tid()] = h(a[wp.tid()])\n')
    assert kernel_signature(src, "k") == ("@wp.kernel(enable_backward=False)\ndef k(a: wp.array(dtype=float),\n"
                                          "      b: wp.array(dtype=float)):")
    assert kernel_signature(src, "missing") is None
    assert kernel_signature("def (:", "k") is None


def test_implement_rows_carry_signature_and_examples_that_reproduce(tmp_path: Path) -> None:
    out = tmp_path / "run"
    r = synth("run", "--category", "arithmetic,atomic,vector", "--n", "9", "--offline", "--out", str(out),
              "--no-progress")
    assert r.returncode == 0, r.stderr
    exp = tmp_path / "implement"
    r = synth("export", str(out), "--format", "chat", "--task", "implement", "--out", str(exp))
    assert r.returncode == 0, r.stderr
    records = {json.loads(x)["id"]: json.loads(x) for p in out.glob("shard-*.jsonl") for x in p.read_text().splitlines()}
    rows = [json.loads(x) for x in (exp / "train.jsonl").read_text().splitlines()]
    manifest = json.loads((exp / "export.json").read_text())
    passed = [x for x in records.values() if x["execution"]["status"] == "passed" and x["description"]]
    assert len(rows) == len(passed) >= 6
    assert sum(manifest["skipped"].values()) == len(records) - len(rows)
    replays = []
    for row in rows:
        meta = row["metadata"]
        rec = records[meta["id"]]
        system, user, assistant = (m["content"] for m in row["messages"])
        assert "You write NVIDIA Warp kernels" in system
        assert assistant == rec["python_source"].rstrip("\n")
        assert rec["description"] in user and meta["signature"] in user
        assert meta["signature"].startswith("@wp.kernel") and f"def {rec['kernel_name']}(" in meta["signature"]
        ex = rec["execution"]
        assert meta["execution"] == {k: ex[k] for k in ("seed", "dim", "inputs", "outputs")}
        assert f"dim={json.dumps(ex['dim'])}" in user
        for name, value in ex["outputs"].items():  # the prompt shows each output's first values
            shown = ", ".join(json.dumps(v) for v in value["data"][:SHOWN_VALUES])
            assert f"- {name}: array(dtype={value['dtype']}, shape={value['shape']}): [{shown}" in user
        replays.append({"id": meta["id"], "python_source": assistant + "\n", "execution": meta["execution"]})
    results = replay_records(replays, workers=2)  # launching the kernel on the row's inputs gives its outputs
    assert all(v.ok for v in results), [v.message for v in results if not v.ok]


def _reject(rid: str, source: str, chain: str | None, parent: str | None = None, reason: str = "codegen"):
    return RejectRecord(id=rid, kernel_type="arithmetic", origin="llm", python_source=source, reason=reason,
                        message="boom", line=1, generated_at="", parent_id=parent,
                        chain={"id": chain, "round": 0} if chain else None)


K = "import warp as wp\n\n@wp.kernel\ndef {name}(a: wp.array(dtype=float)):\n    a[wp.tid()] = {body}\n"


def test_a_record_and_the_broken_versions_it_repairs_share_a_split() -> None:
    """Record B's broken version has record A's skeleton: the plan puts A and B in one split (without the
    link they fall apart), so neither task's rows leak a skeleton into another split."""
    a = ("A", "arithmetic", K.format(name="ka", body="wp.sin(a[wp.tid()]) * 2.0"))
    b = ("B", "arithmetic", K.format(name="kb", body="wp.cos(a[wp.tid()]) + 1.0"))
    others = [(f"o{i}", "arithmetic", K.format(name=f"k{i}", body=" + ".join(["a[wp.tid()]"] * (i + 2))))
              for i in range(30)]
    broken_b = K.format(name="kb", body="wp.sin(a[wp.tid()]) * 3.0")  # A's skeleton (a literal differs)
    links = RepairLinks.of([_reject("x1", broken_b, "c1"), _reject("x2", "evil", "c1", reason="unsafe")])
    assert links.unusable == 1
    meta = {"A": {}, "B": {"chain": {"id": "c1", "round": 1}}}
    ratios = [("train", 0.5), ("test", 0.5)]
    apart = [plan_split([a, b, *others], ratios, seed=s) for s in range(8)]
    assert any(p.split_of("A") != p.split_of("B") for p in apart)  # without the link they can part
    for s in range(8):
        items = [(rid, c, (src, *links.sources_of(rid, meta.get(rid, {})))) for rid, c, src in [a, b, *others]]
        plan = plan_split(items, ratios, seed=s)
        assert plan.split_of("A") == plan.split_of("B")
    assert [k for k, _ in links.broken_versions("B", meta["B"])] == ["llm-chain"]
    assert links.broken_versions("A", {}) == []


def test_a_rejected_mutant_is_repaired_by_its_parent_record() -> None:
    links = RepairLinks.of([_reject("m1", "broken", None, parent="P")])
    assert [(k, r.id) for k, r in links.broken_versions("P", {})] == [("revert", "m1")]
