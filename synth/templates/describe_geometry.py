"""Lead sentences of the geometry family (``describe_domain.LEADS``): what the sampled variant computes."""

from __future__ import annotations

from typing import Any

from warp_synth.synth.templates.facts import Facts
from warp_synth.synth.templates.kernel import KernelBuilder

Ctx = dict[str, Any]


_SIGN = {"point": "signed (wp.mesh_query_point)", "no_sign": "unsigned (wp.mesh_query_point_no_sign)",
         "sign_normal": "signed by the closest face's normal (wp.mesh_query_point_sign_normal)",
         "sign_winding_number": "signed by the winding number (wp.mesh_query_point_sign_winding_number)",
         "sign_parity": "signed by ray-crossing parity (wp.mesh_query_point_sign_parity)",
         "outargs": "signed (wp.mesh_query_point with output arguments)"}


def _tri_contact(o: Ctx, a: Ctx) -> str:
    out = {"count": "counts the intersecting triangles", "flag": "flags whether any intersects",
           "total": "adds its intersections to a global counter with wp.atomic_add",
           "first": "stores the first intersecting face"}[o["mode"]]
    nxt = {"for": "a for loop over the query", "next": "wp.mesh_query_next",
           "aabb_next": "wp.mesh_query_aabb_next"}[o["next"]]
    fetch = {"struct": "the wp.mesh_get struct's points and indices", "eval": "wp.mesh_eval_position at the "
             "corners' barycentric coordinates", "index": "wp.mesh_get_point"}[o["fetch"]]
    return (f"A mesh-mesh contact kernel: each thread takes one triangle of the mesh `{a['mesh']}` (its corners, like "
            f"the candidates', read through {fetch}; the face count from wp.mesh_get), visits the faces of the mesh `{a['mesh_b']}` overlapping its bounding box "
            f"(wp.mesh_query_aabb, {nxt}), tests each pair with wp.intersect_tri_tri and {out}.")


def _edge_contact(o: Ctx, a: Ctx) -> str:
    broad = "a capsule around the edge (wp.bvh_query_capsule)" if o["broad"] == "capsule" else "the edge's box"
    out = {"mindist": "the smallest edge-edge distance", "count": "the number of edges closer than the thickness",
           "push": "a repulsion correction from the edges closer than the thickness"}[o["mode"]]
    return (f"A cloth self-collision kernel: each thread takes one edge of the mesh `{a['mesh']}`, queries the "
            f"mesh's own BVH (wp.mesh_get_bvh) with {broad}, finds the closest points to the candidate faces' edges "
            f"that share no vertex with it using wp.closest_point_edge_edge, and stores {out}.")


def _furthest(o: Ctx, a: Ctx) -> str:
    bound = ", and the largest over all points with wp.atomic_max" if a.get("bound") else ""
    return (f"A furthest-point kernel: for each query point it finds the furthest point on the mesh `{a['mesh']}` "
            f"with wp.mesh_query_furthest_point_no_sign and stores the {'squared ' if o['sq'] else ''}distance to "
            f"it{bound}.")


def _tile_query(o: Ctx, a: Ctx) -> str:
    def q(name: str) -> str:  # tile_bvh_query_ray, or its deprecated spelling bvh_query_ray_tiled
        return f"wp.{name.removeprefix('tile_')}_tiled" if o["alias"] else f"wp.{name}"

    tiled = ", spelled with the deprecated *_tiled aliases," if o["alias"] else ""
    kind = "BVH traversal" if a.get("bvh") else "mesh query"
    if a.get("bvh"):
        query = (f"a ray query ({q('tile_bvh_query_ray')})" if o["shape"] == "ray" else
                 f"a box query ({q('tile_bvh_query_aabb')})") + f" against the BVH `{a['bvh']}`"
        what = {"count": "counts the overlapping items", "weights": "sums their weights",
                "scatter": "counts hits per item", "depth": "counts the candidates and keeps the nearest analytic "
                "sphere hit with wp.atomic_min"}[o["mode"]]
    else:
        query = f"a box query ({q('tile_mesh_query_aabb')}) against the mesh `{a['mesh']}`"
        what = {"count": "counts the overlapping faces", "scatter": "counts hits per face", "normal": "sums their "
                "face normals", "nearest": "keeps the nearest face centre with wp.atomic_min"}[o["mode"]]
    return (f"A thread-block {kind} launched tiled (launch_tiled): each block runs {query}{tiled} "
            f"cooperatively, looping while wp.tile_query_valid, each lane taking one candidate per step from the "
            f"result tile (wp.untile), and {what}.")


_CONTACT_LEADS = {"tri_contact": _tri_contact, "edge_contact": _edge_contact, "furthest": _furthest,
                  "tile_bvh": _tile_query, "tile_mesh": _tile_query}


