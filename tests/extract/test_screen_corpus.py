"""The screen against corpora: our own generator's candidates (all admitted) and the red-team
suite's hostile modules (``tests/redteam/cases.py``, all rejected where the screen is the defence)."""

from __future__ import annotations

import pytest

from warp_synth.extract.screen import screen
from warp_synth.records import CATEGORIES

pytestmark = pytest.mark.timeout(300)

_CTX = {"PORT": "40000", "MARK": "/tmp/wsynth-mark", "CHECKOUT_MARK": "/tmp/wsynth-checkout-mark",
        "PTH": "/tmp/wsynth.pth", "SECRET_PATH": "/tmp/wsynth-secret", "DECOY": "1", "TAG": "tag", "NONCE": "n0"}


@pytest.mark.parametrize("category", CATEGORIES)
def test_template_and_mutant_candidates_are_admitted(category):
    from warp_synth.synth.offline import OfflineCandidates

    bad = []
    for seed in (0, 1):
        for i in range(12):
            cand = OfflineCandidates(seed).candidate(category, i)
            r = screen(cand.source)
            if not r.ok:
                bad.append((seed, i, r.message))
    assert not bad


def test_every_red_team_case_the_screen_must_stop_is_rejected():
    cases = pytest.importorskip("tests.redteam.cases")
    screened = (cases.IMPORT, cases.CODEGEN, cases.ENCODING, cases.CPP, cases.ESCAPE)
    admitted = []
    for case in cases.CASES:
        if case.technique not in screened and case.payload is None:
            continue  # benign text that tests another layer (worker limits, synth verify)
        r = screen(cases.render(case, _CTX))
        if r.ok or r.reason != "unsafe":
            admitted.append((case.name, r))
    assert not admitted
