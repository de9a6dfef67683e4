"""End-to-end: hand-made datasets (see conftest.py) whose every figure is known."""

from __future__ import annotations

import argparse
import json
import math
import re
from collections import Counter
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

from warp_synth.eval.report import add_arguments, evaluate
from warp_synth.identity import code_tokens
from warp_synth.shards import DatasetError
from warp_synth.synth.cli import main as synth_main

pytestmark = pytest.mark.timeout(120)


def _eval(k: ModuleType, dirs: list[Path], out: Path, reference: Path | None = None, **kw: int) -> dict:
    return evaluate(dirs, reference, out, progress=False, workers=1, builtin_names=k.BUILTINS, **kw)


def _distinct(sources: list[str], n: int) -> float:
    grams, total = set(), 0
    for s in sources:
        t = code_tokens(s)
        g = [tuple(t[i:i + n]) for i in range(len(t) - n + 1)]
        grams.update(g)
        total += len(g)
    return round(len(grams) / total, 6)


def test_every_figure_of_the_main_dataset(k: ModuleType, main_dataset: Path, tmp_path: Path) -> None:
    r = _eval(k, [main_dataset], tmp_path / "out")
    sources = [row[0] for row in k.MAIN_ROWS]
    assert r["records"] == 7
    assert r["corrupt_lines"] == 2  # bad JSON and a missing field; the blank line is not a record
    assert r["corrupt_examples"] == [
        "main/shard-000.jsonl:5: not JSON (Expecting value)",
        "main/shard-001.jsonl:5: record lacks field(s): python_source",
    ]
    assert r["exact_dup_rate"] == round(1 / 7, 6)  # record 2
    assert r["alpha_dup_rate"] == round(2 / 7, 6)  # records 2 and 3
    assert r["near_dup_rate"] == round(3 / 7, 6)  # records 2, 3 and 5 (MinHash: margins are wide)
    assert r["skeleton_unique_ratio"] == round(4 / 7, 6)  # {K1 x3, K2 x2, K3, K4}
    assert r["skeleton_cluster_sizes"] == {"1": 2, "2": 1, "3": 1}
    assert r["distinct_n"] == {str(n): _distinct(sources, n) for n in (1, 2, 3, 4)}
    assert r["vendi_sample"] == 7 and 1.0 < r["vendi"] < 7.0
    assert r["categories"] == {"arithmetic": 3, "loop": 2, "atomic": 1, "conditional": 1}
    assert r["origins"] == {"template": 3, "mutation": 2, "llm": 1, "mined": 1}

    usage = {"array": 7, "float32": 7, "tid": 7, "sin": 3, "sqrt": 3, "int32": 2, "max": 2, "min": 2,
             "cos": 1, "vec3": 1, "tile_load": 1, "atomic_add": 1}
    bc = r["builtin_coverage"]
    assert bc["records_using"] == dict(sorted(usage.items()))
    assert (bc["used"], bc["total"], bc["ratio"]) == (12, 15, 0.8)
    total = sum(usage.values())
    assert bc["entropy"] == round(-sum(c / total * math.log2(c / total) for c in usage.values()), 4)
    assert r["dtype_coverage"]["records_using"] == {"int32": 3, "float32": 7, "vec3": 1}  # K2 x2, K3
    assert r["feature_coverage"]["records_using"] == {
        "for": 2, "while": 1, "if": 3, "elif": 2, "break": 2, "continue": 2, "bool_op": 1, "aug_assign": 1,
        "wp_func_call": 1, "struct": 1, "atomic": 1, "tile": 1, "scalar_param": 2}
    assert (r["feature_coverage"]["used"], r["feature_coverage"]["total"]) == (13, 17)

    ir = r["ir"]
    assert ir["arithmetic"] == {"records": 3, "cpu_forward_lines": 10.0, "cpu_backward_lines": 30.0,
                                "cpu_backward_forward_ratio": 3.0, "cuda_forward_lines": 20.0,
                                "cuda_backward_lines": 30.0, "cuda_backward_forward_ratio": 1.5}
    assert ir["loop"]["cpu_backward_forward_ratio"] == 2.5
    assert ir["(all)"]["records"] == 7
    assert ir["(all)"]["cpu_backward_forward_ratio"] == round(355 / 150, 4)
    assert ir["(all)"]["cpu_forward_lines"] == round(150 / 7, 2)
    py_lines = sorted(s.count("\n") for s in sources)
    assert r["lengths"]["python_lines"]["min"] == py_lines[0]
    assert r["lengths"]["python_lines"]["max"] == py_lines[-1]
    assert r["lengths"]["ir_cpu_lines"]["max"] == 140

    bo = r["by_origin"]
    assert list(bo) == ["template", "mutation", "llm", "mined"]
    t = bo["template"]  # records 1, 2, 4
    assert (t["records"], t["exact_dup_rate"], t["alpha_dup_rate"], t["near_dup_rate"],
            t["skeleton_unique_ratio"]) == (3, round(1 / 3, 6), round(1 / 3, 6), round(1 / 3, 6), round(2 / 3, 6))
    m = bo["mutation"]  # records 3 and 5: copies of *template* records, so no duplicates within the origin
    assert (m["records"], m["exact_dup_rate"], m["alpha_dup_rate"], m["near_dup_rate"],
            m["skeleton_unique_ratio"]) == (2, 0.0, 0.0, 0.0, 1.0)
    assert m["distinct_n"] == {str(n): _distinct([k.K1_RENAMED, k.K2_NEAR], n) for n in (1, 2, 3, 4)}
    assert bo["mined"]["builtin_coverage"]["used"] == 5
    assert bo["llm"]["categories"] == {"conditional": 1}

    on_disk = json.loads((tmp_path / "out" / "report.json").read_text())
    assert on_disk["records"] == 7 and on_disk["datasets"][0]["near_dup_rate"] == r["near_dup_rate"]


