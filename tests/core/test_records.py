"""``--category`` values: one category, a group, or a list of them."""

from __future__ import annotations

import pytest

from warp_synth.records import CATEGORIES, SEED_CATEGORIES, parse_categories
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
