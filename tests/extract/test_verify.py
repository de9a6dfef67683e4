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
