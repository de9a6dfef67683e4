"""Every hostile case through each of the three ways untrusted code reaches Warp: 0 escapes.

Each path runs once (a module-scoped fixture) over all cases in batches; a test fails with a
table of the cases that escaped (case, technique class, path, canary, detail).  The engine and
verify paths also run with the screen skipped (trusted units, ``synth verify --no-screen``), so
the sandbox is tested on every technique even when the screen stops them all.  Set
``WSYNTH_REDTEAM_REPORT=DIR`` to also get each path's per-case outcome as JSON in DIR.
"""

from __future__ import annotations

import pytest

from tests.redteam.canaries import escape_report
from tests.redteam.paths import engine_path, llm_path, verify_path

pytestmark = [pytest.mark.timeout(600), pytest.mark.slow]


@pytest.fixture(scope="module")
def engine_result(tmp_path_factory, reference_ir):
    res = engine_path(tmp_path_factory.mktemp("redteam-engine"), reference_ir)
    res.report()
    return res


@pytest.fixture(scope="module")
def engine_unscreened_result(tmp_path_factory, reference_ir):
    res = engine_path(tmp_path_factory.mktemp("redteam-engine-no-screen"), reference_ir, trusted=True)
    res.report()
    return res


@pytest.fixture(scope="module")
def llm_result(tmp_path_factory, reference_ir):
    res = llm_path(tmp_path_factory.mktemp("redteam-llm"), reference_ir)
    res.report()
    return res


@pytest.fixture(scope="module")
def verify_result(tmp_path_factory):
    res = verify_path(tmp_path_factory.mktemp("redteam-verify"))
    res.report()
    return res


@pytest.fixture(scope="module")
def verify_unscreened_result(tmp_path_factory):
    res = verify_path(tmp_path_factory.mktemp("redteam-verify-no-screen"), screened=False)
    res.report()
    return res


def test_engine_path_contains_every_case(engine_result):
    """warp_synth.extract.Extractor, untrusted units, every case in batches."""
    assert not engine_result.findings, escape_report("engine", engine_result.findings, engine_result.accepted)


# With the screen skipped a case's Python runs by definition, and what Warp then emits is what
# that Python asked for: proving it ran (a probe string), injected C++ or an oversized record are
# not escapes there.  Containment is: no socket, no write or read outside, no secret, no survivor,
# no signal, no bomb past its limit, no neighbour or later batch changed, the run healthy.
EXECUTION_IS_GRANTED = frozenset({"probe", "cpp-injection", "size"})


def _contained(findings):
    return [f for f in findings if f.canary not in EXECUTION_IS_GRANTED]


def test_engine_path_without_screen_contains_every_case(engine_unscreened_result):
    """The same cases as trusted units (the screen skipped): the sandbox alone must contain each."""
    res = engine_unscreened_result
    escaped = _contained(res.findings)
    assert not escaped, escape_report(res.path, escaped, res.accepted)


def test_llm_run_contains_every_case(llm_result):
    """synth run in LLM mode against a hostile loopback endpoint that serves every case."""
    if llm_result.refused:
        pytest.skip(llm_result.refused)
    assert not llm_result.findings, escape_report("llm-cli", llm_result.findings, llm_result.accepted)


def test_verify_contains_every_forged_record(verify_result):
    """synth verify over a dataset of forged records, one per case: records are code too."""
    if verify_result.refused:
        pytest.skip(verify_result.refused)
    assert not verify_result.findings, escape_report("verify", verify_result.findings, verify_result.accepted)


def test_verify_without_screen_contains_every_forged_record(verify_unscreened_result):
    """synth verify --no-screen (meant for records mined from trusted code) over the same forged
    records: the sandbox alone must contain each."""
    res = verify_unscreened_result
    if res.refused:
        pytest.skip(res.refused)
    escaped = _contained(res.findings)
    assert not escaped, escape_report(res.path, escaped, res.accepted)
