"""Reasons are one closed vocabulary: stable strings on disk, a typed error for anything else."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from warp_synth.extract.executors.local import outcome_from_dict
from warp_synth.reasons import EXTRACTION_REASONS, Reason, UnknownReason
from warp_synth.records import Rejected

pytestmark = pytest.mark.timeout(30)


def test_a_reason_is_its_string_in_counters_json_and_messages() -> None:
    counts = Counter({"codegen": 2})  # as reloaded from a previous stats.json
    counts[Reason.CODEGEN] += 1
    assert counts == {"codegen": 3}
    assert json.dumps({Reason.CPU_COMPILE: 1, "x": Reason.TIMEOUT}) == '{"cpu_compile": 1, "x": "timeout"}'
    assert f"{Reason.CUDA_COMPILE}: {Reason.CRASH!s}" == "cuda_compile: crash"


def test_parse_accepts_every_value_and_rejects_anything_else() -> None:
    assert [Reason.parse(r.value) for r in Reason] == list(Reason)
    with pytest.raises(UnknownReason, match="unknown rejection reason 'cpu_compiel'"):
        Reason.parse("cpu_compiel")
    assert set(EXTRACTION_REASONS) < set(Reason)


def test_an_unknown_reason_from_a_worker_is_a_typed_error() -> None:
    good = {"key": "k", "status": "rejected", "reason": "cpu_compile", "message": "boom", "line": 3}
    assert outcome_from_dict(good, "k") == Rejected("k", Reason.CPU_COMPILE, "boom", 3)
    with pytest.raises(UnknownReason):
        outcome_from_dict({**good, "reason": "pwned"}, "k")
