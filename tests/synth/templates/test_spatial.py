"""The spatial template family: variants, the rigid-body builtins and types it promises, real execution."""

from __future__ import annotations

import re

import pytest

from tests.synth.templates.family import (
    assert_parameters_used_and_not_shadowed,
    assert_skeletons_diverse,
    assert_variants_reachable_and_modules_clean,
    compile_and_execute,
    sample,
    samples,
)
from warp_synth.synth.templates import spatial as fam

pytestmark = pytest.mark.timeout(600)

# Warp 1.19 defines these helpers (warp/_src/math.py, utils.py) for float32 arguments only
FLOAT32_ONLY = ("velocity_at_point", "transform_twist", "transform_wrench", "quat_twist", "quat_twist_angle",
                "quat_twist_angle_signed", "quat_to_rpy", "quat_from_euler", "quat_between_vectors",
                "quat_to_euler", "norm_huber", "norm_pseudo_huber", "smooth_normalize")
# issue 15's builtins: where each is drawn (variant), and that it really runs
NEW_BUILTINS = {"argmax": "mesh_points", "transformation": "fk_chain", "quat_to_euler": "pose_error",
                "quat_twist_angle_signed": "fk_chain", "norm_huber": "pose_error",
                "norm_pseudo_huber": "pose_error", "smooth_normalize": "wrench_accum"}


SAMPLES = samples(fam, "spatial", 240)


def test_every_variant_is_reachable_and_renders_one_kernel() -> None:
    assert_variants_reachable_and_modules_clean(fam, SAMPLES)


def test_deterministic_per_seed() -> None:
    assert sample(fam, "spatial", 7) == sample(fam, "spatial", 7)
    assert sample(fam, "spatial", 7)[1] != sample(fam, "spatial", 8)[1]


def test_uses_the_promised_rigid_body_builtins_and_types() -> None:
    text = "\n".join(src for _, src, _ in SAMPLES)
    used = set(re.findall(r"wp\.(\w+)\(", text)) | set(re.findall(r"dtype=wp\.(\w+)", text))
    promised = (
        "quat_from_axis_angle", "quat_rotate", "quat_rotate_inv", "quat_inverse", "quat_to_matrix",
        "quat_from_matrix", "quat_rpy", "quat_to_axis_angle", "quat_slerp", "quat_identity", "normalize",
        "transform_point", "transform_vector", "transform_multiply", "transform_inverse",
        "transform_get_translation", "transform_get_rotation", "transform_identity", "transform_to_matrix",
        "transform_compose", "spatial_vector", "spatial_top", "spatial_bottom", "spatial_cross",
        "spatial_cross_dual", "spatial_dot", "spatial_adjoint", "skew", "atomic_add", "atomic_sub", "argmax",
        "transformation",
        *FLOAT32_ONLY, "quat", "quatd", "transform", "transformd", "spatial_vectord", "spatial_matrix",
        "spatial_matrixd", "mat33", "vec3d",
    )
    for name in promised:
        assert name in used, name
    assert re.search(r"\w+\.q\b", text) and re.search(r"\w+\.p\b", text)  # transform fields
    assert re.search(r"\w+ \* wp\.quat_inverse", text)  # quaternion products
    assert "@wp.struct" in text and "@wp.func" in text


def test_float32_only_helpers_stay_out_of_float64_kernels() -> None:
    f64 = [src for _, src, p in SAMPLES if p["dtype"] == "float64"]
    assert len(f64) >= 30
    for src in f64:
        assert not any(f"wp.{n}(" in src for n in FLOAT32_ONLY), src
        # wp.spatial_vector(w, v) builds float32 only: float64 ones come from six scalars
        assert "wp.spatial_vector(" not in src, src


def test_parameters_never_shadow_locals_and_every_parameter_is_used() -> None:
    assert_parameters_used_and_not_shadowed(SAMPLES)


def test_skeletons_are_diverse() -> None:
    assert_skeletons_diverse(SAMPLES, 0.9, 10)


def test_samples_screen_compile_and_execute() -> None:
    from warp_synth.records import Accepted

    picked: list[tuple[str, str, dict]] = []
    for v in fam.VARIANTS:  # a few of every variant, both dtypes
        mine = [s for s in SAMPLES if s[0] == v]
        picked += [s for s in mine if s[2]["dtype"] == "float32"][:4]
        picked += [s for s in mine if s[2]["dtype"] == "float64"][:2]
    outs = compile_and_execute(picked, 1 / 20)
    grads = [o.kernels[0].execution["grad"]["status"] for o in outs if isinstance(o, Accepted)]
    assert grads.count("passed") >= 0.9 * len(grads), grads  # rigid-body math is differentiable


def test_new_builtins_are_drawn_where_they_belong_and_execute() -> None:
    from warp_synth.records import Accepted

    picked: list[tuple[str, str, dict]] = []
    for name, variant in NEW_BUILTINS.items():
        hits = [smp for smp in SAMPLES if f"wp.{name}(" in smp[1]]
        assert hits and variant in {v for v, _, _ in hits}, name
        picked += [h for h in hits if h not in picked][:1]
    assert any(p["dtype"] == "float64" for _, src, p in SAMPLES if "wp.transformation(" in src)
    outs = compile_and_execute(picked, 0.0)
    for (_, src, _), o in zip(picked, outs, strict=True):
        grad = o.kernels[0].execution["grad"]
        if "wp.argmax(" in src:  # an index: Warp registers argmax without an adjoint
            assert grad["status"] == "not_differentiable" and "argmax" in grad["reason"], grad
        else:
            assert isinstance(o, Accepted) and grad["status"] == "passed", (grad, src)
