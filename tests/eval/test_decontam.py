"""Decontamination: planted copies of reference kernels (exact, renamed, lightly edited) are found
with the right kind, unrelated kernels are not, ``synth eval --reference`` reports the planted share,
every REF form loads and a bad REF is one line."""

from __future__ import annotations

import ast
import builtins
import json
import re
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

from warp_synth.eval import decontam_report as dr
from warp_synth.eval.decontam import DecontamError, Reference, kernel_units
from warp_synth.eval.digest import _CANON_TOKEN_RE, digest_record
from warp_synth.eval.report import evaluate
from warp_synth.identity import normalized_source, skeleton
from warp_synth.records import Record
from warp_synth.shards import find_shards, iter_records
from warp_synth.synth.cli import main as synth_main

pytestmark = pytest.mark.timeout(300)

_KEEP = frozenset(dir(builtins)) | {"wp", "warp", "math", "np"}


class _RenameAll(ast.NodeTransformer):
    """Every user identifier gets another name (struct fields are attributes and stay)."""

    def _n(self, name: str) -> str:
        return name if name in _KEEP else f"q_{name}_x"

    def visit_Name(self, node: ast.Name) -> ast.AST:
        node.id = self._n(node.id)
        return node

    def visit_arg(self, node: ast.arg) -> ast.AST:
        node.arg = self._n(node.arg)
        self.generic_visit(node)
        return node

    def visit_FunctionDef(self, node: ast.FunctionDef) -> ast.AST:
        node.name = self._n(node.name)
        self.generic_visit(node)
        return node

    def visit_ClassDef(self, node: ast.ClassDef) -> ast.AST:
        node.name = self._n(node.name)
        for s in node.body:
            if isinstance(s, ast.AnnAssign):
                s.annotation = self.visit(s.annotation)
        return node


def renamed(src: str) -> str:
    out = ast.unparse(_RenameAll().visit(ast.parse(src)))
    assert normalized_source(out) == normalized_source(src) and out != src
    return out


def constant_changed(src: str) -> str:
    """The first float literal of the kernel body + 0.25 (a new skeleton-equal kernel)."""
    tree = ast.parse(src)
    kernel = next(n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef) and "kernel" in ast.unparse(n.decorator_list[0]))
    for stmt in kernel.body:
        for n in ast.walk(stmt):
            if isinstance(n, ast.Constant) and isinstance(n.value, float):
                n.value += 0.25
                out = "import warp as wp\n\n" + ast.unparse(tree).replace("import warp as wp\n", "", 1)
                assert normalized_source(out) != normalized_source(src) and skeleton(out) == skeleton(src)
                return out
    raise AssertionError("no float literal in the kernel body")


def statement_added(src: str) -> str:
    """A new variable right after ``wp.tid()``: every later name is numbered one further on."""
    lines = src.rstrip("\n").split("\n")
    k = next(i for i, line in enumerate(lines) if "wp.tid()" in line)
    indent = lines[k][: len(lines[k]) - len(lines[k].lstrip())]
    out = "\n".join([*lines[: k + 1], f"{indent}extra_scale = 0.5", *lines[k + 1 :]]) + "\n"
    assert skeleton(out) != skeleton(src)
    return out


def within_module(src: str, k: ModuleType) -> str:
    """The reference kernel in a module that also defines an unrelated helper and kernel K1."""
    helper = "@wp.func\ndef unrelated_helper(x: float) -> float:\n    return x * x - 3.0\n\n\n"
    return src.replace("import warp as wp\n", "import warp as wp\n\n" + helper, 1) + "\n\n" + k.K1.split("\n", 1)[1]


def _units_len(src: str) -> int:
    return len(_CANON_TOKEN_RE.findall(kernel_units(src)[0].norm))


UNRELATED_A = '''import warp as wp


@wp.kernel
def mat_rows(m: wp.array2d(dtype=wp.float32), rows: wp.array(dtype=wp.float32), n: int):
    i = wp.tid()
    s = float(0.0)
    for j in range(n):
        s += m[i, j] * m[i, j]
    rows[i] = wp.sqrt(s)
'''

