"""Spatial family: rigid-body math over quaternions, transforms and spatial vectors.

Variants: ``mesh_points`` (shape points and normals moved by a body transform, or into its frame),
``integrate`` (a body's pose and twist stepped from velocity, forces and inertia), ``point_velocity``
(world velocity of points on bodies, relative contact velocity), ``fk_chain`` (a joint's parent and child
transforms composed), ``pose_error`` (two frames' relative transform as position and rotation errors),
``spatial_dyn`` (spatial inertia, momentum, bias forces), ``wrench_accum`` (contact forces accumulated as
body wrenches) and ``quat_blend`` (orientation interpolation).  This module samples options and declares
parameters; ``prompts/kernels/spatial.j2`` lays out the bodies.  Kernels are float32 or float64; Warp's
float32-only helpers (``velocity_at_point``, ``transform_twist``, ``quat_to_rpy``, ``quat_to_euler``,
``norm_huber``, ``smooth_normalize``...) are float32-only here.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from warp_synth.synth.jinja_env import render
from warp_synth.synth.templates.base import Draws, Family
from warp_synth.synth.templates.kernel import KernelBuilder

VARIANTS = ("mesh_points", "integrate", "point_velocity", "fk_chain", "pose_error", "spatial_dyn",
            "wrench_accum", "quat_blend")
_TYPES = ("vec3", "quat", "transform", "spatial_vector", "spatial_matrix", "mat33")
_KERNELS = {
    "mesh_points": ("transform_points", "update_shape_points", "points_to_world", "mesh_to_body"),
    "integrate": ("integrate_bodies", "step_rigid_bodies", "advance_poses", "integrate_body_state"),
    "point_velocity": ("eval_point_velocity", "contact_velocity", "body_point_vel", "relative_velocity"),
    "fk_chain": ("eval_fk", "forward_kinematics", "compose_joints", "update_body_frames"),
    "pose_error": ("pose_error", "frame_residual", "eval_pose_cost", "relative_pose"),
    "spatial_dyn": ("eval_bias_forces", "rnea_forward", "body_momentum", "spatial_dynamics"),
    "wrench_accum": ("apply_contact_forces", "accumulate_wrenches", "eval_contacts", "contact_force_kernel"),
    "quat_blend": ("blend_rotations", "interpolate_orientations", "slerp_keys", "orient_frames"),
}


class _Sp(Draws):
    """A kernel's dtype spellings, its parameters (``a``: role -> name) and sampled options (``o``).
    Parameter names come from vocabularies disjoint from the template's local names."""

    def __init__(self, kb: KernelBuilder, dtype: str) -> None:
        self.kb, self.r, self.dtype, self.f32 = kb, kb.rng, dtype, dtype == "float32"
        suf = kb.rng.choice(("", "", "f")) if self.f32 else "d"
        self.T = {k: f"wp.{t}{suf}" for k, t in zip(("v3", "q", "x", "sv", "sm", "m33"), _TYPES, strict=True)}
        self.s = "float" if self.f32 and kb.rng.random() < 0.5 else f"wp.{dtype}"  # scalar annotation
        self.a: dict[str, Any] = {}
        self.o: dict[str, Any] = {"mul": kb.rng.random() < 0.35, "parts": kb.rng.random() < 0.5}

    def arr(self, role: str, ty: str, *names: str, ndim: int = 1, p: float = 1.0) -> str | None:
        """An array parameter for ``role`` (with probability ``p``; else the role is ``None``)."""
        if not self.coin(p):
            self.a[role] = None
            return None
        name = self.kb.names._fresh(self.r.choice(names))
        t = {"v3": self.T["v3"], "f": self.s, "i": "wp.int32"}.get(ty) or self.T.get(ty, ty)
        ann = f"wp.array(dtype={t})" if ndim == 1 else self.pick(f"wp.array{ndim}d(dtype={t})",
                                                                 f"wp.array(dtype={t}, ndim={ndim})")
        self.kb.parts.kparams.append(f"{name}: {ann}")
        self.a[role] = name
        return name

    def par(self, role: str, ty: str, *names: str) -> str:
        name = self.a[role] = self.kb.names._fresh(self.r.choice(names))
        self.kb.parts.kparams.append(f"{name}: {self.T.get(ty, ty)}")
        return name

    def const(self, role: str, value: str, *names: str) -> str:
        name = self.a[role] = self.kb.names._fresh(self.r.choice(names))
        self.kb.parts.consts.append({"name": name, "value": f"wp.constant({value})"})
        return name

    def scalar(self, role: str, *names: str) -> str:
        """A float kernel parameter or module constant (a timestep, a stiffness...)."""
        if self.coin(0.7):
            return self.par(role, self.s, *names)
        return self.const(role, self.c(self.pick("0.01", "0.5", "0.1", "2.0")), *(n.upper() for n in names))

    def vec3(self, *xyz: str) -> str:
        return f"{self.T['v3']}({', '.join(self.c(v) for v in xyz)})"

    def tid(self, ndim: int = 1) -> str:
        names = [("tid", "i", "k")] if ndim == 1 else [("body", "shape_id", "bid"), ("j", "pt")]
        idx = [self.kb.names._fresh(self.pick(*n)) for n in names]
        self.kb.idx, self.kb.tid_line = idx, f"{', '.join(idx)} = wp.tid()"
        return idx[0]


