"""Geometry family: queries against ``wp.Mesh``, ``wp.Bvh`` and ``wp.HashGrid`` ids, as Warp's examples write them.

Variants: ``mesh_collide`` (particles pushed out of a mesh, as in ``example_mesh``), ``sdf`` (a closest-point
distance field at points or lattice nodes), ``raycast`` (closest-hit rays: an image from a camera or rays from
arrays), ``visibility`` (any-hit shadow rays or crossing counts), ``mesh_overlap`` (faces overlapping a box or
sphere: ``mesh_query_aabb`` + ``mesh_query_aabb_next`` or ``mesh_query_next``), ``bvh_boxes`` (items of a BVH
overlapping a box, a sphere or a swept capsule, optionally in one group's subtree), ``bvh_rays`` (ray against a BVH
of spheres), ``sph_density`` (SPH density over hash-grid
neighbours, as in ``example_sph``), ``neighbor_forces`` (DEM/SPH contact forces, as in ``example_dem``) and
``neighbor_smooth`` (neighbour-weighted averages), plus the contact and tiled variants of
``geometry_contact`` (``tri_contact``, ``edge_contact``, ``furthest``, ``tile_bvh``, ``tile_mesh``).  Options add a
moving collider (``mesh_eval_velocity``), sampled mesh velocities and group roots of grouped meshes and BVHs.  Mesh and BVH queries are float32 (Warp's only overloads);
the hash-grid variants are float32 or float64.  Ids are ``wp.uint64`` parameters; the executor builds the
objects (``extract/geometry.py``).  This module samples options and declares parameters;
``prompts/kernels/geometry.j2`` lays out the bodies.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from warp_synth.synth.jinja_env import render
from warp_synth.synth.templates import geometry_contact as contact
from warp_synth.synth.templates.base import Draws, Family
from warp_synth.synth.templates.kernel import KernelBuilder

VARIANTS = ("mesh_collide", "sdf", "raycast", "visibility", "mesh_overlap", "bvh_boxes", "bvh_rays",
            "sph_density", "neighbor_forces", "neighbor_smooth", *contact.CONTACT_VARIANTS)
GRID_VARIANTS = ("sph_density", "neighbor_forces", "neighbor_smooth")
_KERNELS = {
    "mesh_collide": ("simulate", "collide_particles", "mesh_collision", "particle_mesh_contact"),
    "sdf": ("compute_sdf", "eval_distance_field", "closest_point_sdf", "mesh_sdf"),
    "raycast": ("draw", "raycast", "render_depth", "cast_rays"),
    "visibility": ("shadow_rays", "eval_visibility", "occlusion", "inside_test"),
    "mesh_overlap": ("count_overlaps", "query_faces", "mesh_aabb_query", "gather_faces"),
    "bvh_boxes": ("bvh_overlap", "query_boxes", "broad_phase", "count_candidates"),
    "bvh_rays": ("trace_spheres", "bvh_raycast", "ray_sphere_bvh", "intersect_spheres"),
    "sph_density": ("compute_density", "sph_density", "eval_density", "particle_density"),
    "neighbor_forces": ("apply_forces", "dem_contacts", "eval_contact_forces", "particle_repulsion"),
    "neighbor_smooth": ("xsph_smooth", "average_neighbors", "laplacian_smooth", "count_neighbors"),
    **contact.KERNELS,
}
# locals the template uses: parameters never take these names
LOCALS = ("i", "j", "x", "v", "p", "q", "c", "d", "n", "f", "w", "r", "t", "u", "xp", "vn", "delta", "dist", "err",
          "face", "lo", "hi", "idx", "acc", "best", "count", "hit", "ro", "rd", "oc", "b", "cc", "disc", "rho",
          "r2", "vrel", "wsum", "sx", "sy", "color", "inside", "bu", "bv", "sgn", "a0", "a1", "a2", "cen", "tmin",
          "tid", "px", "py", "fn", "vis", "hits", "nb", "pen", *contact.LOCALS)


class _G(Draws):
    """A kernel's dtype spellings, its parameters (``a``: role -> name) and sampled options (``o``)."""

    def __init__(self, kb: KernelBuilder, dtype: str) -> None:
        self.kb, self.r, self.dtype, self.f32 = kb, kb.rng, dtype, dtype == "float32"
        kb.names.taken.update(LOCALS)
        self.T = {"v3": kb.rng.choice(("wp.vec3", "wp.vec3", "wp.vec3f")) if self.f32 else "wp.vec3d"}
        self.s = kb.rng.choice(("float", "wp.float32")) if self.f32 else "wp.float64"
        self.a: dict[str, Any] = dict.fromkeys(("damp", "x_out", "v_out", "hits", "closest", "grad", "faces",
                                                "hitmask", "hitpos", "intensity", "vis", "inside", "count_out",
                                                "out", "w", "cen", "best_idx", "id_out", "n_out", "cnt", "kd",
                                                "vals", "blend", "fn", "light", "lo", "pts", "ext", "radius", "mesh_b",
                                                "num_faces", "bound", "vel", "group", "dirs"))
        self.o: dict[str, Any] = {}

    def arr(self, role: str, ty: str, *names: str, ndim: int = 1, p: float = 1.0) -> str | None:
        if not self.coin(p):
            self.a[role] = None
            return None
        name = self._name(role, names)
        t = {"v3": self.T["v3"], "f": self.s, "i": self.pick("wp.int32", "int")}.get(ty, ty)
        ann = f"wp.array(dtype={t})" if ndim == 1 else self.pick(f"wp.array{ndim}d(dtype={t})",
                                                                 f"wp.array(dtype={t}, ndim={ndim})")
        self.kb.parts.kparams.append(f"{name}: {ann}")
        return name

    def par(self, role: str, ty: str, *names: str) -> str:
        name = self._name(role, names)
        self.kb.parts.kparams.append(f"{name}: {self.T.get(ty, self.s if ty == 'f' else ty)}")
        return name

    def geo(self, role: str, kind: str) -> str:
        names = {"mesh": ("mesh", "mesh_id", "collider", "surface", "shape"),
                 "bvh": ("bvh", "bvh_id", "tree", "bvh_handle"),
                 "grid": ("grid", "hash_grid", "grid_id", "neighbors_grid")}[kind]
        return self.par(role, "wp.uint64", *names)

    def const(self, role: str, value: str, *names: str) -> str:
        name = self._name(role, names)
        self.kb.parts.consts.append({"name": name, "value": f"wp.constant({value})"})
        return name

    def scalar(self, role: str, values: tuple[str, ...], *names: str, p_par: float = 0.6) -> str:
        """A float kernel parameter (drawn in [0.25, 1]) or a module constant with one of ``values``."""
        if self.coin(p_par):
            return self.par(role, "f", *names)
        return self.const(role, self.c(self.pick(*values)), *(n.upper() for n in names))

    def vec3(self, *xyz: str) -> str:
        return f"{self.T['v3']}({', '.join(self.c(v) for v in xyz)})"

    def tid(self, *names: tuple[str, ...]) -> str:
        idx = [self.kb.names.reserve(self.pick(*n)) for n in names]
        self.kb.idx, self.kb.tid_line = idx, f"{', '.join(idx)} = wp.tid()"
        return idx[0]