UNRELATED_B = '''import warp as wp


@wp.kernel
def normals(p: wp.array(dtype=wp.vec3), q: wp.array(dtype=wp.vec3), nrm: wp.array(dtype=wp.vec3)):
    i = wp.tid()
    e = wp.cross(p[i], q[i])
    nrm[i] = wp.normalize(e) if wp.length(e) > 1.0e-6 else wp.vec3(0.0, 0.0, 1.0)
'''


def _reference_rows(atomic_run: Path, k: ModuleType) -> list[tuple[str, str]]:
    rows = [(r.id, r.python_source) for r in iter_records(find_shards([atomic_run]))]
    return [*rows, ("hand-settle", k.K3), ("hand-spin", k.REF)]


@pytest.fixture
def reference_rows(atomic_run: Path, k: ModuleType) -> list[tuple[str, str]]:
    return _reference_rows(atomic_run, k)


@pytest.fixture
def reference_dir(reference_rows: list[tuple[str, str]], k: ModuleType, tmp_path: Path) -> Path:
    d = tmp_path / "bench"
    k.write_jsonl(d / "shard-00000.jsonl", [json.dumps(k.record(0, src, "atomic", "mined") | {"id": rid})
                                             for rid, src in reference_rows])
    return d


def planted(reference_rows: list[tuple[str, str]], k: ModuleType) -> tuple[list[tuple[str, str, str | None, str | None]], int]:
    """(record id, source, expected kind, expected reference id) for planted and unrelated kernels."""
    atomic = reference_rows[:-2]
    by_len = sorted(atomic, key=lambda r: -_units_len(r[1]))
    with_float = [r for r in atomic if re.search(r"\d\.\d", r[1].split("wp.tid()", 1)[1])]
    rows: list[tuple[str, str, str | None, str | None]] = []
    for i, (rid, src) in enumerate(atomic[:3]):
        rows.append((f"exact{i}", src, "exact", rid))
    rid, src = atomic[3]
    rows.append(("exact-comments", src.replace("wp.tid()", "wp.tid()  # thread index").replace(
        "@wp.kernel\n", '@wp.kernel\n', 1).replace("):\n", '):\n    """Copied."""\n', 1), "exact", rid))
    for i, (rid, src) in enumerate(atomic[4:7]):
        rows.append((f"renamed{i}", renamed(src), "exact", rid))
    rows.append(("renamed-struct", renamed(k.K3), "exact", "hand-settle"))
    for i, (rid, src) in enumerate(with_float[:3]):
        rows.append((f"constant{i}", constant_changed(src), "skeleton", rid))
    rid, src = with_float[3]
    rows.append(("renamed-constant", renamed(constant_changed(src)), "skeleton", rid))
    for i, (rid, src) in enumerate(by_len[:4]):
        rows.append((f"added{i}", statement_added(src), "minhash", rid))
    rid, src = atomic[7]
    rows.append(("in-module", within_module(src, k), "exact", rid))
    # K3 with its helper after the kernel and an unused helper: the unit is the kernel and what it uses
    k3 = k.K3.replace("@wp.func\ndef damp", "@wp.func\ndef unused(x: float) -> float:\n    return x\n\n\n@wp.func\ndef damp")
    rows.append(("helper-moved", k3, "exact", "hand-settle"))
    n_planted = len(rows)
    for name, src in (("u-K1", k.K1), ("u-K2", k.K2), ("u-K4", k.K4), ("u-A", UNRELATED_A), ("u-B", UNRELATED_B)):
        rows.append((name, src, None, None))
    return rows, n_planted


def test_every_planted_copy_matches_with_its_kind(reference_rows: list[tuple[str, str]], k: ModuleType) -> None:
    ref = Reference.from_sources(reference_rows)
    assert len(ref) == len(reference_rows)
    rows, n_planted = planted(reference_rows, k)
    got = {rid: ref.match(src) for rid, src, _, _ in rows}
    for rid, _, kind, ref_id in rows:
        m = got[rid]
        if kind is None:
            assert m is None, (rid, m)
        else:
            assert m is not None and (m.kind, m.ref_id) == (kind, ref_id), (rid, m)
    assert all(got[r].jaccard == 1.0 for r, _, kind, _ in rows if kind == "exact")
    assert all(got[r].jaccard_blind >= 0.8 for r, _, kind, _ in rows if kind == "minhash")
    assert got["in-module"].kernel == dict(reference_rows)[got["in-module"].ref_id].split("def ")[1].split("(")[0]
    assert n_planted == 18