def _mesh_points(sp: _Sp) -> None:
    ndim = sp.pick(1, 1, 2)
    src = sp.o["src"] = sp.pick("array", "indexed", "param") if ndim == 1 else "array"
    sp.arr("pts", "v3", "points", "verts", "particle_x", "local_pts", ndim=ndim)
    (sp.par if src == "param" else sp.arr)("xf", "x", "xform", "body_q", "poses", "X_wb")
    sp.arr("owner", "i", "point_body", "shape_body", p=float(src == "indexed"))
    sp.arr("nrm", "v3", "normals", "local_n", ndim=ndim, p=0.4)
    sp.arr("shape", "x", "shape_X", "X_bs", "shape_xform", p=0.3)
    scale = sp.o["scale"] = sp.pick("none", "none", "none", "uniform", "per_body")
    if scale == "uniform":
        sp.scalar("scale", "scale", "radius")
    elif scale == "per_body":
        sp.arr("scale", "v3", "scales", "shape_scale")
    world = sp.o["world"] = sp.coin(0.7)
    sp.o["form"] = sp.pick("point", "quat", "mat44", "mat33", *(("compose",) if world else ()))
    sp.o["nvec"] = sp.coin()
    sp.arr("out", "v3", "out_points", "world_pts", "x_out", ndim=ndim)
    sp.arr("n_out", "v3", "out_normals", "world_n", ndim=ndim, p=float(bool(sp.a["nrm"])))
    sp.arr("axis_out", "i", "dominant_axis", "proj_axis", ndim=ndim, p=0.6 * bool(sp.a["nrm"]))
    sp.arr("centroid", "v3", "centroid", "com_acc", p=float(src == "indexed" or ndim == 2))
    i = sp.tid(ndim)
    sp.a["b"] = "b" if src == "indexed" else i


