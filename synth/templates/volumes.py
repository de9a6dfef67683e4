"""Volumes family: kernels that sample, differentiate, write and transform ``wp.Volume`` (NanoVDB) grids passed
as ``wp.uint64`` ids, as Warp's examples and tests write them.

Variants: ``sdf_collide`` (particles pushed out of an SDF volume along its gradient, as in ``example_nvdb``),
``advect`` (points advected through a velocity volume, ``volume_sample_v``, or a density traced back along it),
``density_sample`` (trilinear vs closest sampling of a density field at points or lattice nodes),
``normals`` (normals from the sampled gradient, ``volume_sample_grad_f``), ``store_field`` (a field written into
a float, int or vec3 volume with ``volume_store_*`` and read back), ``lattice_transform`` (index/world
transforms of a lattice of points), ``labels`` (an int32 label volume indexing a material table) and
``index_sample`` (an index grid's active voxels naming entries of a data array).  Volumes are float32 grids
(and int32/vec3f ones); the executor builds them (``extract/volumes.py``).  This module samples options and
declares parameters; ``prompts/kernels/volumes.j2`` lays out the bodies.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from warp_synth.synth.jinja_env import render
from warp_synth.synth.templates.base import Draws, Family
from warp_synth.synth.templates.kernel import KernelBuilder

VARIANTS = ("sdf_collide", "advect", "density_sample", "normals", "store_field", "lattice_transform", "labels",
            "index_sample")
_KERNELS = {
    "sdf_collide": ("collide_sdf", "particle_sdf_contact", "volume_collision", "push_out"),
    "advect": ("advect", "advect_points", "semi_lagrangian", "trace_particles"),
    "density_sample": ("sample_density", "sample_field", "probe_volume", "eval_density"),
    "normals": ("estimate_normals", "sdf_normals", "surface_normals", "gradient_normals"),
    "store_field": ("splat_field", "write_volume", "rasterize_field", "store_voxels"),
    "lattice_transform": ("lattice_positions", "voxel_centers", "index_to_world", "grid_points"),
    "labels": ("lookup_materials", "classify_points", "label_density", "material_lookup"),
    "index_sample": ("sample_index_grid", "gather_active", "index_volume_sample", "sparse_lookup"),
}
# locals the template uses: parameters never take these names
LOCALS = ("i", "j", "k", "x", "v", "p", "q", "d", "n", "g", "u", "s", "w", "xp", "err", "pm", "pb", "uvw", "val",
          "old", "back", "lbl", "vi", "cnt", "idx", "nrm", "dl", "dc", "ii", "jj", "kk", "tid", "gi", "rt", "hx",
          "fx", "fy", "fz", "e", "lo", "wpos")
_VOL_NAMES = {
    "sdf": ("sdf", "sdf_volume", "collider_sdf", "phi_volume"),
    "vel": ("velocity", "vel_volume", "flow_field", "velocity_grid"),
    "dens": ("density", "density_volume", "smoke", "scalar_field"),
    "field": ("volume", "field_volume", "grid_id", "target_volume"),
    "labels": ("labels", "material_ids", "label_volume", "segmentation"),
    "index": ("index_grid", "active_grid", "topology", "sparse_grid"),
}


class _Roles(dict):
    """Parameter roles -> names; a role the kernel does not have reads as None in the template."""

    def __missing__(self, key: str) -> None:
        return None


class _V(Draws):
    """A kernel's parameters (``a``: role -> name) and sampled options (``o``)."""

    def __init__(self, kb: KernelBuilder) -> None:
        self.kb, self.r, self.f32 = kb, kb.rng, True
        kb.names.taken.update(LOCALS)
        self.v3 = self.pick("wp.vec3", "wp.vec3", "wp.vec3f")
        self.s = self.pick("float", "wp.float32")
        self.a: dict[str, Any] = _Roles()
        self.o: dict[str, Any] = {}

    def ty(self, t: str) -> str:
        return {"v3": self.v3, "f": self.s, "i": self.pick("wp.int32", "int")}.get(t, t)

    def arr(self, role: str, ty: str, *names: str, ndim: int = 1, p: float = 1.0) -> str | None:
        if not self.coin(p):
            return None
        name = self._name(role, names)
        t = self.ty(ty)
        ann = f"wp.array(dtype={t})" if ndim == 1 else self.pick(f"wp.array{ndim}d(dtype={t})",
                                                                 f"wp.array(dtype={t}, ndim={ndim})")
        self.kb.parts.kparams.append(f"{name}: {ann}")
        return name

    def par(self, role: str, ty: str, *names: str) -> str:
        name = self._name(role, names)
        self.kb.parts.kparams.append(f"{name}: {self.ty(ty)}")
        return name

    def vol(self, role: str, kind: str) -> str:
        return self.par(role, "wp.uint64", *_VOL_NAMES[kind])

    def const(self, role: str, value: str, *names: str) -> str:
        name = self._name(role, names)
        self.kb.parts.consts.append({"name": name, "value": f"wp.constant({value})"})
        return name

    def scalar(self, role: str, values: tuple[str, ...], *names: str, p_par: float = 0.6) -> str:
        """A float kernel parameter (drawn in [0.25, 1]) or a module constant with one of ``values``."""
        if self.coin(p_par):
            return self.par(role, "f", *names)
        return self.const(role, self.pick(*values), *(n.upper() for n in names))

    def vec3(self, *xyz: str) -> str:
        return f"{self.v3}({', '.join(xyz)})"

    def tid(self, *names: tuple[str, ...]) -> str:
        idx = [self.kb.names.reserve(self.pick(*n)) for n in names]
        self.kb.idx, self.kb.tid_line = idx, f"{', '.join(idx)} = wp.tid()"
        return idx[0]

    def mode(self, *options: str) -> str:
        return "wp.Volume." + self.pick(*options)

    def points_or_lattice(self, arrays: tuple[str, ...]) -> int:
        """Sample positions: a point array (1-d launch) or lattice nodes (3-d launch); the launch's ndim."""
        src = self.o["src"] = self.pick("array", "array", "lattice")
        if src == "array":
            self.arr("pts", "v3", *arrays)
            return 1
        if self.coin():
            self.par("origin", "v3", "origin", "grid_lower", "lower")
        else:
            self.a["origin"] = self.vec3(*self.pick(("0.25", "0.25", "0.25"), ("0.3", "0.3", "0.3")))
        self.scalar("spacing", ("0.1", "0.125", "0.15"), "spacing", "cell_size", "dx", p_par=0.3)
        return 3