def test_whole_module_matching_would_miss_the_planted_kernel(reference_rows: list[tuple[str, str]],
                                                             k: ModuleType) -> None:
    """Why units: a copy inside a larger module is not a near copy of the module it came from."""
    rid, src = reference_rows[7]
    whole = Reference.from_sources([(rid, "def f():\n    pass\n" + src)])  # one unit per kernel still
    assert whole.match(within_module(src, k)).kind == "exact"
    from warp_synth.eval.digest import digest_record as dig

    a = dig(Record("a", "k", "atomic", src, {}, "mined", ""), frozenset()).minhash
    b = dig(Record("b", "k", "atomic", within_module(src, k), {}, "mined", ""), frozenset()).minhash
    assert np.count_nonzero(a == b) / len(a) < 0.8  # module-level MinHash would not call it a copy


def test_kernel_units_cut_kernels_with_their_helpers() -> None:
    src = '''import warp as wp

SCALE = wp.constant(2.0)


@wp.func
def sq(x: float) -> float:
    return x * x * SCALE


@wp.func
def unused(x: float) -> float:
    return x


@wp.kernel
def a(xs: wp.array(dtype=float)):
    i = wp.tid()
    xs[i] = sq(xs[i])


def host():
    @wp.kernel(enable_backward=False)
    def b(ys: wp.array(dtype=float)):
        j = wp.tid()
        ys[j] = sq(ys[j]) + 1.0
    return b
'''
    units = kernel_units(src)
    assert [u.name for u in units] == ["a", "b"]
    want_a = "def a(xs: wp.array(dtype=float)):\n    i = wp.tid()\n    xs[i] = sq(xs[i])\n" \
             "def sq(x: float) -> float:\n    return x * x * SCALE\nSCALE = wp.constant(2.0)\n"
    assert units[0].norm == normalized_source(want_a)
    assert units[1].norm.startswith("def v0(v1: wp.array(dtype=float)):") and "v4 * v4 * v5" in units[1].norm
    assert units[1].skel == skeleton(units[1].norm)
    bare = "def f(a, b):\n    return a * 2.0 + b\n"
    assert [u.norm for u in kernel_units(bare)] == [normalized_source(bare)]
    assert kernel_units(bare, whole_module=False) == []
    assert kernel_units("def broken(:\n")[0].parsed is False


def test_signature_is_the_one_eval_digest_computes() -> None:
    """A source that is one unit as it stands (no import, no decorator): the same MinHash as the report's."""
    bare = "def f(xs, ys):\n    i = 3\n    ys[i] = xs[i] * 2.0 + wp.sin(xs[i] * 0.5) - 1.0\n"
    d = digest_record(Record("x", "f", "arithmetic", bare, {}, "mined", ""), frozenset())
    assert np.array_equal(kernel_units(bare)[0].signature(), d.minhash)