def _integrate(sp: _Sp) -> None:
    sp.arr("body_q", "x", "body_q", "poses")
    sp.arr("body_qd", "sv", "body_qd", "twists")
    forces = sp.arr("body_f", "sv", "body_f", "wrenches", p=0.6)
    sp.arr("inv_m", "f", "body_inv_mass", "inv_mass", p=float(bool(forces)))
    sp.arr("inv_i", "m33", "body_inv_inertia", "inv_inertia", p=float(bool(forces)))
    sp.arr("inertia", "m33", "body_inertia", "inertia", p=0.5 * bool(forces))
    sp.arr("com", "v3", "body_com", "com_offset", p=0.4)
    sp.o["damp"] = sp.pick("none", "linear", "exp")
    if sp.coin(0.35):
        sname = sp.kb.names._fresh(sp.pick("IntegratorParams", "StepConfig", "SimParams"))
        fields = [("dt", sp.s), ("gravity", sp.T["v3"]), ("damping", sp.s)]
        sp.kb.parts.structs.append({"name": sname, "fields": [{"name": n, "type": t} for n, t in fields]})
        cfg = sp.par("cfg", sname, "params", "cfg", "sim")
        sp.a.update(dt=f"{cfg}.dt", g=f"{cfg}.gravity", damp=f"{cfg}.damping")
    else:
        sp.par("dt", sp.s, "dt", "sim_dt", "h")
        if sp.coin():
            sp.const("g", sp.vec3("0.0", "-9.81", "0.0"), "GRAVITY", "G")
        else:
            sp.par("g", "v3", "gravity", "g_world")
        if sp.o["damp"] != "none":
            sp.scalar("damp", "angular_damping", "damping")
    sp.arr("q_out", "x", "body_q_new", "poses_out")
    sp.arr("qd_out", "sv", "body_qd_new", "twists_out", p=0.8)
    sp.o.update(split=sp.coin(0.7), rot=sp.pick("quat_deriv", "axis_angle", "body_deriv"), ctor=sp.coin(0.4))
    sp.tid()


def _velocity_func(sp: _Sp) -> str:
    """A ``@wp.func`` giving a point's world velocity from its body's transform and twist."""
    name = sp.kb.names._fresh(sp.pick("point_velocity", "velocity_at", "body_point_velocity"))
    r = sp.pick("wp.transform_vector(X, p)", "wp.quat_rotate(X.q, p)", "wp.transform_point(X, p) - X.p")
    body = f"r = {r}\nreturn wp.spatial_bottom(qd) + wp.cross(wp.spatial_top(qd), r)"
    params = [f"X: {sp.T['x']}", f"qd: {sp.T['sv']}", f"p: {sp.T['v3']}"]
    sp.kb.parts.funcs.append({"name": name, "params": params, "ret": sp.T["v3"], "body": body})
    return name


def _point_velocity(sp: _Sp) -> None:
    sp.arr("body_q", "x", "body_q", "poses")
    sp.arr("body_qd", "sv", "body_qd", "twists")
    two = sp.coin(0.45)
    sp.a.update(vmax=None, x_out=None)
    sp.o["sfx"] = ["_a", "_b"] if two else [""]
    sp.a["owners"] = [sp.arr("o0", "i", "point_body", "contact_body0", "shape_body")]
    sp.a["pts"] = [sp.arr("p0", "v3", "points", "contact_pts", "offsets")]
    if two:
        sp.a["owners"].append(sp.arr("o1", "i", "contact_body1", "other_body"))
        sp.a["pts"].append(sp.arr("p1", "v3", "points_b", "offsets1"))
        sp.arr("nrm", "v3", "contact_normal", "normals")
        sp.arr("vn_out", "f", "normal_vel", "vn_out")
        sp.o["sep"] = sp.pick("none", "none", "approach", "restitution")
        if sp.o["sep"] == "restitution":
            sp.scalar("rest", "restitution", "e_rest", "bounce")
        sp.arr("vt_out", "v3", "tangent_vel", "vt_out", p=0.6)
    else:
        sp.arr("v_out", "v3", "point_vel", "vel_out")
        sp.arr("speed", "f", "speed_sq", "ke", p=0.4)
        if sp.coin(0.35):
            sp.scalar("vmax", "max_speed", "v_limit", "speed_cap")
        if sp.coin(0.35):
            sp.scalar("dt", "dt", "sim_dt", "h")
            sp.arr("x_out", "v3", "x_pred", "predicted", "pts_next")
    sp.o["local"] = sp.f32 and sp.coin(0.35)  # twists stored in the body frame
    sp.o["vel"] = sp.pick("builtin", "func", "inline") if sp.f32 else sp.pick("func", "inline")
    sp.o["r"] = sp.pick("quat", "vector", "point")
    sp.o["sub"] = sp.coin()
    sp.a["fn"] = _velocity_func(sp) if sp.o["vel"] == "func" else None
    sp.tid()