def _mesh_collide(g: _G) -> None:
    g.geo("mesh", "mesh")
    g.arr("x", "v3", "positions", "particle_x", "points")
    g.arr("v", "v3", "velocities", "particle_v", "vel")
    g.scalar("margin", ("0.05", "0.1", "0.02"), "margin", "thickness", "contact_margin")
    g.scalar("dt", ("0.0166", "0.01", "0.005"), "dt", "sim_dt", "h_step")
    g.o.update(grav=g.pick("const", "param", "literal"), damp=g.coin(), normal=g.pick("delta", "delta", "face"),
               query=g.pick("sign_normal", "point", "no_sign", "sign_normal", "sign_parity"), inplace=g.coin(0.6),
               mul=g.coin(), hits=g.pick("none", "none", "count", "depth"), moving=g.coin(0.35))
    if g.o["grav"] == "const":
        g.const("g", g.vec3("0.0", "-9.8", "0.0"), "GRAVITY", "G")
    elif g.o["grav"] == "param":
        g.par("g", "v3", "gravity", "g_world")
    else:
        g.a["g"] = g.vec3("0.0", g.pick("-9.8", "-9.81", "-1.0"), "0.0")
    g.a["max_dist"] = g.scalar("max_dist", ("1.5", "2.0", "10.0"), "max_dist", "query_dist", p_par=0.3)
    if g.o["damp"]:
        g.scalar("damp", ("0.1", "0.05"), "damping", "drag")
    if not g.o["inplace"]:
        g.arr("x_out", "v3", "positions_out", "x_new")
        g.arr("v_out", "v3", "velocities_out", "v_new")
    g.arr("hits", "i" if g.o["hits"] == "count" else "f", "contact_count" if g.o["hits"] == "count" else "penetration",
          "contacts", p=float(g.o["hits"] != "none"))
    g.tid(("tid", "i", "k"))


