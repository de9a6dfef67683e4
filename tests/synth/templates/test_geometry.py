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
        # contact, moving-mesh, grouped and tiled queries
        "intersect_tri_tri", "closest_point_edge_edge", "mesh_eval_velocity", "mesh_get", "mesh_get_bvh",
        "mesh_get_group_root", "mesh_query_furthest_point_no_sign", "mesh_query_next", "bvh_get_group_root",
        "bvh_query_capsule", "tile_query_valid", "tile_bvh_query_aabb", "tile_bvh_query_ray", "tile_bvh_query_next",
        "tile_mesh_query_aabb", "tile_mesh_query_aabb_next", "untile", "bvh_query_aabb_tiled", "bvh_query_ray_tiled",
        "bvh_query_next_tiled", "mesh_query_aabb_tiled", "mesh_query_aabb_next_tiled",
    )
    assert not set(promised) - used, set(promised) - used
    assert "for j in wp.hash_grid_query(" in text and "for j in nb:" in text  # both loop forms
    assert "wp.vec3d" in text and "@wp.func" in text


def test_ids_are_uint64_and_every_parameter_is_used() -> None:
    for v, src, _ in SAMPLES:
        k = only_kernel(src)
        params = {a.arg: ast.unparse(a.annotation) for a in k.args.args}
        assert list(params.values()).count("wp.uint64") == (2 if v == "tri_contact" else 1), src
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


def test_tiled_queries_are_block_uniform_and_grouped_queries_take_their_root() -> None:
    for v, src, p in SAMPLES:
        k = ast.unparse(only_kernel(src))
        if v in fam.contact.TILED_VARIANTS:  # one query per block: every lane runs the same traversal loop
            assert "while wp.tile_query_valid(q):" in k and "wp.untile(res)" in k, src
            assert ("_tiled(" in k) == p["alias"], src
        if p.get("group", "none") != "none":
            assert "_get_group_root(" in k and ", root)" in k, src
        if "bvh_query_capsule" in k:  # max_dist 1.0 bounds the capsule to its segment
            assert re.search(r"bvh_query_next\(q, idx, 1\.0\)", k), src


def test_executor_builds_what_the_kernel_reads() -> None:
    import numpy as np
    import warp as wp

    from warp_synth.extract import geometry as geo

    picked = {v: next(src for w, src, p in SAMPLES if w == v and cond(p)) for v, cond in (
        ("mesh_collide", lambda p: p["moving"]), ("bvh_boxes", lambda p: p["group"] != "none"),
        ("raycast", lambda p: p["group"] != "none"), ("tri_contact", lambda p: True))}
    for v, src in picked.items():
        k = only_kernel(src)
        params = [(a.arg, wp.uint64 if ast.unparse(a.annotation) == "wp.uint64" else wp.array(dtype=wp.vec3))
                  for a in k.args.args]
        specs = geo.kinds(src, k.name, params)
        want = {"mesh_collide": {"velocities"}, "bvh_boxes": {"groups"}, "raycast": {"groups"}, "tri_contact": set()}
        assert [set(s.extras) for s in specs.values()] == [want[v]] * (2 if v == "tri_contact" else 1), v
        for s in specs.values():
            drawn = geo.draw(s, params, np.random.default_rng(3), 16)
            back = geo.decode(geo.encode(drawn))
            assert set(back) == set(drawn) and {"velocities", "groups"} & set(back) == set(s.extras), v
            for key in s.extras:
                assert np.array_equal(back[key], drawn[key]), (v, key)
            geo.Objects({0: s})._object(back)  # builds with those arrays


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
    passed = {v for (v, _, _), o in zip(picked, outs, strict=True)
              if isinstance(o, Accepted) and o.kernels[0].execution.get("status") == "passed"}
    assert set(fam.contact.CONTACT_VARIANTS) <= passed, set(fam.contact.CONTACT_VARIANTS) - passed
    results = replay_records(records[::3], workers=1)
    assert all(r.ok for r in results), [r for r in results if not r.ok]
