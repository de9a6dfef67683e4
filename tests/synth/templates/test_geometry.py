"""The geometry template family: variants, the query builtins it promises, real execution against wp.Mesh,
wp.Bvh and wp.HashGrid objects built on the CPU, and replays of the stored objects."""

from __future__ import annotations

import ast
import re

import pytest

from tests.synth.templates.family import (
    assert_skeletons_diverse,
    assert_variants_reachable_and_modules_clean,
    compile_and_execute,
    only_kernel,
    sample,
    samples,
)
from warp_synth.synth.templates import geometry as fam

pytestmark = pytest.mark.timeout(900)


SAMPLES = samples(fam, "geometry", 300)


def test_every_variant_is_reachable_and_renders_one_kernel() -> None:
    assert_variants_reachable_and_modules_clean(fam, SAMPLES)


def test_deterministic_per_seed() -> None:
    assert sample(fam, "geometry", 7) == sample(fam, "geometry", 7)
    assert sample(fam, "geometry", 7)[1] != sample(fam, "geometry", 8)[1]


def test_uses_the_promised_query_builtins() -> None:
    text = "\n".join(src for _, src, _ in SAMPLES)
    used = set(re.findall(r"wp\.(\w+)\(", text))
    promised = (
        "mesh_query_point", "mesh_query_point_no_sign", "mesh_query_point_sign_normal",
        "mesh_query_point_sign_winding_number", "mesh_query_point_sign_parity", "mesh_query_ray",
        "mesh_query_ray_anyhit", "mesh_query_ray_count_intersections", "mesh_eval_position",
        "mesh_eval_face_normal", "mesh_query_aabb", "mesh_query_sphere", "mesh_query_aabb_next", "mesh_get_point",
        "mesh_get_index", "bvh_query_aabb", "bvh_query_sphere", "bvh_query_ray", "bvh_query_next",
        "hash_grid_query", "hash_grid_query_next", "hash_grid_point_id",
    )
    assert not set(promised) - used, set(promised) - used
    assert "for j in wp.hash_grid_query(" in text and "for j in nb:" in text  # both loop forms
    assert "wp.vec3d" in text and "@wp.func" in text


def test_ids_are_uint64_and_every_parameter_is_used() -> None:
    for _, src, _ in SAMPLES:
        k = only_kernel(src)
        params = {a.arg: ast.unparse(a.annotation) for a in k.args.args}
        assert list(params.values()).count("wp.uint64") == 1, src
        targets = [n.targets[0] for n in ast.walk(k) if isinstance(n, ast.Assign)]
        assigned = {t.id for tg in targets for t in (tg.elts if isinstance(tg, ast.Tuple) else [tg])
                    if isinstance(t, ast.Name)}
        assert not set(params) & assigned, (set(params) & assigned, src)
        read = {n.id for stmt in k.body for n in ast.walk(stmt) if isinstance(n, ast.Name)}
        assert set(params) <= read, (set(params) - read, src)


def test_mesh_and_bvh_queries_stay_float32() -> None:
    for v, src, p in SAMPLES:
        if v not in fam.GRID_VARIANTS:
            assert p["dtype"] == "float32" and "float64" not in src and "vec3d" not in src, src


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
    kinds = set()
    for (_, src, _), o in zip(picked, outs, strict=True):
        if isinstance(o, Accepted) and o.kernels[0].execution.get("status") == "passed":
            e = o.kernels[0].execution
            kinds |= {d["dtype"] for d in e["inputs"].values() if d["dtype"] in ("mesh", "bvh", "hash_grid")}
            records.append({"id": o.key, "python_source": src, "execution": e})
    assert kinds == {"mesh", "bvh", "hash_grid"}
    results = replay_records(records[::3], workers=1)
    assert all(r.ok for r in results), [r for r in results if not r.ok]