def _sdf(g: _G) -> None:
    g.geo("mesh", "mesh")
    src = g.o["src"] = g.pick("array", "array", "lattice", "slice")
    ndim = {"array": 1, "lattice": 3, "slice": 2}[src]
    if src == "array":
        g.arr("pts", "v3", "points", "query_points", "samples")
    else:
        if g.coin():
            g.par("origin", "v3", "origin", "grid_lower", "lower")
        else:
            g.const("origin", g.vec3(*g.pick(("-0.1", "-0.1", "-0.1"), ("0.0", "0.0", "0.0"))), "ORIGIN", "LOWER")
        g.scalar("spacing", ("0.2", "0.25", "0.15"), "spacing", "cell_size", "dx")
        if src == "slice":
            g.scalar("z", ("0.5", "0.6"), "z_slice", "depth")
    g.a["max_dist"] = g.scalar("max_dist", ("2.0", "10.0", "1.0e6"), "max_dist", "band", p_par=0.4)
    q = g.o["query"] = g.pick("point", "no_sign", "sign_normal", "sign_winding_number", "sign_parity", "outargs")
    g.o.update(clamp=g.coin(0.3), miss=g.pick("max", "zero"), unsigned=q == "no_sign")
    g.arr("sdf", "f", "sdf", "distance", "phi", ndim=ndim)
    g.arr("closest", "v3", "closest", "surface_pts", ndim=ndim, p=0.4)
    g.arr("grad", "v3", "sdf_grad", "normals", ndim=ndim, p=0.4)
    g.arr("faces", "i", "face_ids", "closest_face", ndim=ndim, p=0.3 * (q != "outargs"))
    g.arr("vel", "v3", "surface_vel", "boundary_vel", "wall_velocity", ndim=ndim, p=0.3)
    g.o["gradmode"] = g.pick("delta", "face")
    g.tid(*({1: [("tid", "i")], 2: [("i", "ix"), ("j", "iy")], 3: [("i", "ix"), ("j", "iy"), ("k", "iz")]}[ndim]))


