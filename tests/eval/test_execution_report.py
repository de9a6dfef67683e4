"""``synth eval`` reports execution and adjoint rates per category and per origin."""

from __future__ import annotations

import json
from pathlib import Path
from types import ModuleType

import pytest

from warp_synth.eval.digest import execution_of
from warp_synth.eval.report import evaluate

pytestmark = pytest.mark.timeout(120)


def _ex(grad: str | None) -> dict:
    if grad is None:
        return {"status": "not_executed", "reason": "--no-execute"}
    return {"status": "passed", "seed": 1, "dim": [4], "inputs": {}, "outputs": {},
            "grad": {"status": grad, **({"reason": "uses floor"} if grad == "not_differentiable" else {})}}


def test_execution_of_reads_status_and_adjoint() -> None:
    assert execution_of(None) == ("absent", "not_executed")
    assert execution_of(_ex(None)) == ("not_executed", "not_executed")
    assert execution_of(_ex("failed")) == ("passed", "failed")
    assert execution_of({"status": "passed", "grad": {"status": "bogus"}}) == ("passed", "not_executed")


def test_rates_per_category_and_origin(k: ModuleType, tmp_path: Path) -> None:
    # (source, category, origin, execution's grad status; None: not executed; "absent": no execution)
    rows = [(k.K1, "arithmetic", "template", "passed"), (k.K1_RENAMED, "arithmetic", "mutation", "failed"),
            (k.K2, "loop", "template", "not_differentiable"), (k.K2_NEAR, "loop", "mutation", None),
            (k.K3, "conditional", "llm", "skipped"), (k.K4, "atomic", "template", "absent")]
    d = tmp_path / "d"
    d.mkdir()
    lines = []
    for i, (src, cat, origin, grad) in enumerate(rows):
        rec = k.record(i, src, cat, origin)
        if grad != "absent":
            rec["execution"] = _ex(grad)
        lines.append(json.dumps(rec))
    (d / "shard-00000.jsonl").write_text("\n".join(lines) + "\n")
    r = evaluate([d], None, tmp_path / "out", progress=False, workers=1, builtin_names=k.BUILTINS)

    e = r["execution"]
    assert (e["records"], e["executed"], e["execution_rate"]) == (6, 4, round(4 / 6, 6))
    assert e["statuses"] == {"passed": 4, "not_executed": 1, "absent": 1}
    assert e["adjoint"] == {"passed": 1, "failed": 1, "not_differentiable": 1, "skipped": 1, "not_executed": 2}
    assert (e["adjoint_pass_rate"], e["adjoint_checked_pass_rate"]) == (0.25, 0.5)
    cats = r["execution_by_category"]
    assert list(cats) == ["arithmetic", "atomic", "conditional", "loop"]
    assert (cats["arithmetic"]["executed"], cats["arithmetic"]["adjoint"]["failed"]) == (2, 1)
    assert (cats["loop"]["execution_rate"], cats["atomic"]["execution_rate"]) == (0.5, 0.0)
    by = r["by_origin"]
    assert by["template"]["execution"]["adjoint"]["passed"] == 1
    assert by["template"]["execution"]["execution_rate"] == round(2 / 3, 6)
    assert by["mutation"]["execution"]["adjoint_checked_pass_rate"] == 0.0
    assert by["llm"]["execution"]["adjoint"]["skipped"] == 1

    md = (tmp_path / "out" / "report.md").read_text()
    assert "## Execution and adjoints" in md
    assert "| arithmetic | 2 | 2 | 1 | 1 | 1 | 0 | 0 | 0 | 0.5 | 0.5 |" in md
    assert "| origin: mutation | 2 | 1 | 0.5 | 0 | 1 | 0 | 0 | 1 | 0 | 0 |" in md
    assert "| execution rate (passed CPU run) | 0.6667 |" in md
    assert "Execution and adjoints" in (tmp_path / "out" / "report.html").read_text()
