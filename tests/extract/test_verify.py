"""Records' IR re-derives from their python_source with Warp's public API (independent check)."""

from __future__ import annotations

import pytest

from warp_synth.extract.verify import verify_record
from warp_synth.identity import record_id
from warp_synth.records import Accepted, Unit, make_record

pytestmark = [pytest.mark.timeout(600), pytest.mark.slow]


def test_records_rederive_and_tampering_is_detected(extractor, good):
    srcs = [good(i) for i in range(3)]
    outs = extractor.extract([Unit(str(i), s) for i, s in enumerate(srcs)])
    records = []
    for s, o in zip(srcs, outs, strict=True):
        assert isinstance(o, Accepted)
        records.append(make_record(s, o.kernels[0], record_id=record_id(s), kernel_type="arithmetic",
                                   origin="template", warp_version="1.19.0").to_json_dict())
    for r in records:
        res = verify_record(r)
        assert res.ok, res.detail
    tampered = dict(records[0])
    tampered["ir"] = {**records[0]["ir"], "cuda": {**records[0]["ir"]["cuda"],
                                                  "backward": records[0]["ir"]["cuda"]["backward"] + "// x"}}
    res = verify_record(tampered)
    assert not res.ok and res.detail == "not found in Warp's output: cuda.backward"


def test_verify_execute_replays_stored_vectors_and_flags_tampering(tmp_path):
    import json

    from tests.support.cli import read_records, run_synth

    out = tmp_path / "run"
    r = run_synth("run", "--category", "arithmetic", "--n", "3", "--offline", "--no-progress", "--out", str(out))
    assert r.returncode == 0, r.stderr
    r = run_synth("verify", str(out), "--execute")
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.strip().splitlines()[-1] == ("replayed 3 of 3 executed records: outputs match the stored "
                                                 "ones; 0 not replayable (execution.status is not 'passed')")

    rows = read_records(out)
    victim, name = next((rec, n) for rec in rows for n, o in rec["execution"]["outputs"].items() if o["data"])
    data = victim["execution"]["outputs"][name]["data"]
    data[0] = not data[0] if isinstance(data[0], bool) else data[0] + 1  # an output the kernel does not produce
    next(rec for rec in rows if rec is not victim)["execution"] = {"status": "not_executed", "reason": "--no-execute"}
    bad = tmp_path / "tampered"
    bad.mkdir()
    (bad / "shard-00000.jsonl").write_text("".join(json.dumps(x) + "\n" for x in rows))
    r = run_synth("verify", str(bad), "--execute", "--sample", "3")
    assert r.returncode == 1
    lines = r.stdout.strip().splitlines()
    assert [ln for ln in lines if ln.startswith("MISMATCH")] == [
        next(ln for ln in lines if ln.startswith(f"MISMATCH {victim['id']}: execution: outputs differ: {name}: 1 of "))]
    assert lines[-1] == ("replayed 1 of 2 executed records: outputs match the stored ones; 1 not replayable "
                         "(execution.status is not 'passed')")

    r = run_synth("verify", str(bad), "--execute", "--sample", "-1")
    assert r.returncode == 2
    assert r.stderr.strip() == "synth verify: error: --sample must be >= 0 (0: every record), got -1"
    r = run_synth("verify", str(tmp_path / "nope"), "--execute")
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1 and "no such dataset folder" in r.stderr