def _raycast(g: _G) -> None:
    g.geo("mesh", "mesh")
    cam = g.o["cam"] = g.coin(0.55)
    g.o["cam_z"] = ""
    if cam:
        if g.coin():
            g.par("cam", "v3", "cam_pos", "eye", "camera")
            g.o["cam_z"] = g.pick("1.5", "2.0")
        else:
            g.a["cam"] = g.vec3("0.6", "0.6", g.pick("2.0", "2.5", "3.0"))
        if g.coin():
            g.const("width", "16", "RES", "IMAGE_SIZE")
            g.a["height"] = g.a["width"]
        else:
            g.const("width", "16", "WIDTH", "RES_X")
            g.const("height", "16", "HEIGHT", "RES_Y")
        g.scalar("focal", ("2.0", "2.5", "3.0"), "focal", "fov_scale", p_par=0.0)
    else:
        g.arr("ro", "v3", "ray_origins", "origins", "starts")
        g.arr("rd", "v3", "ray_dirs", "directions", "dirs")
    # a camera sits 1.5 or more from the mesh: a drawn max_t (in [0.25, 1]) would miss everything
    g.a["max_t"] = g.scalar("max_t", ("1.0e6", "100.0", "10.0"), "max_t", "t_max", p_par=0.0 if cam else 0.3)
    ndim = 2 if cam else 1
    g.o.update(shade=g.pick("normal", "face", "depth", "position"), light=g.vec3(*g.pick(("0.0", "0.0", "1.0"),
               ("0.577", "0.577", "0.577"), ("0.3", "0.9", "0.3"))), outargs=not cam and g.coin(0.25))
    _group(g, p=0.3)
    g.arr("img", "f", "pixels", "depth", "image", "t_hit", ndim=ndim)
    g.arr("hitmask", "i", "hit_mask", "hit_face", ndim=ndim, p=0.4)
    g.arr("hitpos", "v3", "hit_points", "positions", ndim=ndim, p=0.3)
    g.tid(*([("x", "px_i"), ("y", "py_j")] if cam else [("tid", "i")]))


def _visibility(g: _G) -> None:
    g.geo("mesh", "mesh")
    g.arr("pts", "v3", "points", "sample_pts", "receivers")
    mode = g.o["mode"] = g.pick("anyhit", "anyhit", "count", "both")
    if mode != "count":
        if g.coin():
            g.par("light", "v3", "light_pos", "light")
        else:
            g.const("light", g.vec3("0.5", "3.0", "0.5"), "LIGHT_POS", "LIGHT")
        g.arr("intensity", "f", "intensity", "radiance", p=0.6)
    g.o.update(dir=g.vec3(*g.pick(("1.0", "0.0", "0.0"), ("0.0", "1.0", "0.0"), ("0.0", "0.0", "1.0"))),
               falloff=g.coin(), form=g.pick("if", "where", "bias"))
    if mode != "anyhit" and g.coin(0.4):
        g.o["dir"] = g.par("dir", "v3", "ray_dir", "probe_dir", "axis_dir")
    g.arr("vis", "f", "visibility", "shadow", "lit", p=float(mode != "count"))
    g.arr("inside", "i", "inside", "occupancy", "crossings", p=float(mode != "anyhit"))
    g.tid(("tid", "i"))


def _mesh_overlap(g: _G) -> None:
    g.geo("mesh", "mesh")
    g.arr("pts", "v3", "points", "centers", "probes")
    g.scalar("radius", ("0.1", "0.2", "0.3"), "radius", "half_width", "query_radius")
    g.o.update(shape=g.pick("aabb", "aabb", "sphere"), box=g.pick("splat", "vec"), next=g.pick("aabb_next", "next"))
    mode = g.o["mode"] = g.pick("count", "normal", "centroid", "position")
    g.arr("count_out", "i", "face_count", "counts", "num_faces", p=1.0 if mode == "count" else 0.5)
    g.arr("out", "f" if mode == "centroid" else "v3", "nearest" if mode == "centroid" else "avg_normal",
          "result", p=float(mode != "count"))
    g.tid(("tid", "i"))


def _bvh_boxes(g: _G) -> None:
    g.geo("bvh", "bvh")
    shape = g.o["shape"] = g.pick("point_box", "arrays", "sphere", "capsule")
    if shape == "arrays":
        g.arr("lo", "v3", "lowers", "box_lo", "query_lower")
        g.scalar("ext", ("0.1", "0.2"), "extent", "box_size")
    else:
        g.arr("pts", "v3", "points", "centers", "query_pts")
        g.scalar("radius", ("0.1", "0.2", "0.3"), "radius", "query_radius")
    if shape == "capsule":  # a swept sphere: from the point along its displacement, bounded by max_dist 1.0
        g.arr("dirs", "v3", "displacements", "sweep", "motion")
    _group(g, p=0.35)
    mode = g.o["mode"] = g.pick("count", "weights", "scatter", "nearest")
    g.arr("w", "f", "item_weights", "weights", "values", p=float(mode == "weights"))
    g.arr("cen", "v3", "item_centers", "centroids", p=float(mode == "nearest"))
    g.arr("out", {"count": "i", "scatter": "i"}.get(mode, "f"), "overlaps" if mode != "scatter" else "item_hits",
          "result", "out_count")
    g.arr("best_idx", "i", "nearest_item", "best_id", p=0.6 * (mode == "nearest"))
    g.o["pre"] = g.coin()
    g.tid(("tid", "i"))