def _fk_chain(sp: _Sp) -> None:
    sp.arr("parent", "i", "joint_parent", "parents")
    sp.arr("body_q", "x", "body_q", "X_w")
    sp.arr("x_pj", "x", "joint_X_p", "X_pj")
    sp.arr("x_cj", "x", "joint_X_c", "X_cj", p=0.5)
    joint = sp.o["joint"] = sp.pick("revolute", "prismatic", "ball", "free", "universal")
    sp.o["rpy"] = joint == "ball" and sp.coin(0.4)
    sp.o["renorm"] = joint == "free" and sp.coin()
    jty = "v3" if sp.o["rpy"] else {"ball": "q", "free": "x"}.get(joint, "f")
    sp.arr("jq", jty, "joint_q", "q_joint", "coords")
    sp.arr("jq2", "f", "joint_q2", "q_second", p=float(joint == "universal"))
    sp.arr("axis", "v3", "joint_axis", "axes", p=0.6 * (joint not in ("ball", "free")))
    if sp.a["axis"] is None and joint not in ("ball", "free"):
        sp.const("axis", sp.vec3(*sp.pick(("0.0", "0.0", "1.0"), ("1.0", "0.0", "0.0"))), "AXIS", "HINGE")
    vel = joint in ("revolute", "prismatic") and sp.coin(0.4)
    sp.arr("jqd", "f", "joint_qd", "qd_joint", p=float(vel))
    sp.arr("parent_qd", "sv", "body_qd", "twists", p=float(vel))
    sp.arr("out", "x", "body_q_out", "X_wc")
    sp.arr("qd_out", "sv", "body_qd_out", "twists_out", p=float(vel))
    sp.o["guard"] = sp.coin()
    sp.o["limit"] = joint in ("revolute", "prismatic") and sp.pick("none", "none", "const", "array")
    if sp.o["limit"] == "const":
        sp.const("lo", sp.c(sp.pick("-1.5", "-3.14159", "-0.5")), "Q_MIN", "LOWER")
        sp.const("hi", sp.c(sp.pick("1.5", "3.14159", "0.5")), "Q_MAX", "UPPER")
    elif sp.o["limit"] == "array":
        sp.arr("lo", "f", "joint_lower", "q_min")
        sp.arr("hi", "f", "joint_upper", "q_max")
    sp.arr("anchor", "v3", "joint_pos", "anchor_w", p=0.3)
    sp.arr("pos_out", "v3", "body_pos", "origin_out", p=0.3)
    sp.o.update(early=sp.coin(), zero=sp.coin(), ctor=sp.coin(0.4))
    # joint-angle read-back (float32 helpers): a ball joint's Euler angles, a hinge's signed twist angle
    sp.o["order"] = sp.pick((2, 1, 0), (0, 1, 2), (1, 0, 2), "rpy")
    sp.arr("ang_out", "v3", "joint_euler", "ball_angles", p=0.6 * (sp.f32 and joint == "ball" and not sp.o["rpy"]))
    if sp.a["ang_out"] is None:
        sp.arr("ang_out", "f", "joint_angle", "q_measured", p=0.35 * (sp.f32 and joint == "revolute"))
    sp.arr("q0", "f", "joint_q_rest", "q_offset", p=0.3 * (joint in ("revolute", "prismatic", "universal")))
    sp.tid()


