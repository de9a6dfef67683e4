"""How a unit's process report is read (extract.unit_runs._outcome): the process is not trusted."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest

from warp_synth.extract.execute import ADJOINT_DIED
from warp_synth.extract.unit_runs import _outcome
from warp_synth.reasons import Reason

pytestmark = pytest.mark.timeout(60)

UNIT = SimpleNamespace(entries=[("k", "k_1234", {})], source="import warp as wp\n")


def test_a_malformed_report_raises_so_the_unit_is_a_crash(tmp_path):
    log = str(tmp_path / "log")
    for lines in (["R {not json"], ['R {"failure": {"reason": "made_up", "message": "x"}}'],
                  ['R {"executions": [1, 2]}'], ["P adjoint", "F [1]"]):
        with pytest.raises((ValueError, TypeError, AttributeError)):
            _outcome(UNIT, lines, -11, False, log)


def test_a_failure_and_an_adjoint_death_are_read_as_such(tmp_path):
    log = str(tmp_path / "log")
    failed = _outcome(UNIT, ['R {"failure": {"reason": "trivial", "message": "writes nothing"}}'], 0, False, log)
    assert failed == (Reason.TRIVIAL, "writes nothing")
    forward = {"k_1234": {"status": "passed", "grad": {"status": "failed", "reason": ADJOINT_DIED}}}
    runs = _outcome(UNIT, ["P forward", "F " + json.dumps(forward), "P adjoint"], -11, False, log)
    assert runs["k_1234"]["status"] == "passed"
    assert runs["k_1234"]["grad"]["reason"].startswith(ADJOINT_DIED + ": the kernel's process died in the adjoint")
    timeout = _outcome(UNIT, ["P forward"], None, True, log)
    assert timeout[0] is Reason.TIMEOUT
