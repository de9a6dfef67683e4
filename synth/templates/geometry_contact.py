"""Geometry family, contact and tiled variants: the samplers behind ``synth.templates.geometry``'s
``tri_contact`` (triangle-triangle tests between two meshes, as in ``example_mesh_intersect``),
``edge_contact`` (edge-edge closest points against a mesh's own BVH, a cloth self-collision pass),
``furthest`` (``mesh_query_furthest_point_no_sign``), ``tile_bvh`` and ``tile_mesh`` (block-cooperative
queries, launched with ``wp.launch_tiled``: the whole block traverses one query and each lane gets one
candidate per step).  They fill a ``geometry._G`` the way the other variants do; ``prompts/kernels/geometry.j2``
lays out the bodies.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable

    from warp_synth.synth.templates.geometry import _G

CONTACT_VARIANTS = ("tri_contact", "edge_contact", "furthest", "tile_bvh", "tile_mesh")
TILED_VARIANTS = ("tile_bvh", "tile_mesh")
KERNELS = {
    "tri_contact": ("mesh_intersect", "tri_tri_contacts", "find_intersections", "mesh_mesh_overlap"),
    "edge_contact": ("edge_edge_collision", "self_collide_edges", "cloth_edge_contacts", "edge_proximity"),
    "furthest": ("furthest_points", "bounding_radius", "mesh_extent", "sample_furthest"),
    "tile_bvh": ("tile_bvh_query", "block_broad_phase", "tiled_raycast", "cooperative_query"),
    "tile_mesh": ("tile_mesh_query", "block_face_query", "tiled_face_overlap", "cooperative_faces"),
}
# locals of these variants' bodies (added to ``geometry.LOCALS``)
LOCALS = ("m", "mb", "v0", "v1", "v2", "u0", "u1", "u2", "p1", "q1", "p2", "q2", "st", "e", "ek", "nf",
          "mbvh", "root", "res", "vm", "b0", "b1", "c1", "c2", "push")


def _tri_contact(g: _G) -> None:
    g.geo("mesh", "mesh")
    g.par("mesh_b", "wp.uint64", "mesh_b", "other", "mesh_1", "target")
    mode = g.o["mode"] = g.pick("count", "flag", "total", "first")
    g.o.update(fetch=g.pick("struct", "struct", "eval", "index"), next=g.pick("next", "next", "aabb_next"),
               guard=g.pick("shape", "shape", "param"))
    if g.o["guard"] == "param":  # the face count as the launch passes it, clamped to the mesh's own
        g.par("num_faces", "int", "num_faces", "face_count", "n_tris")
    name = {"count": ("contact_count", "num_hits", "counts"), "flag": ("intersecting", "hit_flag", "contact"),
            "total": ("total_contacts", "num_contacts", "counter"), "first": ("first_face", "hit_face", "partner")}
    g.arr("out", "i", *name[mode])
    g.tid(("tid", "i", "face_id"))


def _edge_contact(g: _G) -> None:
    g.geo("mesh", "mesh")
    g.scalar("radius", ("0.01", "0.02", "0.05"), "thickness", "radius", "contact_radius")
    g.o.update(broad=g.pick("capsule", "capsule", "aabb"), eps=g.pick("1.0e-6", "1.0e-8"),
               mode=g.pick("mindist", "count", "push"), index=g.pick("builtin", "struct"))
    mode = g.o["mode"]
    if mode == "mindist":
        g.a["max_dist"] = g.scalar("max_dist", ("1.0", "10.0"), "max_dist", "query_dist", p_par=0.3)
    ty, names = {"mindist": ("f", ("min_dist", "edge_dist", "closest_dist")),
                 "count": ("i", ("contact_count", "num_contacts", "edge_hits")),
                 "push": ("v3", ("corrections", "edge_push", "delta_x"))}[mode]
    g.arr("out", ty, *names)
    g.tid(("tid", "i", "edge_id"))  # one thread per face edge: face tid // 3, edge tid % 3


def _furthest(g: _G) -> None:
    g.geo("mesh", "mesh")
    g.arr("pts", "v3", "query_points", "points", "centers")
    g.o.update(form=g.pick("struct", "outargs"), sq=g.coin(0.3), min_dist=g.pick("0.0", "0.0", "const"))
    if g.o["min_dist"] == "const":
        g.const("min_dist", "0.0", "MIN_DIST", "MIN_RADIUS")
    else:
        g.a["min_dist"] = "0.0"
    g.arr("out", "f", "furthest_dist" if not g.o["sq"] else "furthest_dist_sq", "radius_out", "extent")
    g.arr("closest", "v3", "furthest_pts", "far_points", p=0.4)
    g.arr("faces", "i", "furthest_face", "face_ids", p=0.3)
    g.arr("bound", "f", "bound_radius", "max_radius", p=0.35)  # one value: the bounding-sphere radius
    g.tid(("tid", "i"))


def _tile_bvh(g: _G) -> None:
    g.geo("bvh", "bvh")
    shape = g.o["shape"] = g.pick("aabb", "ray", "ray")
    g.o["alias"] = g.coin(0.4)  # the deprecated ``bvh_query_*_tiled`` spellings
    if shape == "aabb":
        g.arr("pts", "v3", "points", "centers", "query_pts")
        g.scalar("radius", ("0.1", "0.2", "0.3"), "radius", "half_width", "query_radius")
        mode = g.o["mode"] = g.pick("count", "weights", "scatter")
        g.arr("w", "f", "item_weights", "weights", p=float(mode == "weights"))
        g.arr("out", "f" if mode == "weights" else "i", "item_hits" if mode == "scatter" else "overlaps",
              "result", "counts")
    else:
        g.o["mode"] = "depth"
        g.arr("ro", "v3", "ray_origins", "origins", "starts")
        g.arr("rd", "v3", "ray_dirs", "directions", "dirs")
        g.arr("cen", "v3", "sphere_centers", "centers", "item_pos")
        g.scalar("rad", ("0.1", "0.05", "0.2"), "radius", "sphere_radius")
        g.arr("t_out", "f", "depth", "t_hit", "z_buffer")
        g.arr("id_out", "i", "num_candidates", "candidates", "visited")
    g.tid(("tid", "i", "block"))


def _tile_mesh(g: _G) -> None:
    g.geo("mesh", "mesh")
    g.arr("pts", "v3", "points", "centers", "probes")
    g.scalar("radius", ("0.1", "0.2", "0.3"), "radius", "half_width", "query_radius")
    g.o.update(alias=g.coin(0.4), box=g.pick("splat", "vec"))
    mode = g.o["mode"] = g.pick("count", "normal", "nearest", "scatter")
    ty = {"count": "i", "scatter": "i", "normal": "v3", "nearest": "f"}[mode]
    names = {"count": ("face_count", "counts"), "scatter": ("face_hits", "touched"),
             "normal": ("normal_sum", "avg_normal"), "nearest": ("nearest", "min_dist")}[mode]
    g.arr("out", ty, *names)
    g.tid(("tid", "i", "block"))


BUILD: dict[str, Callable[[_G], None]] = {v: globals()[f"_{v}"] for v in CONTACT_VARIANTS}