def _pose_error(sp: _Sp) -> None:
    sp.arr("xa", "x", "frames", "current", "X_cur")
    target = sp.o["target"] = sp.pick("array", "param")
    (sp.arr if target == "array" else sp.par)("xb", "x", "targets", "X_goal", "goal")
    f32_only = ("rpy", "twist", "swing", "euler", "rpy", "twist", "euler") if sp.f32 else ()
    rot = sp.o["rot"] = sp.pick("axis_angle", "small", "matrix", *f32_only)
    sp.arr("tw_axis", "v3", "twist_axis", "axes", p=float(rot in ("twist", "swing")))
    sp.arr("pos_err", "v3", "pos_err", "err_p")
    sp.arr("rot_err", "v3", "rot_err", "err_r")
    sp.o.update(inv_b=sp.coin(0.3), wmode=sp.pick("none", "none", "array", "scalar"))
    sp.a.update(w=None, nrm_out=None, delta=None)
    if sp.o["wmode"] == "array":
        sp.arr("w", "f", "weights", "frame_w")
    elif sp.o["wmode"] == "scalar":
        sp.scalar("w", "pos_weight", "w_pos")
    sp.o["order"] = sp.pick((0, 1, 2), (2, 1, 0), (1, 2, 0))
    if sp.arr("nrm_out", "f", "err_norm", "residual", p=0.7):  # Huber norms are float32 helpers
        sp.o["loss"] = sp.pick("l2", "huber", "pseudo_huber", "huber", "pseudo_huber") if sp.f32 else "l2"
        sp.a["delta"] = sp.scalar("delta", "huber_delta", "delta") if sp.o["loss"] != "l2" and sp.coin(0.6) else None
    extra = sp.o["extra"] = sp.pick("energy", "correct", "none")
    if extra == "energy":
        sp.scalar("kp", "kp", "k_lin")
        sp.scalar("kr", "kr", "k_ang")
        sp.arr("energy", "f", "energy", "cost")
    elif extra == "correct":
        sp.scalar("alpha", "alpha", "relax")
        sp.arr("x_new", "x", "X_new", "corrected")
    sp.tid()


def _spatial_dyn(sp: _Sp) -> None:
    sp.arr("qd", "sv", "body_qd", "twists")
    sp.arr("inertia", "sm", "body_I", "inertia", "I_body")
    sp.arr("body_q", "x", "body_q", "poses", p=0.5)
    accel = sp.arr("accel", "sv", "body_qdd", "accel", p=0.6)
    sp.arr("joint", "sv", "joint_S", "motion_subspace", p=0.5 * bool(accel))
    sp.arr("jqd", "f", "joint_qd", "qd_joint", p=float(bool(sp.a["joint"])))
    sp.arr("f_out", "sv", "body_f", "f_out")
    sp.arr("h_out", "sv", "momentum", "body_h", p=0.3)
    extra = sp.pick("energy", "power", "none", "inertia" if sp.a["body_q"] else "energy")
    sp.arr("energy", "f", "kinetic", "ke", p=float(extra == "energy"))
    sp.arr("power", "f", "power", "p_out", p=float(extra == "power"))
    sp.arr("i_out", "sm", "I_world", "inertia_out", p=float(extra == "inertia"))
    sp.o.update(v_world=sp.coin(), star=sp.coin(0.7), hv=sp.coin(),
                bias=sp.pick("none", "none", "ext", "damp"))
    sp.a.update(f_ext=None, kd=None)
    if sp.o["bias"] == "ext":
        sp.arr("f_ext", "sv", "f_ext", "external_f", "applied")
    elif sp.o["bias"] == "damp":
        sp.scalar("kd", "damping", "kd", "drag")
    sp.tid()


