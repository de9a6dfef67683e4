"""The volumes template family: variants, the volume builtins it promises, real execution against wp.Volume
grids built on the CPU, and replays of the stored volumes."""

from __future__ import annotations

import ast
import re

import pytest

from tests.synth.templates.family import (
    assert_parameters_used_and_not_shadowed,
    assert_skeletons_diverse,
    assert_variants_reachable_and_modules_clean,
    compile_and_execute,
    only_kernel,
    sample,
    samples,
)
from warp_synth.synth.templates import volumes as fam

pytestmark = pytest.mark.timeout(900)


SAMPLES = samples(fam, "volumes", 300)


def test_every_variant_is_reachable_and_renders_one_kernel() -> None:
    assert_variants_reachable_and_modules_clean(fam, SAMPLES)


def test_deterministic_per_seed() -> None:
    assert sample(fam, "volumes", 7) == sample(fam, "volumes", 7)
    assert sample(fam, "volumes", 7)[1] != sample(fam, "volumes", 8)[1]


def test_uses_the_promised_volume_builtins() -> None:
    text = "\n".join(src for _, src, _ in SAMPLES)
    used = set(re.findall(r"wp\.(\w+)\(", text))
    promised = (
        "volume_sample", "volume_sample_f", "volume_sample_i", "volume_sample_v", "volume_sample_grad",
        "volume_sample_grad_f", "volume_sample_index", "volume_sample_grad_index", "volume_lookup",
        "volume_lookup_f", "volume_lookup_i", "volume_lookup_v", "volume_lookup_index", "volume_store",
        "volume_store_f", "volume_store_i", "volume_store_v", "volume_world_to_index", "volume_world_to_index_dir",
        "volume_index_to_world", "volume_index_to_world_dir", "volume_voxel_count",
    )
    assert not set(promised) - used, set(promised) - used
    assert "wp.Volume.LINEAR" in text and "wp.Volume.CLOSEST" in text and "@wp.func" in text


def test_ids_are_uint64_and_every_parameter_is_used() -> None:
    for v, src, p in SAMPLES:
        k = only_kernel(src)
        ids = [ast.unparse(a.annotation) for a in k.args.args].count("wp.uint64")
        assert ids == (2 if v == "advect" and p["what"] == "backtrace" else 1), src  # a velocity and a density
    assert_parameters_used_and_not_shadowed(SAMPLES)


def test_skeletons_are_diverse() -> None:
    assert_skeletons_diverse(SAMPLES, 0.5, 5)


def test_samples_screen_compile_execute_and_replay() -> None:
    from warp_synth.extract.verify import replay_records
    from warp_synth.records import Accepted

    picked: list[tuple[str, str, dict]] = []
    for v in fam.VARIANTS:  # a few of every variant
        picked += [s for s in SAMPLES if s[0] == v][:3]
    outs = compile_and_execute(picked, 1 / 10)
    records = []
    types = set()
    for (_, src, _), o in zip(picked, outs, strict=True):
        if isinstance(o, Accepted) and o.kernels[0].execution.get("status") == "passed":
            e = o.kernels[0].execution
            types |= {d["type"] for d in e["inputs"].values() if d["dtype"] == "volume"}
            records.append({"id": o.key, "python_source": src, "execution": e})
    assert types == {"float32", "int32", "vec3f", "index"}
    results = replay_records(records[::2], workers=1)
    assert all(r.ok for r in results), [r for r in results if not r.ok]