def test_eval_reports_the_planted_rate(reference_rows: list[tuple[str, str]], reference_dir: Path, k: ModuleType,
                                      tmp_path: Path) -> None:
    rows, n_planted = planted(reference_rows, k)
    data = tmp_path / "data"
    k.write_jsonl(data / "shard-00000.jsonl",
                  [json.dumps(k.record(i, src, "atomic", "template") | {"id": rid}) for i, (rid, src, _, _) in enumerate(rows)])
    r = evaluate([data], reference_dir, tmp_path / "out", progress=False, workers=1, builtin_names=k.BUILTINS)
    c = r["datasets"][0]["contamination"]
    assert r["contamination"] == c  # one DIR: also at the top level
    assert (c["records"], c["matched"]) == (len(rows), n_planted)
    assert c["rate"] == round(n_planted / len(rows), 6)
    assert c["by_kind"] == {"exact": 10, "skeleton": 4, "minhash": 4}
    assert [e["record_id"] for e in c["examples"]] == ["exact0", "exact1", "exact2", "exact-comments", "renamed0"]
    assert r["reference"]["records"] == len(reference_rows)  # a dataset REF is still a report column
    assert r["contamination_reference"]["kernels"] == len(reference_rows)
    g = c["ngram_overlap"]
    assert g["n"] == 13 and g["records_overlapping"] >= n_planted and 0 < g["ngram_share"] <= 1
    md = (tmp_path / "out" / "report.md").read_text()
    assert "## Contamination against the reference" in md
    assert f"| data | {len(rows)} | {n_planted} | {round(n_planted / len(rows), 4)} | 10 | 4 | 4 |" in md
    assert "Contamination against the reference" in (tmp_path / "out" / "report.html").read_text()

    clean = tmp_path / "clean"
    k.write_jsonl(clean / "shard-00000.jsonl", [json.dumps(k.record(i, src, "atomic", "template") | {"id": rid})
                                                for i, (rid, src, kind, _) in enumerate(rows) if kind is None])
    c2 = dr.dataset_contamination(Reference.from_path(reference_dir), clean)
    assert (c2.matched, c2.rate, c2.examples) == (0, 0.0, [])


def _write_py_tree(root: Path, reference_rows: list[tuple[str, str]]) -> None:
    for i, (_, src) in enumerate(reference_rows):
        p = root / ("nested" if i % 2 else "") / f"bench_{i:02d}.py"
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(src + "\n\nif __name__ == '__main__':\n    raise SystemExit('never run')\n", encoding="utf-8")
    (root / "host.py").write_text("import warp as wp\n\ndef main():\n    return 1\n", encoding="utf-8")
    (root / "broken.py").write_text("def (:\n", encoding="utf-8")
    (root / "__pycache__").mkdir()
    (root / "__pycache__" / "x.py").write_text("@wp.kernel\ndef hidden(a):\n    a[0] = 1.0\n")


def test_three_reference_forms_load_and_agree(reference_rows: list[tuple[str, str]], reference_dir: Path,
                                             k: ModuleType, tmp_path: Path) -> None:
    tree = tmp_path / "benchpy"
    _write_py_tree(tree, reference_rows)
    jl = tmp_path / "bench.jsonl"
    keys = ("python_source", "code", "source")
    lines = [json.dumps({"task_id": rid, keys[i % 3]: src}) for i, (rid, src) in enumerate(reference_rows)]
    jl.write_text("\n".join([*lines, "not json", json.dumps({"prompt": "no code"}), ""]) + "\n", encoding="utf-8")

    refs = {"dataset": Reference.from_path(reference_dir), "python": Reference.from_path(tree),
            "jsonl": Reference.from_path(jl)}
    assert {f: r.form for f, r in refs.items()} == {"dataset": "dataset", "python": "python", "jsonl": "jsonl"}
    assert all(len(r) == len(reference_rows) for r in refs.values())
    assert refs["python"].describe() | {"path": None} == {"path": None, "form": "python", "kernels": len(reference_rows),
                                                          "sources": len(reference_rows) + 2, "skipped": 2}
    assert refs["python"].ids[0] == "bench_00.py::" + reference_rows[0][1].split("def ")[1].split("(")[0]
    assert (refs["jsonl"].sources, refs["jsonl"].skipped) == (len(reference_rows) + 2, 2)
    assert refs["jsonl"].ids[:2] == [reference_rows[0][0], reference_rows[1][0]]
    rows, n_planted = planted(reference_rows, k)
    for r in refs.values():
        kinds = [(m.kind if (m := r.match(src)) else None) for _, src, _, _ in rows]
        assert kinds == [kind for _, _, kind, _ in rows]

    data = tmp_path / "data"
    k.write_jsonl(data / "shard-00000.jsonl",
                  [json.dumps(k.record(i, src, "atomic", "template") | {"id": rid}) for i, (rid, src, _, _) in enumerate(rows)])
    r = evaluate([data], tree, tmp_path / "out", progress=False, workers=1, builtin_names=k.BUILTINS)
    assert r["reference"] is None and r["reference_gaps"] == []  # a .py tree is no report column
    assert r["contamination"]["rate"] == round(n_planted / len(rows), 6)
    assert r["contamination_reference"]["form"] == "python"


