"""``synth mine`` (alias ``synth extract``): mining kernels from existing Warp programs into a
dataset folder that every other command reads."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

from warp_synth.extract.engine import check_sources
from warp_synth.records import Accepted
from warp_synth.synth.cli import main as synth_main

pytestmark = pytest.mark.timeout(600)

ROOT = Path(__file__).resolve().parents[3]

# ---------------------------------------------------------------------------------------- fast


def test_missing_path_is_a_one_line_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "nope"
    assert synth_main(["extract", str(missing), "--out", str(tmp_path / "out")]) == 2
    assert capsys.readouterr().err == f"synth extract: error: no such file or directory: {missing}\n"
    assert not (tmp_path / "out").exists()


def test_an_out_folder_that_is_not_a_mined_dataset_is_refused_untouched(
    progs: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    foreign = tmp_path / "notes"
    foreign.mkdir()
    (foreign / "todo.txt").write_text("mine me not\n")
    assert synth_main(["mine", str(progs), "--out", str(foreign)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"synth mine: error: {foreign} is not empty and is not a warp-synth run folder")
    assert err.count("\n") == 1 and sorted(p.name for p in foreign.iterdir()) == ["todo.txt"]

    run_folder = tmp_path / "run"
    run_folder.mkdir()
    (run_folder / "settings.json").write_text(json.dumps({"schema": 1, "kind": "run", "seed": 0}))
    assert synth_main(["mine", str(progs), "--out", str(run_folder)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"synth mine: error: {run_folder} holds a run with other settings: kind='run'")
    assert err.count("\n") == 1 and not list(run_folder.glob("shard-*.jsonl"))


# ---------------------------------------------------------------------------------------- slow

EXPECTED_REPORT = """\
{d}/broken.py: 1 kernel, 0 mined, 1 skipped (import failed: RuntimeError: this module cannot be imported (line 10))
  skipped lost: import_error: RuntimeError: this module cannot be imported (line 10)
{d}/factory.py: 3 kernels, 3 mined, 0 skipped
{d}/generic.py: 3 kernels, 2 mined, 1 skipped
  skipped never_overloaded: generic_without_overloads: generic kernel without overloads
{d}/helpers.py: 1 kernel, 1 mined, 0 skipped
{d}/physics.py: 2 kernels, 2 mined, 0 skipped
{d}/tiles.py: 2 kernels, 2 mined, 0 skipped
{d}/unsliceable.py: 3 kernels, 1 mined, 2 skipped
  skipped uses_python_dict: python_object: uses 'SETTINGS', a Python dict ({{'scale': 2.0}}) that is not a Warp \
function, struct or constant
  skipped make_kernel.<locals>.repeat: not_instantiated: the @wp.kernel is created inside a function that was not called at \
