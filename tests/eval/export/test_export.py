"""``synth export``: every format round-trips on a hand-made dataset.

The dataset (two folders) holds kernels of four categories, families of kernels that share a
skeleton (only literals differ) or a normalised source (only names differ), helpers and PTX on
some records, a corrupt line, a blank line and an id repeated across the folders.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from warp_synth.errors import UserError
from warp_synth.eval.export import command as export
from warp_synth.identity import normalized_source, skeleton

pytestmark = pytest.mark.timeout(300)
os.environ.setdefault("HF_HUB_OFFLINE", "1")  # no network for load_dataset on local folders
ROOT = Path(__file__).resolve().parents[2]
CATEGORIES = ("arithmetic", "loop", "atomic", "vector")

# ----------------------------------------------------------------------------- the dataset


def _source(cat: str, k: int, variant: int, rename: bool = False) -> str:
    """Kernel ``k`` of ``cat``: distinct skeleton per (cat, k); ``variant`` changes a literal only."""
    a, out = ("src", "dst") if rename else ("a", "out")
    name = f"{cat}_k{k}_v{variant}{'_r' if rename else ''}"
    lit = f"{1.5 + variant}"
    terms = " + ".join([f"{a}[i] * {lit}"] + [f"wp.sin({a}[i])"] * k)
    body = {
        "arithmetic": f"    {out}[i] = {terms}\n",
        "loop": f"    acc = float(0.0)\n    for j in range({k + 2}):\n        acc += {terms}\n    {out}[i] = acc\n",
        "atomic": f"    wp.atomic_add({out}, 0, {terms})\n",
        "vector": f"    v = wp.vec3({terms}, {a}[i], {lit})\n    {out}[i] = wp.length(v)\n",
    }[cat]
    return (
        "import warp as wp\n\n\n"
        "@wp.kernel\n"
        f"def {name}({a}: wp.array(dtype=float), {out}: wp.array(dtype=float)):\n"
        f"    # résumé ✓ kernel {k}\n"
        "    i = wp.tid()\n" + body
    )


def _record(rid: str, cat: str, k: int, variant: int, *, rename: bool = False, parent: str | None = None,
            helpers: bool = False, ptx: bool = False, mined: bool = False) -> dict[str, Any]:
    src = _source(cat, k, variant, rename)
    name = src.split("def ", 1)[1].split("(", 1)[0]
    mangled = f"{name}_{rid[:8]}"

    def ir(dev: str) -> dict[str, str]:
        d = {
            "forward": f'extern "C" void {mangled}_{dev}_kernel_forward(wp_args *_wp_args)\n{{\n    // {cat} «{k}»\n}}\n',
            "backward": f'extern "C" void {mangled}_{dev}_kernel_backward(wp_args *_wp_args)\n{{\n}}\n',
        }
        if helpers:
            d["helpers"] = f"static CUDA_CALLABLE float helper_{k}(float x) {{ return x; }}\n"
        if ptx and dev == "cuda":
            d["ptx"] = f".visible .entry {mangled}_cuda_kernel_forward()\n{{\n\tret;\n}}\n"
        return d

    meta: dict[str, Any] = {
        "num_params": 2, "num_lines": src.count("\n"), "module_id": f"wp_kernel_{rid[:7]}",
        "mangled_name": mangled, "arg_types": {"a": "array(ndim=1, dtype=float32)"},
        "warp_version": "1.19.0", "provenance": {"template": f"{cat}/basic", "sub_seed": 16488036708910316812},
    }
    if not mined:
        meta["builtins"] = sorted({"tid", "sin", "atomic_add", "vec3", "length"} & set(src.replace("(", " ").split()))
        meta["seed"] = 0
    rec = {
        "id": rid, "kernel_name": name, "kernel_type": "mined" if mined else cat, "python_source": src,
        "ir": {"cpu": ir("cpu"), "cuda": ir("cuda")}, "origin": "mined" if mined else ("mutation" if parent else "template"),
        "generated_at": "2026-11-25T10:25:38+00:00", "metadata": meta, "parent_id": parent,
    }
    if not mined and k % 3 == 0:  # executed (the form extract.execute writes)
        arr = {"dtype": "float32", "shape": [2], "data": [0.25, 0.5]}
        rec["execution"] = {"status": "passed", "seed": 7, "dim": [2], "inputs": {"a": arr, "out": arr},
                            "outputs": {"a": arr, "out": {**arr, "data": [1.0, 1.5]}},
                            "grad": {"status": "passed", "max_abs_err": 1e-5, "max_rel_err": 1e-4, "eps": 1e-3}}
    elif not mined and k % 3 == 1:
        rec["execution"] = {"status": "not_executed", "reason": "--no-execute"}
    return rec


def _records() -> list[dict[str, Any]]:
    recs: list[dict[str, Any]] = []
    n = 0
    for cat in CATEGORIES:
        for k in range(10):
            variants = 3 if k in (0, 4) else 1  # two skeleton families of 3 per category
            for v in range(variants):
                n += 1
                recs.append(_record(f"{n:016x}", cat, k, v, parent=recs[-1]["id"] if v else None,
                                    helpers=k == 1, ptx=k == 2))
        n += 1  # same normalised source as (cat, 5, 0) under another id: must share its split
        recs.append(_record(f"{n:016x}", cat, 5, 0, rename=True))
    n += 1
    recs.append(_record(f"{n:016x}", "arithmetic", 9, 7, mined=True))
    return recs


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[Path], list[dict[str, Any]]]:
    root = tmp_path_factory.mktemp("export_src")
    recs = _records()
    d1, d2 = root / "one", root / "two"
    d1.mkdir()
    d2.mkdir()
    half = len(recs) // 2
    lines1 = [json.dumps(r, ensure_ascii=False) for r in recs[:half]]
    lines1.insert(3, '{"id": "broken", "kernel_name": ')  # corrupt line
    lines1.insert(5, "")  # blank line: skipped, not counted
    (d1 / "shard-00000.jsonl").write_text("\n".join(lines1) + "\n", encoding="utf-8")
    lines2 = [json.dumps(r, ensure_ascii=False) for r in [recs[0], *recs[half:]]]  # recs[0] again: duplicate id
    (d2 / "shard-00000.jsonl").write_text("\n".join(lines2[:20]) + "\n", encoding="utf-8")
    (d2 / "shard-00001.jsonl").write_text("\n".join(lines2[20:]) + "\n", encoding="utf-8")
    (d1 / "settings.json").write_text(json.dumps({"category": "all", "seed": 3, "mode": "offline"}))
    (d1 / "stats.json").write_text(json.dumps({"accepted": half, "attempts": 99}))
    return [d1, d2], recs


def _export(dirs: list[Path], out: Path, *flags: str) -> dict[str, Any]:
    args = _parser().parse_args([*map(str, dirs), "--out", str(out), *flags])
    assert export.run(args) == 0
    return json.loads((out / "export.json").read_text())


def _parser() -> Any:
    import argparse

    p = argparse.ArgumentParser(prog="synth export")
    export.add_arguments(p)
    return p


def _by_id(recs: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {r["id"]: r for r in recs}


# ----------------------------------------------------------------------------- parquet


def test_parquet_round_trips_through_pyarrow_and_datasets(dataset, tmp_path: Path) -> None:
    import datasets
    import pyarrow.parquet as pq

    from warp_synth.eval.export.parquet import COLUMNS, row_to_record

    dirs, recs = dataset
    out = tmp_path / "pq"
    manifest = _export(dirs, out, "--shard-rows", "17")
    src = _by_id(recs)
    assert manifest["read"] == {"lines": len(recs) + 2, "records": len(recs), "corrupt_lines": 1, "duplicate_ids": 1,
                                "corrupt_examples": [manifest["read"]["corrupt_examples"][0]]}
    assert manifest["read"]["corrupt_examples"][0].startswith("one/shard-00000.jsonl:4: not JSON")

    files = sorted(p.name for p in (out / "data").iterdir())
    n_files = -(-len(recs) // 17)
    assert files == [f"train-{i:05d}-of-{n_files:05d}.parquet" for i in range(n_files)]

    table = pq.read_table(out / "data")
    assert table.schema.names == [c for c, _ in COLUMNS]
    rows = table.to_pylist()
    assert len(rows) == len(recs)
    for row in rows:
        rec = src[row["id"]]
        assert row_to_record(row) == rec
        assert (row["num_params"], row["num_lines"], row["module_id"], row["warp_version"], row["builtins"]) == (
            rec["metadata"]["num_params"], rec["metadata"]["num_lines"], rec["metadata"]["module_id"],
            rec["metadata"]["warp_version"], rec["metadata"].get("builtins"))
        ex = rec.get("execution")
        assert (row["execution_status"], row["grad_status"]) == (
            ex["status"] if ex else None, ex["grad"]["status"] if ex and "grad" in ex else None)
        assert (row["execution"] is None) == (ex is None)
    assert {r["execution_status"] for r in rows} == {"passed", "not_executed", None}

    for ds in (datasets.load_dataset("parquet", data_dir=str(out), cache_dir=str(tmp_path / "hf")),
               datasets.load_dataset(str(out), cache_dir=str(tmp_path / "hf2"))):
        assert list(ds) == ["train"]
        got = {r["id"]: row_to_record(r) for r in ds["train"]}
        assert got == src  # every record, every field


def test_parquet_card_describes_the_export(dataset, tmp_path: Path) -> None:
    import yaml

    from warp_synth.eval.export.parquet import COLUMNS

    dirs, recs = dataset
    out = tmp_path / "pq"
    _export(dirs, out, "--split", "train=0.8,val=0.1,test=0.1", "--license", "cc-by-4.0")
    text = (out / "README.md").read_text()
    assert text.startswith("---\n")
    front = yaml.safe_load(text.split("---\n")[1])
    assert front["license"] == "cc-by-4.0"
    assert front["task_categories"] == ["text-generation"]
    assert front["size_categories"] == ["n<1K"]
    assert [f["name"] for f in front["dataset_info"]["features"]] == [c for c, _ in COLUMNS]
    splits = {s["name"]: s["num_examples"] for s in front["dataset_info"]["splits"]}
    assert list(splits) == ["train", "val", "test"] and sum(splits.values()) == len(recs)
    assert front["configs"] == [{"config_name": "default", "data_files": [
        {"split": s, "path": f"data/{s}-*"} for s in ("train", "val", "test")]}]
    ws = front["warp_synth"]
    assert ws["warp_version"] == "1.19.0"
    assert ws["categories"] == {c: sum(r["kernel_type"] == c for r in recs) for c in (*sorted(CATEGORIES), "mined")}
    assert ws["generation"][0]["settings"] == {"category": "all", "seed": 3, "mode": "offline"}
    assert ws["generation"][1]["settings"] is None  # the second folder has no settings.json
    assert ws["export"]["split"] == "train=0.8,val=0.1,test=0.1"
    assert "## Loading" in text and 'load_dataset("parquet", data_dir=' in text
    assert "## Execution" in text and "| `execution` | string |" in text
    assert "corrupt lines skipped: 1" in text


def test_splits_are_stratified_and_leak_free(dataset, tmp_path: Path) -> None:
    import datasets

    from warp_synth.eval.export.parquet import row_to_record

    dirs, recs = dataset
    out = tmp_path / "pq"
    manifest = _export(dirs, out, "--split", "train=0.7,val=0.15,test=0.15", "--seed", "5", "--shard-rows", "9")
    ds = datasets.load_dataset("parquet", data_dir=str(out), cache_dir=str(tmp_path / "hf"))
    assert sorted(ds) == ["test", "train", "val"]
    sizes = {s: ds[s].num_rows for s in ds}
    assert sum(sizes.values()) == len(recs)
    assert manifest["split"]["sizes"] == {"train": sizes["train"], "val": sizes["val"], "test": sizes["test"]}

    src = _by_id(recs)
    split_of: dict[str, str] = {}
    for s in ds:
        for row in ds[s]:
            assert row_to_record(row) == src[row["id"]]
            split_of[row["id"]] = s
    assert set(split_of) == set(src)

    for key in (normalized_source, skeleton):
        where: dict[str, set[str]] = {}
        for rid, s in split_of.items():
            where.setdefault(key(src[rid]["python_source"]), set()).add(s)
        assert all(len(v) == 1 for v in where.values()), key.__name__

    for cat in (*CATEGORIES, "mined"):  # 15 records in 10 groups per category: each split gets its share
        counts = {s: sum(1 for rid, sp in split_of.items() if sp == s and src[rid]["kernel_type"] == cat)
                  for s in ("train", "val", "test")}
        assert manifest["split"]["by_category"][cat] == counts
        if cat != "mined":
            assert sum(counts.values()) == 15
            assert counts["val"] >= 1 and counts["test"] >= 1 and abs(counts["train"] - 0.7 * 15) <= 2, (cat, counts)

    again = _export(dirs, tmp_path / "again", "--split", "train=0.7,val=0.15,test=0.15", "--seed", "5")
    assert again["split"] == manifest["split"]  # same seed, same assignment sizes


def test_an_empty_split_gets_no_file_and_a_warning(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import datasets
    import yaml

    d = tmp_path / "src"
    d.mkdir()
    recs = [_record(f"{i + 1:016x}", "loop", i, 0) for i in range(3)]  # 3 groups: 0.1 of 3 rounds to none
    (d / "shard-00000.jsonl").write_text("".join(json.dumps(r) + "\n" for r in recs))
    for fmt in ("parquet", "chat"):
        manifest = _export([d], tmp_path / fmt, "--format", fmt, "--split", "train=0.9,test=0.1")
        assert manifest["split"]["sizes"] == {"train": 3, "test": 0}
        assert "synth export: warning: split 'test' is empty" in capsys.readouterr().err
    assert [p.name for p in (tmp_path / "parquet" / "data").iterdir()] == ["train-00000-of-00001.parquet"]
    assert [p.name for p in (tmp_path / "chat").glob("*.jsonl")] == ["train.jsonl"]
    front = yaml.safe_load((tmp_path / "parquet" / "README.md").read_text().split("---\n")[1])
    assert [s["name"] for s in front["dataset_info"]["splits"]] == ["train"]
    ds = datasets.load_dataset(str(tmp_path / "parquet"), cache_dir=str(tmp_path / "hf"))
    assert list(ds) == ["train"] and ds["train"].num_rows == 3


# ----------------------------------------------------------------------------- seed


def test_seed_layout_loads_with_the_seed_snippet(dataset, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    from warp_synth.eval.export.seed_layout import SEED_FIELDS, read_seed

    dirs, recs = dataset
    out = tmp_path / "jit" / "data"
    _export(dirs, out, "--format", "seed")
    monkeypatch.chdir(tmp_path)
    capsys.readouterr()

    # --- the seed report's loading snippet (section 6), verbatim ---
    import json
    from pathlib import Path

    # Load all CPU samples
    cpu_pairs = []
    for f in Path("jit/data/cpu").glob("*.json"):
        with open(f) as fp:
            cpu_pairs.append(json.load(fp))

    print(f"Loaded {len(cpu_pairs)} CPU pairs")
    # --- end of snippet ---

    # As in the seed layout, stats.json sits among the pairs and the snippet loads it too.
    assert capsys.readouterr().out == f"Loaded {len(recs) + 1} CPU pairs\n"
    stats = [p for p in cpu_pairs if "id" not in p]
    pairs = [p for p in cpu_pairs if "id" in p]
    assert len(stats) == 1 and stats[0]["total_pairs"] == len(recs) and stats[0]["device"] == "cpu"
    src = _by_id(recs)
    for device in ("cpu", "cuda"):
        loaded = pairs if device == "cpu" else [
            json.loads(f.read_text()) for f in Path(f"jit/data/{device}").glob("*.json") if f.name != "stats.json"]
        assert len(loaded) == len(recs)
        for p in loaded:
            rec = src[p["id"]]
            assert tuple(p) == SEED_FIELDS
            assert p["device"] == device
            assert (p["ir_forward"], p["ir_backward"]) == (rec["ir"][device]["forward"], rec["ir"][device]["backward"])
            assert [p[k] for k in ("kernel_name", "kernel_type", "python_source", "generated_at")] == [
                rec[k] for k in ("kernel_name", "kernel_type", "python_source", "generated_at")]
            assert list(p["metadata"])[:3] == ["num_params", "num_lines", "module_id"]
    assert {r["id"]: r for r in read_seed(out)} == src  # nothing lost: every record rebuilds exactly


# ----------------------------------------------------------------------------- chat


@pytest.mark.parametrize(("device", "ir_pass"), [("cpu", "forward"), ("cuda", "backward"), ("cuda", "both")])
def test_chat_lines_hold_the_kernel_and_the_chosen_ir(dataset, tmp_path: Path, device: str, ir_pass: str) -> None:
    dirs, recs = dataset
    out = tmp_path / "chat"
    manifest = _export(dirs, out, "--format", "chat", "--device", device, "--pass", ir_pass,
                       "--split", "train=0.9,test=0.1")
    src = _by_id(recs)
    seen: set[str] = set()
    for split in ("train", "test"):
        for line in (out / f"{split}.jsonl").read_text(encoding="utf-8").splitlines():
            d = json.loads(line)
            assert list(d) == ["messages", "metadata"]
            assert [m["role"] for m in d["messages"]] == ["system", "user", "assistant"]
            meta = d["metadata"]
            rec = src[meta["id"]]
            assert meta == {"id": rec["id"], "kernel_name": rec["kernel_name"], "kernel_type": rec["kernel_type"],
                            "origin": rec["origin"], "device": device, "pass": ir_pass}
            system, user, assistant = (m["content"] for m in d["messages"])
            assert ("CUDA" if device == "cuda" else "C++") in system
            assert user == f"### Python Kernel:\n{rec['python_source'].rstrip()}\n\n### Generated IR:"
            ir = rec["ir"][device]
            want = (f"### Forward:\n{ir['forward']}\n\n### Backward:\n{ir['backward']}" if ir_pass == "both"
                    else ir[ir_pass])
            assert assistant == want
            seen.add(rec["id"])
    assert seen == set(src)
    assert sum(manifest["lines"].values()) == len(recs) and manifest["skipped_empty_ir"] == 0


def test_chat_skips_empty_ir_and_can_drop_metadata(tmp_path: Path) -> None:
    import datasets

    d = tmp_path / "src"
    d.mkdir()
    recs = [_record(f"{i + 1:016x}", "loop", i, 0) for i in range(4)]
    recs[2]["ir"]["cpu"]["forward"] = ""
    (d / "shard-00000.jsonl").write_text("".join(json.dumps(r) + "\n" for r in recs))
    manifest = _export([d], tmp_path / "chat", "--format", "chat", "--no-metadata")
    assert manifest["lines"] == {"train": 3} and manifest["skipped_empty_ir"] == 1
    lines = [json.loads(x) for x in (tmp_path / "chat" / "train.jsonl").read_text().splitlines()]
    assert [list(x) for x in lines] == [["messages"]] * 3
    ds = datasets.load_dataset("json", data_dir=str(tmp_path / "chat"), cache_dir=str(tmp_path / "hf"))
    assert ds["train"].num_rows == 3
    assert [x["messages"][2]["content"] for x in ds["train"]] == [recs[i]["ir"]["cpu"]["forward"] for i in (0, 1, 3)]


# ----------------------------------------------------------------------------- errors


def _synth_export(*args: str) -> subprocess.CompletedProcess[str]:
    """``synth export ARGS`` through the real CLI entry point (registered here if cli.py does not yet)."""
    code = ("import sys; from warp_synth.synth import cli; "
            "cli.SUBCOMMANDS.setdefault('export', ('warp_synth.eval.export.command', 'export')); sys.exit(cli.main(sys.argv[1:]))")
    return subprocess.run([sys.executable, "-c", code, "export", *args], capture_output=True, text=True,
                          cwd=ROOT, timeout=120)


def _error_cases(d: str, tmp_path: Path, dirs: list[Path]) -> list[tuple[list[str], str]]:
    empty_dir = tmp_path / "empty"
    empty_dir.mkdir()
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("mine")
    garbage = tmp_path / "garbage"
    garbage.mkdir()
    (garbage / "shard-00000.jsonl").write_text("not json\n")
    prev = tmp_path / "prev"
    _export([dirs[0]], prev, "--format", "chat")
    out = str(tmp_path / "new")
    spec = "--split"
    return [
        ([str(tmp_path / "nope"), "--out", out], f"{tmp_path / 'nope'}: no such dataset folder"),
        ([str(empty_dir), "--out", out],
         f"{empty_dir}: no shard-*.jsonl files (is it a 'synth run' or 'synth mine' output folder?)"),
        ([d, "--out", str(foreign)],
         f"{foreign} is not empty and is not a synth export (found 'notes.txt'); use an empty or new --out"),
        ([d, "--out", str(prev), "--format", "chat"], f"{prev} holds a previous chat export; add --force to replace it"),
        ([d, "--out", str(prev), "--force"], f"{prev} holds a chat export, not parquet; use another --out"),
        ([d, "--out", out, spec, "train=0.9,val=0.2"], "--split 'train=0.9,val=0.2': ratios sum to 1.1, not 1"),
        ([d, "--out", out, spec, "train=0.9,holdout=0.1"],
         "--split 'train=0.9,holdout=0.1': unknown split name 'holdout' (use train, validation, test, val, valid, dev)"),
        ([d, "--out", out, spec, "train=0.9,val=abc"], "--split 'train=0.9,val=abc': 'abc' is not a number"),
        ([d, "--out", out, spec, "train=0.9,,val=0.1"],
         "--split 'train=0.9,,val=0.1': expected NAME=RATIO[,NAME=RATIO...], e.g. train=0.9,val=0.05,test=0.05"),
        ([d, "--out", out, spec, "train"], "--split 'train': 'train' is not NAME=RATIO"),
        ([d, "--out", out, spec, "train=0.5,train=0.5"], "--split 'train=0.5,train=0.5': split 'train' given twice"),
        ([d, "--out", out, spec, "train=1.0,val=0"], "--split 'train=1.0,val=0': ratio of 'val' must be in (0, 1], got 0"),
        ([d, "--out", out, "--format", "seed", spec, "train=1"],
         "--split does not apply to --format seed (the seed layout has no splits)"),
        ([d, "--out", out, "--device", "cuda"], "--device applies to --format chat only"),
        ([d, "--out", d], f"{d} is not empty and is not a synth export (found 'settings.json'); use an empty or new --out"),
        ([str(garbage), "--out", out], "no valid records to export (1 line(s) read, 1 corrupt)"),
    ]


def test_bad_inputs_raise_user_facing_errors(dataset, tmp_path: Path) -> None:
    dirs, _ = dataset
    for args, message in _error_cases(str(dirs[0]), tmp_path, dirs):
        with pytest.raises(UserError) as info:
            export.run(_parser().parse_args(args))
        assert str(info.value) == message, args
    foreign = tmp_path / "foreign"
    assert [p.name for p in foreign.iterdir()] == ["notes.txt"] and (foreign / "notes.txt").read_text() == "mine"
    assert not (tmp_path / "new").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no staging folder left behind


def test_cli_errors_are_one_line_with_exit_status_2(dataset, tmp_path: Path) -> None:
    dirs, _ = dataset
    cases = _error_cases(str(dirs[0]), tmp_path, dirs)
    cases = [cases[i] for i in (0, 2, 3, 5, 12)]  # one of each kind: each CLI start costs seconds
    with ThreadPoolExecutor(3) as pool:
        results = list(pool.map(lambda c: _synth_export(*c[0]), cases))
    for (args, message), proc in zip(cases, results, strict=True):
        assert (proc.returncode, proc.stdout, proc.stderr) == (2, "", f"synth export: error: {message}\n"), args


def test_force_replaces_a_previous_export_of_the_same_format(dataset, tmp_path: Path) -> None:
    dirs, recs = dataset
    out = tmp_path / "seed"
    _export([dirs[0]], out, "--format", "seed")
    first = len(list((out / "cpu").glob("*.json")))
    proc = _synth_export(*map(str, dirs), "--out", str(out), "--format", "seed", "--force")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith(f"synth export: {len(recs)} records (1 corrupt line(s) skipped; "
                                  f"1 duplicate id(s) skipped) -> {out} [seed]")
    assert "corrupt: one/shard-00000.jsonl:4: not JSON" in proc.stderr
    assert len(list((out / "cpu").glob("*.json"))) == len(recs) + 1 > first
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]
