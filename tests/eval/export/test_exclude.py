"""``--exclude REF`` (issue 16): planted copies of reference kernels (exact, renamed, lightly edited)
are all dropped by ``synth export`` and never written by ``synth run``; ``synth eval --reference``
reports the planted rate before."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

from warp_synth.eval.decontam import Reference
from warp_synth.records import Record
from warp_synth.store import Store

pytestmark = pytest.mark.timeout(900)
ROOT = Path(__file__).resolve().parents[3]


def synth(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "warp_synth.synth.cli", *args], capture_output=True, text=True,
                          cwd=ROOT, timeout=900)


def read(out: Path) -> list[Record]:
    return [Record.from_json_dict(json.loads(x)) for p in sorted(out.glob("shard-*.jsonl"))
            for x in p.read_text().splitlines()]


class _Rename(ast.NodeTransformer):
    """Every user identifier (not ``wp``, builtins or attributes) gets a new name."""

    keep = {"wp", "warp", "float", "int", "range", "bool", "len", "min", "max", "abs"}

    def _new(self, name: str) -> str:
        return name if name in self.keep else f"renamed_{name}"

    def visit_Name(self, node: ast.Name) -> ast.AST:
        node.id = self._new(node.id)
        return node

    def visit_arg(self, node: ast.arg) -> ast.AST:
        node.arg = self._new(node.arg)
        self.generic_visit(node)
        return node

    def visit_FunctionDef(self, node: ast.FunctionDef) -> ast.AST:
        node.name = self._new(node.name)
        self.generic_visit(node)
        return node


def renamed(src: str) -> str:
    return ast.unparse(_Rename().visit(ast.parse(src))) + "\n"


def edited(src: str) -> str:
    """A constant changed and a statement added at the top of the kernel's body."""
    tree = ast.parse(src)
    kernel = next(n for n in tree.body if isinstance(n, ast.FunctionDef)
                  and any("kernel" in ast.unparse(d) for d in n.decorator_list))
    kernel.body.insert(1, ast.parse("unused_extra = 1.0").body[0])
    for node in ast.walk(kernel):
        if isinstance(node, ast.Constant) and isinstance(node.value, float):
            node.value += 0.5
            break
    return ast.unparse(tree) + "\n"


def test_planted_copies_are_reported_then_excluded(tmp_path: Path) -> None:
    ref_run, base_run = tmp_path / "ref_run", tmp_path / "base_run"
    for out, seed, n in ((ref_run, "11", "6"), (base_run, "12", "14")):
        r = synth("run", "--category", "atomic,vector,spatial", "--n", n, "--seed", seed, "--offline", "--out",
                  str(out), "--no-progress", "--no-execute")
        assert r.returncode == 0, r.stderr
    bench = tmp_path / "bench"  # the benchmark to hold out: a folder of .py files
    bench.mkdir()
    refs = read(ref_run)
    for i, rec in enumerate(refs):
        (bench / f"task_{i}.py").write_text(rec.python_source)
    base = read(base_run)
    ref = Reference.from_path(bench)
    assert not any(ref.match(r.python_source) for r in base)  # the unrelated kernels match nothing

    data = tmp_path / "data"  # the base records plus 3 planted copies of every reference kernel
    store = Store.open(data, {"planted": True})
    planted: list[Record] = []
    for i, rec in enumerate(refs):
        for kind, src in (("exact", rec.python_source), ("renamed", renamed(rec.python_source)),
                          ("edited", edited(rec.python_source))):
            planted.append(Record(id=f"planted-{kind}-{i}", kernel_name=rec.kernel_name, kernel_type=rec.kernel_type,
                                  python_source=src, ir=rec.ir, origin="template", generated_at=""))
    assert store.append(base + planted) == len(base) + len(planted)
    store.close()

    report = tmp_path / "report"
    r = synth("eval", str(data), "--reference", str(bench), "--out", str(report))
    assert r.returncode == 0, r.stderr
    section = json.loads((report / "report.json").read_text())["contamination"]
    assert section["rate"] == pytest.approx(len(planted) / (len(base) + len(planted)), abs=1e-3)

    out = tmp_path / "export"
    r = synth("export", str(data), "--format", "chat", "--exclude", str(bench), "--split", "train=0.8,test=0.2",
              "--out", str(out))
    assert r.returncode == 0, r.stderr
    ids = {json.loads(x)["metadata"]["id"] for f in out.glob("*.jsonl") for x in f.read_text().splitlines()}
    assert ids == {r.id for r in base}  # every planted copy gone, every unrelated record kept
    manifest = json.loads((out / "export.json").read_text())
    assert manifest["excluded"]["records"] == len(planted)
    assert manifest["settings"]["exclude"] == str(bench)

    # synth run with the same seed as the reference run: every kernel it would repeat is left out
    again = tmp_path / "again"
    r = synth("run", "--category", "atomic,vector,spatial", "--n", "6", "--seed", "11", "--offline", "--out",
              str(again), "--no-progress", "--no-execute", "--exclude", str(bench))
    assert r.returncode == 0, r.stderr
    written = read(again)
    assert len(written) == 6 and not any(ref.match(x.python_source) for x in written)
    stats = json.loads((again / "stats.json").read_text())
    assert stats["rejected"]["excluded"] >= len(refs)  # the first candidates of seed 11 are the reference's
    assert stats["exclude"]["excluded"] == stats["rejected"]["excluded"]
    assert stats["exclude"]["kernels"] == len(refs)


def test_exclude_of_a_missing_reference_is_one_line(tmp_path: Path) -> None:
    r = synth("run", "--category", "atomic", "--n", "2", "--offline", "--out", str(tmp_path / "o"),
              "--exclude", str(tmp_path / "missing"))
    assert r.returncode == 2 and r.stderr.strip().count("\n") == 0 and "no such reference" in r.stderr
    assert not (tmp_path / "o").exists()