def _sdf_collide(g: _V) -> None:
    g.vol("vol", "sdf")
    g.arr("x", "v3", "positions", "particle_x", "points")
    g.arr("v", "v3", "velocities", "particle_v", "vel")
    g.scalar("margin", ("0.05", "0.1", "0.02"), "margin", "thickness", "contact_margin")
    g.scalar("dt", ("0.0166", "0.01", "0.005"), "dt", "sim_dt", "h_step")
    g.o.update(grav=g.pick("const", "param", "literal"), damp=g.coin(0.4), normal=g.pick("grad", "grad", "fd"),
               generic=g.coin(0.3), inplace=g.coin(0.6), hits=g.pick("none", "none", "count", "depth"))
    if g.o["grav"] == "const":
        g.const("g", g.vec3("0.0", "-9.8", "0.0"), "GRAVITY", "G")
    elif g.o["grav"] == "param":
        g.par("g", "v3", "gravity", "g_world")
    else:
        g.a["g"] = g.vec3("0.0", g.pick("-9.8", "-9.81", "-1.0"), "0.0")
    if g.o["damp"]:
        g.scalar("damp", ("0.1", "0.05"), "damping", "drag")
    if g.o["normal"] == "fd":  # central differences of the sampled field, in a helper
        name = g.kb.names._fresh(g.pick("sample_sdf", "eval_sdf", "phi"))
        g.kb.parts.funcs.append({"name": name, "params": ["vol: wp.uint64", f"pos: {g.v3}"], "ret": "float",
                                 "body": "return wp.volume_sample_f(vol, wp.volume_world_to_index(vol, pos), "
                                         "wp.Volume.LINEAR)"})
        g.a["fn"] = name
        g.scalar("h", ("0.01", "0.02"), "fd_step", "eps", p_par=0.0)
    if not g.o["inplace"]:
        g.arr("x_out", "v3", "positions_out", "x_new")
        g.arr("v_out", "v3", "velocities_out", "v_new")
    g.arr("hits", "i" if g.o["hits"] == "count" else "f", "contact_count" if g.o["hits"] == "count" else "penetration",
          "contacts", p=float(g.o["hits"] != "none"))
    g.tid(("tid", "i"))


