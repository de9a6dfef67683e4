"""Mutant descriptions: the parent's, its facts re-read from the mutant, marked approximate iff meaning changed."""

from __future__ import annotations

import re

import pytest

from warp_synth.records import CATEGORIES, Candidate
from warp_synth.synth.mutators import ALL_OPERATORS
from warp_synth.synth.mutators.mutate import OPERATORS
from warp_synth.synth.offline import OfflineCandidates, describe_mutant
from warp_synth.synth.templates import TemplateSource
from warp_synth.synth.templates.facts import facts, io_sentence

KEEPS = {"split_temporary", "early_return_guard", "unroll_loop", "negate_branch", "extract_func", "inline_func"}


def test_every_operator_says_whether_it_changes_meaning() -> None:
    for op in ALL_OPERATORS:
        assert "changes" in vars(op) or any("changes" in vars(b) for b in op.__mro__[1:-2]), op.name
        assert op.changes is None or (isinstance(op.changes, str) and op.changes.strip()), op.name
        assert (op.changes is None) == (op.name in KEEPS), op.name


def _mutants(n: int = 30) -> list[Candidate]:
    oc = OfflineCandidates(seed=7)
    return [c for cat in CATEGORIES for i in range(n) if (c := oc.candidate(cat, i)).origin == "mutation"]


def test_mutants_are_marked_approximate_iff_a_meaning_changing_operator_applied() -> None:
    mutants = _mutants()
    assert len(mutants) > 100
    kinds = set()
    for c in mutants:
        ops = c.provenance["operators"]
        changed = any(OPERATORS[o].changes is not None for o in ops)
        kinds.add(changed)
        assert c.description_by == {"by": "mutation", "approximate": changed, "operators": ops}
        assert c.description is not None
        assert c.description.endswith("the arithmetic may differ from the sentences above.") == changed
        assert len(re.findall(r"[.!?](?:\s|$)", c.description)) <= 3, c.description
        for o in ops:
            if OPERATORS[o].changes is not None:
                assert OPERATORS[o].changes in c.description
    assert kinds == {True, False}


def test_mutant_facts_are_read_from_the_mutant() -> None:
    for c in _mutants(12):
        assert io_sentence(facts(c.source)) in c.description, (c.description, c.source)


def test_parent_lead_is_kept() -> None:
    oc = OfflineCandidates(seed=3)
    for cat in CATEGORIES:
        for i in range(10):
            c = oc.candidate(cat, i)
            if c.origin != "mutation":
                continue
            lead = c.description.split(" The kernel `", 1)[0]
            assert lead and not lead.startswith("The kernel")
            assert c.description.startswith(lead + " The kernel `")


@pytest.mark.parametrize("operator, approximate", [("swap_arith", True), ("split_temporary", False)])
def test_describe_mutant_by_operator(operator: str, approximate: bool) -> None:
    parent = TemplateSource(1).sample("arithmetic")
    text, by = describe_mutant(parent, parent.source, [operator])
    assert by["approximate"] is approximate and by["operators"] == [operator]
    assert text is not None and text.startswith(parent.description)
    assert (text != parent.description) is approximate


def test_store_to_atomic_rereads_the_writes() -> None:
    for seed in range(50):
        parent = TemplateSource(seed).sample("arithmetic")
        name = next(iter(facts(parent.source).writes))
        mutant = re.sub(rf"^(\s+){name}\[(\w+)\] = (.+)$", rf"\1wp.atomic_add({name}, \2, \3)", parent.source,
                        count=1, flags=re.M)
        if mutant != parent.source and len(facts(parent.source).writes) == 1:
            break
    else:
        raise AssertionError("no 1-D single-output arithmetic sample")
    text, by = describe_mutant(parent, mutant, ["store_to_atomic"])
    assert by["approximate"] and text is not None
    assert f"updates `{name}` with wp.atomic_add" in text and "a store turned into an atomic update" in text
    assert f"stores into `{name}`" in parent.description and f"stores into `{name}`" not in text