def _bvh_rays(g: _G) -> None:
    g.geo("bvh", "bvh")
    g.arr("ro", "v3", "ray_origins", "origins", "starts")
    g.arr("rd", "v3", "ray_dirs", "directions", "dirs")
    g.arr("cen", "v3", "sphere_centers", "centers", "item_pos")
    g.o["rad_arr"] = g.coin(0.6)
    if g.o["rad_arr"]:
        g.arr("rad", "f", "sphere_radii", "radii")
    else:
        g.scalar("rad", ("0.1", "0.05", "0.2"), "radius", "sphere_radius")
    g.a["max_t"] = g.scalar("max_t", ("1.0e6", "100.0"), "max_t", "t_max", p_par=0.3)
    g.o.update(cull=g.coin(), half=g.coin())
    g.arr("t_out", "f", "t_hit", "hit_t", "depth")
    g.arr("id_out", "i", "hit_id", "hit_item", p=0.6)
    g.arr("n_out", "v3", "hit_normals", "normals", p=0.4)
    g.tid(("tid", "i"))


def _group(g: _G, p: float) -> None:
    """Queries restricted to one group's subtree: the group from the thread index or a kernel parameter."""
    g.o["group"] = g.pick("mod", "mod", "param") if g.coin(p) else "none"
    if g.o["group"] == "mod":
        g.const("ngroups", g.pick("2", "3", "4"), "NUM_GROUPS", "GROUP_COUNT")
    elif g.o["group"] == "param":
        g.par("group", "int", "group", "group_id", "body_group")


def _neighbors(g: _G) -> None:
    g.geo("grid", "grid")
    g.o.update(sorted=g.coin(0.6), loop=g.pick("for", "for", "while"), alias=g.coin(0.4))
    g.tid(("tid",) if g.o["sorted"] else ("tid", "i"))


def _sph_density(g: _G) -> None:
    g.arr("x", "v3", "particle_x", "positions", "points")
    g.scalar("h", ("0.3", "0.5", "0.8"), "smoothing_length", "h_smooth", "support")
    g.o.update(wkernel=g.pick("poly6", "spiky", "func", "cubic"), sq=g.coin())
    g.arr("m", "f", "particle_mass", "masses", p=0.4)
    g.o["m_arr"] = bool(g.a["m"])
    if not g.a["m"]:
        g.scalar("m", ("1.0", "0.5"), "mass", "particle_m")
    g.scalar("norm", ("315.0 / (64.0 * 3.14159)", "1.5", "2.0"), "density_normalization", "kernel_norm")
    g.arr("rho", "f", "particle_rho", "density", "rho_out")
    if g.o["wkernel"] == "func":
        name = g.kb.names._fresh(g.pick("density_kernel", "poly6_kernel", "w_kernel"))
        ps = [f"xyz: {g.T['v3']}", f"smoothing: {g.s}"]
        body = (f"dist = wp.length(xyz)\nif dist < smoothing:\n    diff = smoothing * smoothing - dist * dist\n"
                f"    return diff * diff * diff\nreturn {g.c('0.0')}")
        g.kb.parts.funcs.append({"name": name, "params": ps, "ret": g.s, "body": body})
        g.a["fn"] = name
    _neighbors(g)