def _advect(g: _V) -> None:
    g.vol("vel", "vel")
    g.arr("pts", "v3", "points", "particles", "positions")
    g.scalar("dt", ("0.1", "0.05", "0.02"), "dt", "time_step")
    g.o.update(scheme=g.pick("euler", "midpoint", "midpoint"), mode=g.mode("LINEAR", "LINEAR", "CLOSEST"),
               generic=g.coin(0.3), substeps=g.pick(1, 1, 2, 4), what=g.pick("points", "points", "backtrace"),
               inplace=g.coin(0.4))
    if g.o["substeps"] > 1:
        g.const("steps", str(g.o["substeps"]), "SUBSTEPS", "NUM_STEPS")
    if g.o["what"] == "backtrace":  # semi-Lagrangian: the density where the flow came from
        g.o["inplace"] = False
        g.vol("dens", "dens")
        g.arr("out", "f", "advected", "density_out", "rho_new")
    elif not g.o["inplace"]:
        g.arr("out", "v3", "points_out", "new_positions", "x_new")
    g.arr("speed", "f", "speed", "flow_speed", p=0.4)
    g.tid(("tid", "i"))


def _density_sample(g: _V) -> None:
    g.vol("vol", "dens")
    ndim = g.points_or_lattice(("points", "probes", "sample_pts"))
    g.o.update(mode=g.pick("linear", "closest", "both", "linear"), form=g.pick("typed", "typed", "generic"),
               gdtype=g.pick("float", "wp.float32"))
    g.arr("out", "f", "values", "density_out", "samples", ndim=ndim)
    g.arr("out2", "f", "closest_values", "nearest", ndim=ndim, p=float(g.o["mode"] == "both"))
    g.o["diff"] = g.o["mode"] == "both" and not g.a["out2"]
    if g.coin(0.35):
        g.scalar("iso", ("0.5", "0.6"), "iso", "threshold")
        g.arr("occ", "i", "occupied", "inside", ndim=ndim)
    g.tid(*([("tid", "i")] if ndim == 1 else [("i", "x_i"), ("j", "y_j"), ("k", "z_k")]))


def _normals(g: _V) -> None:
    g.vol("vol", g.pick("sdf", "dens"))
    ndim = g.points_or_lattice(("points", "surface_pts", "query_points"))
    g.o.update(form=g.pick("typed", "typed", "generic"), world=g.coin(0.7), mode=g.mode("LINEAR", "LINEAR", "CLOSEST"),
               unit=g.pick("normalize", "normalize", "guard"), flip=g.coin(0.25))
    g.arr("nrm", "v3", "normals", "n_out", "grad_dirs", ndim=ndim)
    g.arr("phi", "f", "phi", "sdf_values", "dist", ndim=ndim, p=0.5)
    g.arr("proj", "v3", "projected", "surface_points", ndim=ndim, p=0.4 * (g.o["src"] == "array"))
    g.tid(*([("tid", "i")] if ndim == 1 else [("i", "x_i"), ("j", "y_j"), ("k", "z_k")]))


def _store_field(g: _V) -> None:
    vt = g.o["vt"] = g.pick("f", "f", "i", "v3")
    g.vol("vol", "field")
    g.arr("src", vt, "source", "field_in", "values", ndim=3)
    g.o.update(form=g.pick("typed", "typed", "generic"), rw=g.pick("write_read", "accumulate"))
    if vt == "f":
        g.scalar("scale", ("2.0", "0.5"), "scale", "gain")
    g.arr("out", vt, "readback", "field_out", "result", ndim=3)
    g.tid(("i", "x_i"), ("j", "y_j"), ("k", "z_k"))