def test_ngram_overlap_leaves_out_boilerplate(tmp_path: Path) -> None:
    head = "def k{i}(a: wp.array(dtype=wp.float32), b: wp.array(dtype=wp.float32), c: wp.array(dtype=wp.float32)):\n" \
           "    t = wp.tid()\n"
    bodies = [f"    c[t] = a[t] * {i}.0 + wp.sin(b[t] + {i}.5) * wp.cos(a[t] - b[t] * {i}.25) - {i}.125\n"
              for i in range(12)]
    ref = Reference.from_sources([(f"r{i}", "@wp.kernel\n" + head.format(i=i) + bodies[i]) for i in range(12)])
    # d0: the shared parameter list only (boilerplate: in all 12 reference kernels); d1: a copied body
    d0 = "@wp.kernel\n" + head.format(i=99) + "    c[t] = wp.max(a[t], b[t])\n"
    d1 = "@wp.kernel\n" + head.format(i=98) + bodies[3].replace("c[t]", "b[t]", 1)
    d2 = "@wp.kernel\ndef other(x: wp.array(dtype=int)):\n    x[0] = 1\n"
    c = dr.contamination(ref, [("d0", d0), ("d1", d1), ("d2", d2)])

    def grams(src: str) -> set[tuple[str, ...]]:
        toks = _CANON_TOKEN_RE.findall(re.sub(r"(?m)^\s*v\d+ = wp\.tid\(\)\n", "", kernel_units(src)[0].norm))
        return {tuple(toks[i : i + 13]) for i in range(len(toks) - 12)}

    ref_sets = [grams("@wp.kernel\n" + head.format(i=i) + bodies[i]) for i in range(12)]
    df: dict[tuple[str, ...], int] = {}
    for s in ref_sets:
        for g in s:
            df[g] = df.get(g, 0) + 1
    kept = {g for g, n in df.items() if not (n > 0.12 and n >= 5)}
    data = [grams(s) for s in (d0, d1, d2)]
    shared = [len(s & kept) for s in data]
    assert shared[0] == 0 < shared[1] and shared[2] == 0
    assert any(g not in kept for g in data[0])  # d0 does share n-grams, all of them boilerplate
    o = c.ngram_overlap
    assert (o.records_overlapping, o.record_rate) == (1, round(1 / 3, 6))
    assert (o.shared_ngrams, o.dataset_ngrams) == (shared[1], sum(map(len, data)))
    assert o.ngram_share == round(shared[1] / sum(map(len, data)), 6)
    assert o.boilerplate_reference == len(df) - len(kept) > 0
    assert c.matched_ids == ["d1"]  # d1 is r3 with one name changed: a copy as well


@pytest.mark.parametrize("case", ["missing", "empty_dir", "no_kernels", "bad_jsonl", "other_suffix", "empty_shards"])
def test_bad_reference_is_one_line(case: str, tmp_path: Path, k: ModuleType,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    p = tmp_path / "ref"
    if case == "empty_dir":
        p.mkdir()
    elif case == "no_kernels":
        p.mkdir()
        (p / "host.py").write_text("def main():\n    return 1\n")
    elif case == "bad_jsonl":
        p = tmp_path / "ref.jsonl"
        p.write_text("not json\n{\"prompt\": 1}\n")
    elif case == "other_suffix":
        p = tmp_path / "ref.txt"
        p.write_text("x")
    elif case == "empty_shards":
        p.mkdir()
        (p / "shard-00000.jsonl").write_text("nonsense\n")
    with pytest.raises(DecontamError) as e:
        Reference.from_path(p)
    msg = str(e.value)
    assert "\n" not in msg and msg.startswith(str(p))
    data = tmp_path / "data"
    k.write_jsonl(data / "shard-00000.jsonl", [json.dumps(k.record(0, k.K1, "arithmetic", "template"))])
    assert synth_main(["eval", str(data), "--reference", str(p), "--out", str(tmp_path / "o")]) == 2
    assert capsys.readouterr().err == f"synth eval: error: {msg}\n"
    assert not (tmp_path / "o").exists()