def _neighbor_forces(g: _G) -> None:
    g.arr("x", "v3", "particle_x", "positions", "x_pos")
    g.arr("v", "v3", "particle_v", "velocities", "v_vel")
    g.scalar("radius", ("0.1", "0.2", "0.15"), "radius", "particle_radius")
    g.scalar("ke", ("100.0", "1000.0", "50.0"), "k_contact", "stiffness", "ke")
    mode = g.o["mode"] = g.pick("spring", "func", "repulsion")
    if mode != "repulsion":
        g.scalar("kd", ("1.0", "10.0", "0.5"), "k_damp", "damping", "kd")
    g.o.update(cohesion=g.c(g.pick("0.0", "0.0075", "0.01")), reach=g.pick("5.0", "4.0", "2.0"))
    if mode == "func":
        name = g.kb.names._fresh(g.pick("contact_force", "penalty_force", "spring_damper"))
        ps = [f"nrm: {g.T['v3']}", f"rel: {g.T['v3']}", f"pen: {g.s}", f"k_n: {g.s}", f"k_d: {g.s}"]
        body = "vn_rel = wp.dot(nrm, rel)\nfn_mag = k_n * pen + k_d * wp.min(vn_rel, {z})\nreturn -nrm * fn_mag".format(
            z=g.c("0.0"))
        g.kb.parts.funcs.append({"name": name, "params": ps, "ret": g.T["v3"], "body": body})
        g.a["fn"] = name
    g.arr("f", "v3", "particle_f", "forces", "f_out")
    g.arr("cnt", "i", "contact_count", "num_contacts", p=0.3)
    _neighbors(g)


def _neighbor_smooth(g: _G) -> None:
    g.arr("x", "v3", "particle_x", "positions", "points")
    vt = g.o["vt"] = g.pick("v3", "f", "none")
    g.arr("vals", vt, "particle_v", "values", "attrib", p=float(vt != "none"))
    g.scalar("h", ("0.3", "0.5"), "radius", "smoothing_length", "cutoff")
    g.o["weight"] = g.pick("linear", "quadratic", "uniform")
    g.arr("out", "v3" if vt == "none" else vt, "smoothed", "averaged", "out_vals")
    g.arr("cnt", "i", "neighbor_count", "counts", p=0.5)
    g.a["blend"] = None
    if g.coin(0.4):
        g.scalar("blend", ("0.5", "0.25"), "xsph_c", "blend", p_par=0.5)
    _neighbors(g)


_BUILD: dict[str, Callable[[_G], None]] = {v: globals()[f"_{v}"] for v in VARIANTS if v not in contact.BUILD}
_BUILD.update(contact.BUILD)


def family(kb: KernelBuilder) -> Family:
    variant = kb.rng.choice(VARIANTS)
    dtype = kb.rng.choices(("float32", "float64"), weights=(3, 1))[0] if variant in GRID_VARIANTS else "float32"
    g = _G(kb, dtype)
    if kb.rng.random() < 0.7:  # a name from the domain (else the generic vocabulary's)
        kb.kname = kb.names._fresh(kb.rng.choice(_KERNELS[variant]))
    _BUILD[variant](g)
    g.a["mask"] = None
    if variant not in GRID_VARIANTS and kb.rng.random() < 0.5:  # threads switched off by a mask array
        g.arr("mask", "i", "active", "mask", "enabled", "valid", ndim=len(kb.idx))
        g.o["mask_test"] = g.pick("== 0", "< 1", "<= 0")
    if kb.rng.random() < 0.4:
        kb.rng.shuffle(kb.parts.kparams)
    ctx = {"variant": variant, "a": g.a, "o": g.o, "T": g.T, "f32": g.f32, "dtype": dtype, "i": kb.idx[0],
           "idx": kb.idx}
    calls = re.findall(r"\bwp\.(\w+)\(", render("kernels/geometry.j2", **kb.context(**ctx)))
    skip = ("constant", "tid", "float64", "float32", "array", "array2d", "array3d", "vec3", "vec3f", "vec3d",
            "int32", "uint64")
    kb.gen.used += [n for n in calls if n not in skip]
    params = {k: v for k, v in g.o.items() if isinstance(v, (str, bool))}
    return variant, ctx, {"dtype": dtype, **params}