def _wrench_accum(sp: _Sp) -> None:
    sp.arr("cb", "i", "contact_body", "shape_body")
    sp.arr("body_q", "x", "body_q", "poses")
    sp.arr("pts", "v3", "contact_point", "cp")
    sp.arr("nrm", "v3", "contact_normal", "cn")
    sp.arr("depth", "f", "contact_depth", "penetration")
    damped = sp.arr("qd", "sv", "body_qd", "twists", p=0.35)
    sp.scalar("ke", "ke", "stiffness", "contact_ke")
    if damped:
        sp.scalar("kd", "kd", "damping")
    sp.arr("body_f", "sv", "body_f", "wrenches")
    sp.arr("f_out", "v3", "contact_force", "f_out", p=0.4)
    # a clamp to pushing forces only where no damping term can make every force negative
    sp.o.update(gate=sp.pick("none", "none", "return", "margin"), norm_n=sp.coin(0.7), r_first=sp.coin())
    sp.a["margin"] = sp.scalar("margin", "margin", "contact_margin") if sp.o["gate"] == "margin" else None
    sp.o.update(local_pt=sp.coin(0.4), clamp=not damped and sp.coin(0.3),
                smooth=sp.f32 and sp.o["norm_n"] and sp.coin(0.4),
                frame=sp.pick("world", "world", "body") if sp.f32 else "world",
                acc=sp.pick("atomic_add", "inplace", "atomic_sub"))
    sp.tid()


def _quat_blend(sp: _Sp) -> None:
    src = sp.o["src"] = sp.pick("quats", "rpy", "matrix", *(("euler", "align") if sp.f32 else ("quats",)))
    ty, names = {"quats": ("q", ("q0", "rot_a", "key0")), "matrix": ("m33", ("R0", "rot_m"))}.get(
        src, ("v3", ("dirs", "targets_dir") if src == "align" else ("angles", "euler")))
    sp.arr("src", ty, *names)
    sp.arr("qb", "q", "q1", "rot_b", "key1")
    if src == "align":
        sp.const("up", sp.vec3(*sp.pick(("0.0", "1.0", "0.0"), ("0.0", "0.0", "1.0"))), "UP", "UP_AXIS")
    sp.o["t_arr"] = sp.coin(0.6)
    if sp.o["t_arr"]:
        sp.arr("t", "f", "alpha", "weights", "blend_t")
    else:
        sp.scalar("t", "alpha", "blend")
    sp.arr("vecs", "v3", "vectors", "local_v", p=0.5)
    sp.o.update(mode=sp.pick("slerp", "nlerp", "delta"), mat_out=sp.coin(0.3),
                rotfn=sp.pick("quat_rotate", "quat_rotate_inv"))
    sp.o["order"] = sp.pick((0, 1, 2), (2, 1, 0), (2, 0, 1))
    sp.o["ease"] = sp.pick("none", "none", "clamp", "smooth")
    sp.arr("out", "m33" if sp.o["mat_out"] else "q", "out_R" if sp.o["mat_out"] else "out_q", "rot_out")
    sp.arr("v_out", "v3", "out_v", "rotated", p=float(bool(sp.a["vecs"])))
    sp.tid()


_BUILD: dict[str, Callable[[_Sp], None]] = {v: globals()[f"_{v}"] for v in VARIANTS}


def family(kb: KernelBuilder) -> Family:
    variant = kb.rng.choice(VARIANTS)
    sp = _Sp(kb, kb.rng.choices(("float32", "float64"), weights=(3, 1))[0])
    if kb.rng.random() < 0.7:  # a name from the domain (else the generic vocabulary's)
        kb.kname = kb.names._fresh(kb.rng.choice(_KERNELS[variant]))
    _BUILD[variant](sp)
    ctx = {"variant": variant, "a": sp.a, "o": sp.o, "T": sp.T, "f32": sp.f32, "dtype": sp.dtype,
           "i": kb.idx[0], "idx": kb.idx}
    # provenance: the builtins the rendered module calls (value-type constructors aside)
    calls = re.findall(r"\bwp\.(\w+)\(", render("kernels/spatial.j2", **kb.context(**ctx)))
    skip = ("constant", "tid", "float64", "array", "array2d")
    kb.gen.used += [n for n in calls
                    if n == "spatial_vector" or (n not in skip and n.rstrip("fd") not in _TYPES)]
    params = {k: v for k, v in sp.o.items() if isinstance(v, (str, bool))}
    return variant, ctx, {"dtype": sp.dtype, **params}
