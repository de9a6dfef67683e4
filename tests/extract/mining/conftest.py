"""Fixtures for the mining tests: the fixture programs, and reading a mined folder back with
the other commands (``synth export --format parquet``, ``synth eval``)."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from warp_synth.synth.cli import main as synth_main

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture
def progs(tmp_path: Path) -> Path:
    """A copy of the fixture programs (imports write __pycache__ next to them)."""
    dest = tmp_path / "progs"
    shutil.copytree(FIXTURES, dest, ignore=shutil.ignore_patterns("__pycache__"))
    return dest


def export_and_evaluate(mined: Path, work: Path) -> None:
    """``synth export --format parquet`` and ``synth eval`` accept the mined folder and see
    every one of its records."""
    import pyarrow.parquet as pq

    ids = [json.loads(line)["id"] for shard in sorted(mined.glob("shard-*.jsonl"))
           for line in shard.read_text().splitlines()]
    assert ids, "nothing was mined"

    exported = work / "exported"
    assert synth_main(["export", str(mined), "--format", "parquet", "--out", str(exported)]) == 0
    parquet = sorted((exported / "data").glob("*.parquet"))
    assert parquet and (exported / "README.md").is_file()
    rows = [row for p in parquet for row in pq.read_table(p).to_pylist()]
    assert sorted(r["id"] for r in rows) == sorted(ids)
    assert {r["origin"] for r in rows} == {"mined"}

    report = work / "report"
    assert synth_main(["eval", str(mined), "--out", str(report)]) == 0
    data = json.loads((report / "report.json").read_text())
    assert [d["records"] for d in data["datasets"]] == [len(ids)]
    assert (report / "report.html").is_file()


@pytest.fixture
def exports_and_evaluates() -> Callable[[Path, Path], None]:
    return export_and_evaluate
