"""``--category`` values (one category, a group, or a list of them), and the rows ``--keep-rejects`` keeps."""

from __future__ import annotations

import pytest

from warp_synth.reasons import Reason
from warp_synth.records import (
    CATEGORIES,
    SEED_CATEGORIES,
    Accepted,
    Attempt,
    BackendIR,
    Candidate,
    KernelIR,
    Rejected,
    RejectRecord,
    make_reject,
    parse_categories,
)
from warp_synth.synth.loop import targets

pytestmark = pytest.mark.timeout(30)


def test_groups_and_lists_name_categories_in_order_each_once() -> None:
    assert parse_categories("atomic") == ("atomic",)
    assert parse_categories("all") == CATEGORIES
    assert parse_categories("seed") == SEED_CATEGORIES and len(SEED_CATEGORIES) == 10
    assert parse_categories("spatial, atomic,spatial") == ("spatial", "atomic")
    assert parse_categories("bitwise,seed") == ("bitwise", *SEED_CATEGORIES)


@pytest.mark.parametrize("spec", ["", "atomic,", "Atomic", "seed,bogus"])
def test_a_bad_name_is_a_value_error(spec: str) -> None:
    with pytest.raises(ValueError, match="unknown category"):
        parse_categories(spec)


def test_targets_split_n_evenly_with_the_remainder_first() -> None:
    assert targets("atomic", 7) == {"atomic": 7}
    t = targets("seed", 23)
    assert list(t) == list(SEED_CATEGORIES) and sum(t.values()) == 23
    assert t["arithmetic"] == t["conditional"] == t["loop"] == 3 and t["scalar_param"] == 2
    assert targets("all", len(CATEGORIES)) == dict.fromkeys(CATEGORIES, 1)


def _kernel_ir(name: str, grad: str = "passed") -> KernelIR:
    b = BackendIR(forward="f", backward="b")
    return KernelIR(kernel_name=name, mangled_name=name, cpu=b, cuda=b, num_params=0, arg_types={}, builtins=[],
                    module_id="m", execution={"status": "passed", "grad": {"status": grad}})


def test_a_kept_reject_says_why_even_when_it_compiled() -> None:
    cand = Candidate("src", "atomic", "mutation", parent_id="p", provenance={"operators": ["x"]},
                     metadata={"model": "m", "chain": {"id": "c", "round": 1}})
    two = make_reject(Attempt(cand, "r1", Accepted("r1", [_kernel_ir("a"), _kernel_ir("b")])),
                      Reason.MULTIPLE_KERNELS, {"seed": 3})
    assert two.message == "the module defines 2 kernels (a, b); a record holds exactly one"
    assert two.chain == {"id": "c", "round": 1} and "chain" not in two.metadata
    assert two.metadata == {"model": "m", "provenance": {"operators": ["x"]}, "seed": 3}
    grad = make_reject(Attempt(cand, "r2", Accepted("r2", [_kernel_ir("a", "failed")])), Reason.GRAD_NOT_PASSED, {})
    assert grad.message == "the adjoint check did not pass: failed" and grad.line is None
    bad = make_reject(Attempt(cand, "r3", Rejected("r3", Reason.CODEGEN, "boom", 4)), Reason.CODEGEN, {})
    assert (bad.reason, bad.message, bad.line, bad.parent_id) == ("codegen", "boom", 4, "p")
    assert RejectRecord.from_json_dict(bad.to_json_dict()) == bad
