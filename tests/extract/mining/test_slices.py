"""The child's report crosses the process boundary as JSON; its reasons come back typed."""

from __future__ import annotations

import json

import pytest

from warp_synth.extract.mining.slices import (
    FileSlices,
    KernelSlice,
    file_slices_from_json,
    file_slices_to_json,
)
from warp_synth.reasons import Reason, UnknownReason

pytestmark = pytest.mark.timeout(60)


def test_a_report_round_trips_with_typed_reasons() -> None:
    fs = FileSlices(
        file="/p/a.py",
        module="a",
        kernels=[
            KernelSlice("k", 3, source="import warp as wp\n", module_options={"block_dim": 64}),
            KernelSlice("j", 9, reason=Reason.PYTHON_OBJECT, message="uses 'D', a Python dict"),
            KernelSlice("f.<locals>.g", 12, reason=Reason.NOT_INSTANTIATED, message="factory"),
        ],
    )
    line = file_slices_to_json(fs)
    assert '"reason": "python_object"' in line  # the stable string, as stats.json has it
    back = file_slices_from_json(json.loads(line))
    assert back == fs
    assert [k.reason for k in back.kernels] == [None, Reason.PYTHON_OBJECT, Reason.NOT_INSTANTIATED]
    assert all(isinstance(k.reason, Reason) for k in back.kernels if k.reason is not None)


def test_a_file_level_error_comes_back_as_a_reason() -> None:
    d = {"file": "/p/b.py", "error": "import_error", "message": "RuntimeError: no",
         "kernels": [{"name": "lost", "line": 4, "reason": "import_error", "message": "RuntimeError: no"}]}
    fs = file_slices_from_json(d)
    assert fs.error is Reason.IMPORT_ERROR and fs.kernels[0].reason is Reason.IMPORT_ERROR


def test_an_unknown_reason_is_a_typed_protocol_error() -> None:
    d = {"file": "/p/c.py", "kernels": [{"name": "k", "line": 1, "reason": "pyhton_object"}]}
    with pytest.raises(UnknownReason, match="pyhton_object"):
        file_slices_from_json(d)


def test_reasons_print_as_their_stable_strings() -> None:
    assert f"{Reason.SLICE_ERROR}: x" == "slice_error: x" and str(Reason.NAME_CLASH) == "name_clash"
    assert f"{Reason.IMPORT_TIMEOUT}" == "import_timeout" == Reason.IMPORT_TIMEOUT
    assert json.dumps({Reason.IMPORT_CRASH: Reason.IMPORT_ERROR}) == '{"import_crash": "import_error"}'