import (kernel factory); no kernel object to slice
{d}/uses_helper.py: 2 kernels, 2 mined, 0 skipped
total: 8 files, 17 kernels, 13 mined, 4 skipped; 12 new records (1 duplicates skipped) -> {out}/shard-00000.jsonl; \
1 files without kernels passed over
"""

MINED = {
    ("factory.py", "make_scale.<locals>.scale"),
    ("factory.py", "make_scale.<locals>.scale#2"),
    ("factory.py", "Solver.relax"),
    ("generic.py", "scale_add[array(ndim=1, dtype=float32), array(ndim=1, dtype=float32), float32]"),
    ("generic.py", "scale_add[array(ndim=1, dtype=vec3d), array(ndim=1, dtype=vec3d), float64]"),
    ("helpers.py", "normalize"),
    ("physics.py", "step"),
    ("physics.py", "kinetic_energy"),
    ("tiles.py", "row_sums"),
    ("tiles.py", "tile_scale"),
    ("unsliceable.py", "plain"),
    ("uses_helper.py", "ratio"),
}  # uses_helper.normalize is helpers.normalize again: counted as mined, stored once

IMPORT_EACH = """
import importlib.util, json, sys
import warp as wp
found = []
for i, path in enumerate(sys.argv[1:]):
    spec = importlib.util.spec_from_file_location(f"unit{i}", path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod
    spec.loader.exec_module(mod)
    found.append(sorted(n for n, v in vars(mod).items() if isinstance(v, wp.Kernel)))
print(json.dumps(found))
"""


@pytest.mark.slow
def test_mine_stores_every_mineable_kernel_as_self_contained_records(
    progs: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    exports_and_evaluates: Callable[[Path, Path], None],
) -> None:
    out = tmp_path / "out"
    assert synth_main(["extract", str(progs), "--out", str(out)]) == 0
    captured = capsys.readouterr()
    assert captured.out == EXPECTED_REPORT.format(d=progs, out=out)
    progress = [ln for ln in captured.err.splitlines() if ln.startswith("synth extract: [")]
    assert [ln.split("]")[0] for ln in progress] == [f"synth extract: [{i}/8" for i in range(1, 9)]

    records = [json.loads(line) for line in (out / "shard-00000.jsonl").read_text().splitlines()]
    assert {(r["metadata"]["source_file"], r["metadata"]["source_kernel"]) for r in records} == MINED
    assert len(records) == len({r["id"] for r in records}) == 12
    assert all(r["kernel_type"] == "mined" and r["origin"] == "mined" for r in records)
    assert all(r["ir"]["cpu"]["forward"] and r["ir"]["cuda"]["forward"] for r in records)
    assert json.loads((out / "settings.json").read_text()) == {"schema": 1, "kind": "mined"}

    # every python_source stands on its own: compiled again alone ...
    sources = [r["python_source"] for r in records]
    outcomes = check_sources(sources, trusted=True, workers=2)
    assert all(isinstance(o, Accepted) for o in outcomes), [
        o for o in outcomes if not isinstance(o, Accepted)
    ]
    assert [o.kernels[0].kernel_name for o in outcomes] == [r["kernel_name"] for r in records]
    # ... and imported in a fresh interpreter, far from the programs it came from
    alone = tmp_path / "alone"
    alone.mkdir()
    paths = []
    for i, src in enumerate(sources):
        (alone / f"unit{i}.py").write_text(src)
        paths.append(str(alone / f"unit{i}.py"))
    proc = subprocess.run(
        [sys.executable, "-c", IMPORT_EACH, *paths],
        cwd=alone,
        capture_output=True,
        text=True,
        timeout=300,
        env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"},
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert json.loads(proc.stdout.strip().splitlines()[-1]) == [[r["kernel_name"]] for r in records]

    stats = json.loads((out / "stats.json").read_text())
    assert stats["kind"] == "mined" and stats["records"] == 12
    run = stats["last_run"]
    assert (run["files"], run["kernels"], run["mined"], run["skipped"], run["records_written"]) == (
        8,
        17,
        13,
        4,
        12,
    )
    assert run["skipped_by_reason"] == {
        "generic_without_overloads": 1,
        "import_error": 1,
        "not_instantiated": 1,
        "python_object": 1,
    }
    assert run["by_file"]["broken.py"]["error"] == "import_error"
    assert run["shard"] == "shard-00000.jsonl" and run["shards"] == ["shard-00000.jsonl"]

    # the mined folder is a dataset like any other: it exports to Parquet and evaluates
    exports_and_evaluates(out, tmp_path)

    # a second run appends nothing: every id is already in the dataset
    assert synth_main(["extract", str(progs), "--out", str(out)]) == 0
    assert "0 new records (13 duplicates skipped)" in capsys.readouterr().out
    assert sorted(p.name for p in out.iterdir()) == [".lock", "settings.json", "shard-00000.jsonl", "stats.json"]
    assert json.loads((out / "stats.json").read_text())["records"] == 12
    assert len(json.loads((out / "stats.json").read_text())["runs"]) == 2


# A user project whose packages carry the names warp-synth's own folders have (extract, eval,
# synth): before the one ``warp_synth`` package, ``from extract import smooth_clamp`` found ours.
CLASHING_PROJECT = {
    "extract/__init__.py": """
        import warp as wp

        LIMIT = wp.constant(4.0)


        @wp.func
        def smooth_clamp(x: float, limit: float) -> float:
            return limit * wp.tanh(x / limit)


        @wp.kernel
        def clamp_all(a: wp.array(dtype=float)):
            i = wp.tid()
            a[i] = smooth_clamp(a[i], LIMIT)
    """,
    "eval/__init__.py": "",
    "eval/metrics.py": """
        import warp as wp
        from extract import smooth_clamp

        GAIN = wp.constant(2.0)


        @wp.kernel
        def clamped_error(a: wp.array(dtype=float), b: wp.array(dtype=float), out: wp.array(dtype=float)):
            i = wp.tid()
            wp.atomic_add(out, 0, wp.abs(smooth_clamp(a[i] - b[i], 1.0)))


        @wp.kernel
        def mean_abs(a: wp.array(dtype=float), out: wp.array(dtype=float)):
            i = wp.tid()
            wp.atomic_add(out, 0, wp.abs(a[i]) * GAIN / float(a.shape[0]))
    """,
    "synth/__init__.py": "",
    "synth/noise.py": """
        import warp as wp
        from eval.metrics import GAIN
        from extract import smooth_clamp


        @wp.kernel
        def add_noise(a: wp.array(dtype=float), seed: int):
            i = wp.tid()
            state = wp.rand_init(seed, i)
            a[i] = smooth_clamp(a[i] + GAIN * (wp.randf(state) - 0.5), 3.0)
    """,
}
CLASHING_KERNELS = {
    ("extract/__init__.py", "clamp_all"),
    ("eval/metrics.py", "clamped_error"),
    ("eval/metrics.py", "mean_abs"),
    ("synth/noise.py", "add_noise"),
}


@pytest.mark.slow
def test_a_project_with_packages_named_extract_eval_and_synth_is_mined_whole(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], exports_and_evaluates: Callable[[Path, Path], None]
) -> None:
    project = tmp_path / "project"
    for rel, text in CLASHING_PROJECT.items():
        (project / rel).parent.mkdir(parents=True, exist_ok=True)
        (project / rel).write_text(textwrap.dedent(text).lstrip())
    out = tmp_path / "mined"
    assert synth_main(["mine", str(project), "--out", str(out)]) == 0
    report = capsys.readouterr().out
    assert "skipped " not in report, report
    assert report.splitlines()[-1].startswith("total: 3 files, 4 kernels, 4 mined, 0 skipped; 4 new records"), report

    records = [json.loads(line) for line in (out / "shard-00000.jsonl").read_text().splitlines()]
    assert {(r["metadata"]["source_file"], r["metadata"]["source_kernel"]) for r in records} == CLASHING_KERNELS
    stats = json.loads((out / "stats.json").read_text())["last_run"]
    assert (stats["kernels"], stats["mined"], stats["skipped"], stats["skipped_by_reason"]) == (4, 4, 0, {})
    # the helper the project imports from its own ``extract`` travelled into the units
    by_kernel = {r["kernel_name"]: r["python_source"] for r in records}
    assert "def smooth_clamp(x: float, limit: float) -> float:" in by_kernel["clamped_error"]
    assert re.search(r"^GAIN = (wp\.constant\()?2\.0", by_kernel["add_noise"], re.M), by_kernel["add_noise"]

    exports_and_evaluates(out, tmp_path)


@pytest.mark.slow
def test_piped_mining_prints_one_progress_line_per_file_as_it_finishes(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    for name, body in (("a.py", "a[i] = a[i] * 2.0"), ("b.py", "a[i] = a[i] + 1.0"), ("c.py", "a[i] = -a[i]")):
        (src / name).write_text(
            f"import warp as wp\n\n\n@wp.kernel\ndef k_{name[0]}(a: wp.array(dtype=float)):\n"
            f"    i = wp.tid()\n    {body}\n"
        )
    (src / "c.py").write_text((src / "c.py").read_text() + "\n\nD = {}\n\n\n@wp.kernel\n"
                              "def uses_dict(a: wp.array(dtype=float)):\n    a[0] = wp.static(D['x'])\n")
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "warp_synth.synth.cli", "mine", str(src), "--out", str(out)]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    lines = [ln for ln in proc.stderr.splitlines() if ln.startswith("synth mine: [")]
    assert sorted(re.sub(r"^synth mine: \[\d/3\] ", "", ln) for ln in lines) == [
        f"{src}/a.py: 1 kernel, 1 mined, 0 skipped",
        f"{src}/b.py: 1 kernel, 1 mined, 0 skipped",
        f"{src}/c.py: 2 kernels, 1 mined, 1 skipped",
    ]
    assert [ln.split("]")[0] + "]" for ln in lines] == [f"synth mine: [{i}/3]" for i in (1, 2, 3)]
    assert proc.stdout.splitlines()[-1].startswith("total: 3 files, 4 kernels, 3 mined, 1 skipped")

    quiet = subprocess.run([*cmd, "--no-progress"], capture_output=True, text=True, cwd=ROOT, timeout=600)
    assert quiet.returncode == 0, quiet.stderr[-2000:]
    assert "synth mine: [" not in quiet.stderr
    assert "0 new records (3 duplicates skipped)" in quiet.stdout