def lead(v: str, c: Ctx, p: Ctx, kb: KernelBuilder, f: Facts) -> str:
    o, a, dt = c["o"], c["a"], p["dtype"]
    if v == "mesh_collide":
        q = "wp.mesh_query_point" + ("" if o["query"] == "point" else "_" + o["query"])
        moving = (" and carried along by the moving collider's surface velocity (wp.mesh_eval_velocity)"
                  if o.get("moving") else "")
        return (f"A particle-mesh collision kernel: each particle's velocity is stepped by gravity over a timestep, "
                f"the predicted position's closest point on the mesh `{a['mesh']}` is found with {q}, a particle "
                f"closer than the margin is pushed out along the contact normal{moving}, and the velocity is "
                f"recomputed from the corrected position.")
    if v == "sdf":
        at = {"array": "query points", "lattice": "the nodes of a 3-D lattice", "slice": "the nodes of a 2-D slice"}
        vel = " and the mesh's velocity there (wp.mesh_eval_velocity)" if a.get("vel") else ""
        return (f"A mesh distance-field kernel: at {at[o['src']]} it finds the closest point on the mesh "
                f"`{a['mesh']}` and stores the {_SIGN[o['query']]} distance to it{vel}.")
    if v == "raycast":
        src = "from a pinhole camera, one ray per pixel" if o["cam"] else "from per-thread origins and directions"
        shade = {"normal": "the hit normal's shading", "face": "the hit face's normal shading", "depth": "the hit "
                 "distance", "position": "the distance to the hit point"}[o["shade"]]
        grp = (" restricted to one face group's subtree (wp.mesh_get_group_root)"
               if o.get("group", "none") != "none" else "")
        return (f"A ray-casting kernel: rays {src} are cast against the mesh `{a['mesh']}` with wp.mesh_query_ray"
                f"{grp}, and each stores {shade} (zero on a miss).")
    if v == "visibility":
        what = {"anyhit": "shadow rays towards a light with wp.mesh_query_ray_anyhit",
                "count": "crossings of a ray with wp.mesh_query_ray_count_intersections (an inside test by parity)",
                "both": "shadow rays towards a light (wp.mesh_query_ray_anyhit) and ray crossings "
                        "(wp.mesh_query_ray_count_intersections, an inside test by parity)"}[o["mode"]]
        return f"A mesh visibility kernel: for each point it tests {what} against the mesh `{a['mesh']}`."
    if v == "mesh_overlap":
        shape = "a sphere (wp.mesh_query_sphere)" if o["shape"] == "sphere" else "a box (wp.mesh_query_aabb)"
        what = {"count": "counts them", "normal": "averages their face normals", "centroid": "finds the nearest "
                "face centroid", "position": "averages the offsets to their centres"}[o["mode"]]
        nxt = "wp.mesh_query_next" if o.get("next") == "next" else "wp.mesh_query_aabb_next"
        return (f"A mesh overlap query: for each point it visits the faces of the mesh `{a['mesh']}` that overlap "
                f"{shape} around it with {nxt} and {what}.")
    if v == "bvh_boxes":
        shape = {"sphere": "a sphere (wp.bvh_query_sphere)", "capsule": "a capsule swept along the point's "
                 "displacement (wp.bvh_query_capsule, a broad phase for a moving sphere)"}.get(
            o["shape"], "a box (wp.bvh_query_aabb)")
        if o.get("group", "none") != "none":
            shape += " within one group's subtree (wp.bvh_get_group_root)"
        what = {"count": "counts them", "weights": "sums their weights", "scatter": "counts hits per item with "
                "wp.atomic_add", "nearest": "finds the nearest item centre"}[o["mode"]]
        return (f"A BVH broad-phase query: each thread visits the items of the BVH `{a['bvh']}` overlapping "
                f"{shape} with wp.bvh_query_next and {what}.")
    if v == "bvh_rays":
        return (f"A ray-sphere kernel: each ray visits the candidate items of the BVH `{a['bvh']}` with "
                f"wp.bvh_query_ray and wp.bvh_query_next and keeps the closest analytic sphere intersection.")
    if v in _CONTACT_LEADS:
        return _CONTACT_LEADS[v](o, a)
    grid = f"the hash grid `{a['grid']}`"
    order = " (threads in grid order via wp.hash_grid_point_id)" if o["sorted"] else ""
    if v == "sph_density":
        kern = {"poly6": "a poly6", "spiky": "a spiky", "func": "a @wp.func poly6", "cubic": "a cubic"}[o["wkernel"]]
        return (f"An SPH density kernel ({dt}): each particle{order} sums {kern} smoothing kernel over its "
                f"neighbours from {grid} (wp.hash_grid_query) within the smoothing length.")
    if v == "neighbor_forces":
        force = {"spring": "spring-damper", "func": "spring-damper (a @wp.func helper)", "repulsion": "repulsive"}
        return (f"A particle contact-force kernel ({dt}): each particle{order} accumulates {force[o['mode']]} "
                f"forces from overlapping neighbours found in {grid} (wp.hash_grid_query).")
    what = "the average neighbour position" if o["vt"] == "none" else "a weighted average of a neighbour attribute"
    return (f"A neighbour-smoothing kernel ({dt}): each particle{order} computes {what} over the neighbours within "
            f"a radius found in {grid} (wp.hash_grid_query), with {o['weight']} weights.")