def _lattice_transform(g: _V) -> None:
    g.vol("vol", "field")
    g.o.update(center=g.pick("corner", "center", "center", "offset"), roundtrip=g.coin(0.4), value=g.coin(0.4),
               generic=g.coin(0.3), dscale=g.pick("index", "normalize", "plain"), rel=g.coin(0.3),
               flat=g.coin(0.35), errnorm=g.pick("length", "length_sq"))
    nd = 1 if g.o["flat"] else 3
    if g.o["flat"]:  # a 1-d launch over the lattice's nodes, decomposed into (ii, jj, kk)
        g.const("n", "4", "LATTICE_N", "RES", "NODES_PER_AXIS")
        g.kb.names.taken.update(("ii", "jj", "kk"))
    if g.o["center"] == "offset":
        g.par("offset", "v3", "offset", "index_offset", "shift")
    if g.o["rel"]:
        g.par("ref", "v3", "reference", "anchor", "pivot")
    g.arr("wpos", "v3", "world_pos", "positions", "centers", ndim=nd)
    g.arr("err", "f", "roundtrip_err", "residual", ndim=nd, p=float(g.o["roundtrip"]))
    g.arr("vals", "f", "node_values", "samples", ndim=nd, p=float(g.o["value"]))
    if g.coin(0.4):
        g.par("dir", "v3", "ray_dir", "axis_dir", "direction")
        g.arr("dirs", "v3", "index_dirs", "dirs_out", ndim=nd)
    if g.o["flat"]:
        g.tid(("tid", "node", "i"))
    else:
        g.tid(("i", "x_i"), ("j", "y_j"), ("k", "z_k"))


def _labels(g: _V) -> None:
    g.vol("vol", "labels")
    g.arr("pts", "v3", "points", "positions", "samples")
    g.arr("table", "f", "material_density", "density_table", "properties")
    g.o.update(lookup=g.pick("sample", "sample", "lookup", "generic"))
    g.arr("out", "f", "density_out", "values", "mass")
    g.arr("counts", "i", "label_counts", "histogram", p=0.5)
    g.arr("ids", "i", "label_out", "material_out", p=0.3)
    g.tid(("tid", "i"))


def _index_sample(g: _V) -> None:
    g.vol("vol", "index")
    g.arr("pts", "v3", "points", "positions", "query_pts")
    dt = g.o["dt"] = g.pick("f", "f", "v3")
    g.arr("data", dt, "voxel_data", "active_values", "payload")
    g.o.update(mode=g.mode("LINEAR", "LINEAR", "CLOSEST"), grad=dt == "f" and g.coin(0.5),
               bgpar=dt == "f" and g.coin(0.3), lookup=g.coin(0.5),
               bgval=g.pick("0.0", "-1.0", "1.0") if dt == "f" else g.pick(f"{g.v3}()", g.vec3("0.0", "0.0", "0.0"),
                                                                            g.vec3("0.0", "1.0", "0.0")))
    if g.coin(0.3):
        g.par("jitter", "v3", "jitter", "sample_offset", "shift")
    if g.o["bgpar"]:
        g.par("bg", "f", "background", "outside_value")
    g.arr("out", dt, "values", "sampled", "out_vals")
    if g.coin(0.35):
        g.scalar("gain", ("2.0", "0.5", "10.0"), "gain", "weight", "scale")
    g.arr("grad", "v3", "gradients", "grad_out", p=float(g.o["grad"]))
    g.arr("vid", "i", "voxel_ids", "active_index", p=float(g.o["lookup"]))
    g.arr("frac", "f", "index_fraction", "rank", p=0.5 * g.o["lookup"])
    g.tid(("tid", "i"))


_BUILD: dict[str, Callable[[_V], None]] = {v: globals()[f"_{v}"] for v in VARIANTS}


def family(kb: KernelBuilder) -> Family:
    variant = kb.rng.choice(VARIANTS)
    g = _V(kb)
    if kb.rng.random() < 0.7:  # a name from the domain (else the generic vocabulary's)
        kb.kname = kb.names._fresh(kb.rng.choice(_KERNELS[variant]))
    _BUILD[variant](g)
    if variant not in ("store_field", "lattice_transform") and kb.rng.random() < 0.35:  # threads switched off
        g.arr("mask", "i", "active", "mask", "enabled", ndim=len(kb.idx))
        g.o["mask_test"] = g.pick("== 0", "< 1", "<= 0")
    if kb.rng.random() < 0.4:
        kb.rng.shuffle(kb.parts.kparams)
    ctx = {"variant": variant, "a": g.a, "o": g.o, "v3": g.v3, "s": g.s, "i": kb.idx[0], "idx": kb.idx}
    calls = re.findall(r"\bwp\.(\w+)\(", render("kernels/volumes.j2", **kb.context(**ctx)))
    skip = ("constant", "tid", "float32", "array", "array2d", "array3d", "vec3", "vec3f", "int32", "uint64")
    kb.gen.used += [n for n in calls if n not in skip]
    params = {k: v for k, v in g.o.items() if isinstance(v, (str, bool, int))}
    return variant, ctx, {"dtype": "float32", **params}