def test_vendi_uses_a_reservoir_sample(k: ModuleType, main_dataset: Path, tmp_path: Path) -> None:
    r = _eval(k, [main_dataset], tmp_path / "out", vendi_sample=3)
    assert r["vendi_sample"] == 3 and 1.0 <= r["vendi"] <= 3.0
    again = _eval(k, [main_dataset], tmp_path / "out2", vendi_sample=3)
    assert again["vendi"] == r["vendi"]  # seeded


def test_worker_pool_gives_the_same_figures(k: ModuleType, main_dataset: Path, tmp_path: Path) -> None:
    one = _eval(k, [main_dataset], tmp_path / "a")
    two = evaluate([main_dataset], None, tmp_path / "b", progress=False, workers=2, builtin_names=k.BUILTINS)
    drop = ("generated_at",)
    assert {a: b for a, b in one.items() if a not in drop} == {a: b for a, b in two.items() if a not in drop}


def test_reference_gaps_and_side_by_side(k: ModuleType, main_dataset: Path, reference_dataset: Path,
                                         tmp_path: Path) -> None:
    other = tmp_path / "other"
    other.mkdir()
    (other / "shard-00000.jsonl").write_text(json.dumps(k.record(0, k.K3, "conditional", "llm")) + "\n")
    r = _eval(k, [main_dataset, other], tmp_path / "out", reference=reference_dataset)
    assert "records" not in r  # several DIRs: metrics live in "datasets" only
    assert [d["name"] for d in r["datasets"]] == ["main", "other"]
    assert [d["records"] for d in r["datasets"]] == [7, 1]
    assert r["reference"]["name"] == "mined" and r["reference"]["records"] == 2
    assert r["reference_gaps"] == [
        {"dataset": "main", "builtins_missing": ["exp"], "dtypes_missing": ["float64"],
         "features_missing": ["ternary"]},
        {"dataset": "other", "builtins_missing": ["atomic_add", "exp", "tile_load"],
         "dtypes_missing": ["float64"], "features_missing": ["ternary", "atomic", "tile"]},
    ]
    md = (tmp_path / "out" / "report.md").read_text()
    assert "| metric | main | other | mined (reference) |" in md
    assert "| main | exp | float64 | ternary |" in md


def test_html_report_is_one_self_contained_file(k: ModuleType, main_dataset: Path, reference_dataset: Path,
                                                tmp_path: Path) -> None:
    _eval(k, [main_dataset], tmp_path / "out", reference=reference_dataset)
    html = (tmp_path / "out" / "report.html").read_text()
    assert html.startswith("<!DOCTYPE html>") and html.rstrip().endswith("</html>")
    srcs = re.findall(r'src="([^"]*)"', html)
    assert len(srcs) == 5 and all(s.startswith("data:image/png;base64,") for s in srcs)
    assert "<link" not in html and "<script" not in html
    assert not re.search(r'(src|href)="(https?:)?//', html) and "url(" not in html
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["report.html", "report.json", "report.md"]


def test_cli_arguments_and_errors(k: ModuleType, main_dataset: Path, tmp_path: Path,
                                  capsys: pytest.CaptureFixture[str]) -> None:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    args = parser.parse_args([str(main_dataset), "--out", str(tmp_path / "o"), "--vendi-sample", "5",
                              "--seed", "3"])
    assert (args.dirs, args.reference, args.vendi_sample, args.seed) == ([main_dataset], None, 5, 3)

    missing = tmp_path / "nope"
    assert synth_main(["eval", str(missing), "--out", str(tmp_path / "o")]) == 2
    assert capsys.readouterr().err == f"synth eval: error: {missing}: no such dataset folder\n"
    empty = tmp_path / "empty"
    empty.mkdir()
    assert synth_main(["eval", str(empty), "--out", str(tmp_path / "o")]) == 2
    assert capsys.readouterr().err == f"synth eval: error: {empty}: no shard-*.jsonl files (is it a 'synth run' or 'synth mine' output folder?)\n"
    with pytest.raises(DatasetError, match="no such dataset folder"):
        _eval(k, [main_dataset], tmp_path / "o", reference=missing)
    assert not (tmp_path / "o").exists()  # nothing written before inputs are checked


def test_empty_and_all_corrupt_dataset(k: ModuleType, tmp_path: Path) -> None:
    d = tmp_path / "junk"
    d.mkdir()
    (d / "shard-00000.jsonl").write_text("nonsense\n{}\n")
    r = _eval(k, [d], tmp_path / "out")
    assert (r["records"], r["corrupt_lines"], r["exact_dup_rate"], r["vendi"]) == (0, 2, 0.0, 0.0)
    assert np.isfinite(r["builtin_coverage"]["entropy"])
    assert Counter(r["categories"]) == Counter()
