"""Fixtures for the red-team suite: the IR a clean run gives the benign sentinels."""

from __future__ import annotations

import pytest

from tests.redteam.canaries import SENTINELS, ir_of_outcome


@pytest.fixture(scope="session")
def reference_ir() -> dict[str, dict[str, str]]:
    """Each sentinel's IR from a clean engine run (fresh workers, nothing hostile in them)."""
    from dataclasses import asdict

    from warp_synth.extract.engine import check_sources

    names = list(SENTINELS)
    outcomes = check_sources([SENTINELS[n] for n in names], workers=2, batch_size=len(names))
    ref = {}
    for n, o in zip(names, outcomes, strict=True):
        d = asdict(o)
        assert d["status"] == "accepted", f"sentinel {n} does not compile: {d}"
        ref[n] = ir_of_outcome(d)
    return ref