def lead(v: str, c: dict[str, Any], p: dict[str, Any], kb: KernelBuilder, f: Any) -> str:
    """The description's lead sentence (``describe_domain.LEADS``): what the sampled variant computes."""
    o, a = c["o"], c["a"]
    at = "query points" if o.get("src", "array") == "array" else "the nodes of a 3-D lattice"
    if v == "sdf_collide":
        n = ("the normalized gradient from wp.volume_sample_grad_f mapped to world space with "
             "wp.volume_index_to_world_dir") if o["normal"] == "grad" else "central differences of the sampled SDF"
        return (f"A particle-SDF collision kernel: each particle's velocity is stepped by gravity, the signed distance "
                f"at its predicted position is sampled trilinearly from the volume `{a['vol']}`, a particle closer "
                f"than the margin is pushed out along {n}, and the velocity is recomputed from the corrected position.")
    if v == "advect":
        how = {"euler": "forward Euler", "midpoint": "midpoint (RK2)"}[o["scheme"]]
        mode = "trilinear" if o["mode"].endswith("LINEAR") else "closest-voxel"
        fn = "wp.volume_sample with dtype=wp.vec3" if o["generic"] else "wp.volume_sample_v"
        if o["what"] == "backtrace":
            return (f"A semi-Lagrangian advection kernel: each point is traced back along the velocity volume "
                    f"`{a['vel']}` ({mode} {fn}, {how}) and the density volume `{a['dens']}` is "
                    f"sampled there.")
        steps = f" in {o['substeps']} substeps" if o["substeps"] > 1 else ""
        return (f"A point-advection kernel: points move through the velocity volume `{a['vel']}` sampled {mode} "
                f"({fn}) with {how} steps{steps}.")
    if v == "density_sample":
        m = {"linear": "trilinearly", "closest": "at the closest voxel",
             "both": "both trilinearly and at the closest voxel"}[o["mode"]]
        return (f"A density-sampling kernel: at {at} it maps the world position to index space and samples the "
                f"float volume `{a['vol']}` {m}{', storing the difference' if o['diff'] else ''}"
                f"{' and an occupancy flag against an iso value' if a['occ'] else ''}.")
    if v == "normals":
        return (f"A normal-estimation kernel: at {at} it samples the volume `{a['vol']}` with its index-space gradient "
                f"({'wp.volume_sample_grad' if o['form'] == 'generic' else 'wp.volume_sample_grad_f'}) and stores the normalized gradient"
                f"{' mapped to world space' if o['world'] else ''} as the {'inward ' if o['flip'] else ''}normal"
                f"{', the sampled value' if a['phi'] else ''}{' and the point projected onto the surface' if a['proj'] else ''}.")
    if v == "store_field":
        t = {"f": "float", "i": "int32", "v3": "vec3"}[o["vt"]]
        rw = ("reads each voxel's old value, writes the old value plus the input and stores the old one"
              if o["rw"] == "accumulate" else "writes the input field into the voxels and reads them back")
        return f"A volume-writing kernel: over a 3-D lattice of voxels it {rw} in the {t} volume `{a['vol']}`."
    if v == "lattice_transform":
        where = {"center": "centres", "corner": "corners", "offset": "corners shifted by an offset"}[o["center"]]
        extra = [s for s, on in (("the index-space round-trip error", a["err"]), ("the voxel values", a["vals"]),
                                 ("a direction mapped into index space", a["dir"])) if on]
        return (f"An index-to-world transform kernel: for a 3-D lattice of voxel {where} "
                f"it stores the world positions given by the volume `{a['vol']}`'s transform"
                f"{' relative to a reference point' if a['ref'] else ''}"
                f"{' together with ' + ', '.join(extra) if extra else ''}.")
    if v == "labels":
        how = "wp.volume_sample_i" if o["lookup"] == "sample" else "a voxel lookup"
        return (f"A label-lookup kernel: each point's material label is read from the int32 volume `{a['vol']}` "
                f"({how}) and indexes a material table{' and a label histogram' if a['counts'] else ''}.")
    return (f"An index-grid sampling kernel: at query points it samples the {'vec3' if o['dt'] == 'v3' else 'float'} "
            f"values that the index volume `{a['vol']}`'s active voxels name in a data array "
            f"({'wp.volume_sample_grad_index, with the gradient' if a['grad'] else 'wp.volume_sample_index'})"
            f"{' and looks up the voxel index (wp.volume_lookup_index)' if a['vid'] else ''}.")
