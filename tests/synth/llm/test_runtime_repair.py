"""A kernel that compiles but fails when it runs goes back to the LLM with the runtime failure, through
the real openai client over HTTP to a loopback server, and the repaired kernel is kept."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support.cli import read_records, run_synth
from tests.support.openai_server import OpenAIServer, RecordedRequest, Response, by_prompt
from warp_synth.reasons import Reason
from warp_synth.synth.llm.messages import REPAIR_MARKER, repair_messages

pytestmark = pytest.mark.timeout(600)

# compiles on both devices, but reads one element past the end of ``a`` (both arrays have the launch's size)
OUT_OF_BOUNDS = '''import warp as wp

@wp.kernel
def shifted(a: wp.array(dtype=float), b: wp.array(dtype=float)):
    i = wp.tid()
    b[i] = a[i + 1] * 2.0 + 0.5
'''
FIXED = '''import warp as wp

@wp.kernel
def shifted(a: wp.array(dtype=float), b: wp.array(dtype=float)):
    i = wp.tid()
    j = wp.min(i + 1, a.shape[0] - 1)
    b[i] = a[j] * 2.0 + 0.5
'''
# inputs are drawn from [0.25, 1]: the log of a negative number is NaN
NAN = '''import warp as wp

@wp.kernel
def decay(a: wp.array(dtype=float), b: wp.array(dtype=float)):
    i = wp.tid()
    b[i] = wp.log(a[i] - 3.0) * 0.5
'''
NAN_FIXED = NAN.replace("a[i] - 3.0", "a[i] + 3.0")

BOUNDS_CHECK = "Warp's bounds check `i >= -arr.shape[0] && i < arr.shape[0]` failed"


def fenced(code: str) -> str:
    return f"Here is the kernel:\n\n```python\n{code}```\n"


def run(out: Path, first: str, fix: str) -> tuple[list[RecordedRequest], list[RecordedRequest]]:
    """``synth run`` of one arithmetic kernel into ``out`` whose first reply is ``first`` and whose
    repair reply is ``fix``; every chat request the server saw, and the repair requests among them."""
    script = by_prompt([(REPAIR_MARKER, Response.chat(fenced(fix)))], Response.chat(fenced(first)))
    with OpenAIServer(script) as server:
        r = run_synth("run", "--category", "arithmetic", "--n", "1", "--out", str(out), "--no-progress",
                      "--llm-base-url", server.base_url, "--model", "test-model", "--concurrency", "1",
                      "--mutation-rate", "0", env_extra={"SYNTH_LLM_BACKOFF_BASE": "0.05"})
        requests = server.chat_requests()
    assert r.returncode == 0, r.stderr
    return requests, [q for q in requests if REPAIR_MARKER in q.last_user_message]


@pytest.fixture(scope="module")
def oob_run(tmp_path_factory) -> tuple[Path, list[RecordedRequest], list[RecordedRequest]]:
    out = tmp_path_factory.mktemp("oob") / "llm"
    return (out, *run(out, OUT_OF_BOUNDS, FIXED))


def test_repair_prompt_quotes_the_out_of_bounds_failure(oob_run):
    _, requests, repairs = oob_run
    assert len(requests) == 2 and len(repairs) == 1 and requests[1] is repairs[0]
    prompt = repairs[0].last_user_message
    assert "a[i + 1] * 2.0 + 0.5" in prompt  # the failing kernel is handed back
    assert "Failure: out_of_bounds" in prompt
    assert ("an array index is out of bounds in the forward launch (" + BOUNDS_CHECK
            + "); launched with dim=[64] on arrays a float32[64], b float32[64]") in prompt


def test_repaired_out_of_bounds_kernel_is_accepted(oob_run):
    out, _, _ = oob_run
    [rec] = read_records(out)
    assert rec["kernel_name"] == "shifted" and rec["origin"] == "llm-repair"
    assert rec["python_source"].strip() == FIXED.strip()
    assert rec["metadata"]["repair_rounds"] == 1 and rec["metadata"]["model"] == "test-model"
    assert rec["execution"]["status"] == "passed" and rec["execution"]["grad"]["status"] == "passed"
    stats = json.loads((out / "stats.json").read_text())
    assert stats["accepted_by_origin"] == {"llm-repair": 1}
    assert stats["llm"]["repair_success_by_round"] == {"1": {"tried": 1, "accepted": 1}}
    assert stats["llm"]["first_try_accepted"] == 0


def test_runtime_rejection_before_a_repair_is_tallied(oob_run):
    """loop.py: every single-kernel outcome rejected for a runtime reason is tallied per category;
    the first reply ran (and failed its bounds check) before the repair was accepted."""
    out, _, _ = oob_run
    stats = json.loads((out / "stats.json").read_text())
    table = stats["execution_by_category"]["arithmetic"]
    assert table.get("out_of_bounds") == 1 and table["passed"] == 1
    assert table["executed"] == 2
    assert stats["execution"]["rejected"] == {"out_of_bounds": 1}


def test_non_finite_kernel_is_repaired_from_the_runtime_message(tmp_path):
    out = tmp_path / "llm"
    requests, repairs = run(out, NAN, NAN_FIXED)
    assert len(requests) == 2 and len(repairs) == 1
    prompt = repairs[0].last_user_message
    assert "Failure: non_finite" in prompt
    assert "the forward pass wrote nan into 'b'" in prompt and "floats drawn from [0.25, 1.0]" in prompt
    [rec] = read_records(out)
    assert rec["kernel_name"] == "decay" and rec["origin"] == "llm-repair"
    assert "a[i] + 3.0" in rec["python_source"] and rec["execution"]["status"] == "passed"


@pytest.mark.parametrize("reason", [Reason.OUT_OF_BOUNDS, Reason.NON_FINITE, Reason.NONDETERMINISTIC,
                                    Reason.TRIVIAL])
def test_repair_prompt_explains_runtime_reasons(reason: Reason):
    """The repair prompt explains every reason extraction can give, runtime ones included, and does
    not tell the model that the kernel failed to build when it built and then failed its run."""
    [_, user] = repair_messages(OUT_OF_BOUNDS, reason, "the message", None)
    failure = next(ln for ln in user["content"].splitlines() if ln.startswith("Failure: "))
    assert failure != f"Failure: {reason}: extraction failed.", failure
