"""synth.llm.coverage: what accepted kernels used (through warp_synth.usage.scan) and what to suggest next."""

from __future__ import annotations

import json
import random
from types import ModuleType

import pytest

from warp_synth.synth.llm.coverage import Coverage, suggestible_builtins
from warp_synth.synth.llm.messages import diversify_messages, feature_descriptions
from warp_synth.usage import DTYPE_NAMES, FEATURES, scan

pytestmark = pytest.mark.timeout(120)


def test_observe_returns_what_the_kernel_uses(k: ModuleType) -> None:
    usage = Coverage.create(k.BUILTINS).observe(k.RICH)
    assert usage == scan(k.RICH)
    assert {"sin", "normalize", "atomic_add", "mul", "add", "neg"} <= usage.builtins
    assert usage.dtypes == {"float64", "vec3", "int32", "float32"}
    assert usage.features == {
        "while", "for", "if", "elif", "break", "continue", "nested_loop", "bool_op", "ternary",
        "aug_assign", "wp_func_call", "struct", "atomic", "multi_dim", "constant",
    }  # fmt: skip
    assert scan(k.SAXPY).features == {"scalar_param"}
    assert scan("def broken(:\n") == scan("")


def test_every_feature_in_the_prompt_vocabulary_is_detectable(k: ModuleType) -> None:
    detected = scan(k.RICH).features | scan(k.SAXPY).features | scan(k.TILE).features
    assert set(feature_descriptions()) == detected


def test_default_universes_are_the_usage_vocabulary(k: ModuleType) -> None:
    coverage = Coverage.create(k.BUILTINS)
    assert (coverage.dtypes, coverage.features) == (DTYPE_NAMES, FEATURES)


def test_suggestible_builtins_drop_scene_objects_operators_and_plumbing(k: ModuleType) -> None:
    assert suggestible_builtins(k.BUILTINS) == ["atomic_add", "cos", "exp", "normalize", "sin", "tile_sum"]


def test_coverage_reports_what_is_not_yet_covered(k: ModuleType) -> None:
    coverage = Coverage.create(k.BUILTINS)
    assert coverage.uncovered("builtins") == ["atomic_add", "cos", "exp", "normalize", "sin", "tile_sum"]
    coverage.observe(k.RICH)
    assert coverage.uncovered("builtins") == ["cos", "exp", "tile_sum"]
    assert "vec3" not in coverage.uncovered("dtypes") and "mat33" in coverage.uncovered("dtypes")
    assert coverage.uncovered("features") == ["tile", "scalar_param"]  # universe order
    assert coverage.summary()["builtins"] == {"covered": 3, "total": 6}
    assert coverage.kernels_seen == 1


def test_suggestions_prefer_uncovered_names_and_are_rng_driven(k: ModuleType) -> None:
    coverage = Coverage.create(k.BUILTINS)
    coverage.observe(k.RICH)
    hint = coverage.suggest(random.Random(7), builtins=3, dtypes=2, features=2)
    assert sorted(hint.builtins) == ["cos", "exp", "tile_sum"]
    assert sorted(hint.features) == ["scalar_param", "tile"]
    assert all(name in coverage.uncovered("dtypes") for name in hint.dtypes)
    assert coverage.suggest(random.Random(7)) == coverage.suggest(random.Random(7))
    picks = {coverage.suggest(random.Random(seed), dtypes=1).dtypes for seed in range(20)}
    assert len(picks) > 1


def test_suggestions_fall_back_to_least_used_once_everything_is_covered() -> None:
    coverage = Coverage(builtins=("sin", "cos"), dtypes=("float32",), features=("for",))
    coverage.observe("import warp as wp\n@wp.kernel\ndef k():\n    x = wp.sin(1.0)\n")
    coverage.observe("import warp as wp\n@wp.kernel\ndef k():\n    x = wp.sin(1.0) + wp.cos(1.0)\n")
    assert coverage.uncovered("builtins") == []
    assert coverage.suggest(random.Random(0), builtins=1).builtins == ("cos",)


def test_coverage_round_trips_through_json(k: ModuleType) -> None:
    coverage = Coverage.create(k.BUILTINS)
    coverage.observe(k.RICH)
    coverage.observe(k.SAXPY)
    restored = Coverage.from_dict(json.loads(json.dumps(coverage.to_dict())))
    assert restored.to_dict() == coverage.to_dict()
    assert restored.uncovered("features") == coverage.uncovered("features")
    upgraded = Coverage.from_dict(coverage.to_dict(), builtins=[*k.BUILTINS, "tanh"])
    assert "tanh" in upgraded.uncovered("builtins") and "sin" not in upgraded.uncovered("builtins")



def test_a_state_file_from_before_the_vocabulary_merge_resumes(k: ModuleType) -> None:
    # state files once named the @wp.func feature "wp_func"; a name the vocabulary lost is dropped
    old_features = ["for", "while", "if", "elif", "break", "continue", "nested_loop", "bool_op", "ternary",
                    "aug_assign", "wp_func", "struct", "atomic", "tile", "multi_dim", "scalar_param", "constant"]
    saved = {"builtins": ["cos", "sin"], "dtypes": ["float32", "vec3", "vec9"], "features": old_features,
             "counts": {"builtins": {"sin": 1}, "dtypes": {"vec3": 1}, "features": {"wp_func": 2, "for": 1}},
             "kernels_seen": 3}
    restored = Coverage.from_dict(saved)
    assert restored.features == FEATURES
    assert restored.dtypes == ("float32", "vec3")
    assert restored.counts["features"] == {"wp_func_call": 2, "for": 1}
    assert "wp_func_call" not in restored.uncovered("features") and restored.kernels_seen == 3
    hint = restored.suggest(random.Random(0), features=len(FEATURES))
    assert set(hint.features) == set(FEATURES)
    diversify_messages("loop", [k.SAXPY], hint)  # every suggested feature has prompt wording
