"""Structs family: ``@wp.struct`` records as simulators use them.

Variants: ``particle_step`` (an array of particle structs integrated under gravity, damping and a ground
plane, optionally through a ``@wp.func`` taking and returning the struct, with a parameter struct),
``springs`` (an array of spring structs with integer endpoints, forces scattered with atomics),
``contacts`` (contact records built as struct locals, field by field, against a plane or a sphere given as a
struct parameter, stored into an array of structs), ``materials`` (material parameters as a struct
parameter or an array of structs, passed to an energy/stress ``@wp.func``), ``bounds`` (AABB structs built,
merged and expanded by helpers, overlap queries) and ``state_arrays`` (a state struct whose fields are
arrays, as ``warp.sim``'s State and Model) and ``rope`` (ropes of consecutive particle structs, the weight
each carries summed from the free end up in a ``reversed(range(...))`` loop, segment lengths in a ``wp.zeros``
local array, a packed position read by a vector slice).  Fields are scalars, vectors, matrices, quaternions, integers
and (struct parameters only) arrays: the executor draws no array of structs holding arrays or structs.
This module writes the kernel body; ``prompts/kernels/structs.j2`` lays it out.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from warp_synth.synth.jinja_env import render
from warp_synth.synth.templates.base import Draws, Family
from warp_synth.synth.templates.kernel import IND, KernelBuilder

VARIANTS = ("particle_step", "springs", "contacts", "materials", "bounds", "state_arrays", "rope")
_KERNELS = {
    "particle_step": ("integrate_particles", "step_particles", "advance_particles", "update_particles"),
    "springs": ("eval_springs", "spring_forces", "accumulate_springs", "solve_springs"),
    "contacts": ("collide_particles", "generate_contacts", "find_contacts", "ground_contacts"),
    "materials": ("eval_materials", "elastic_energy", "compute_stress", "eval_elements"),
    "bounds": ("compute_bounds", "build_aabbs", "update_bounds", "refit_boxes"),
    "state_arrays": ("integrate_state", "eval_state", "step_model", "simulate_step"),
    "rope": ("rope_tension", "eval_strands", "hanging_chain", "strand_forces"),
}


class _W(Draws):
    """The kernel being written: dtype spellings, parameters, body lines and the options sampled."""

    def __init__(self, kb: KernelBuilder, dtype: str) -> None:
        self.kb, self.r, self.dtype, self.f32 = kb, kb.rng, dtype, dtype == "float32"
        sfx = "" if self.f32 else "d"
        self.T = {"v3": f"wp.vec3{sfx}", "m33": f"wp.mat33{sfx}", "q": f"wp.quat{sfx}", "i": "int",
                  "f": kb.rng.choice(("float", "wp.float32")) if self.f32 else "wp.float64"}
        self.o: dict[str, Any] = {}
        self.body: list[str] = []
        self.structs: list[str] = []
        self.funcs: list[str] = []

    def vec3(self, *xyz: str) -> str:
        return f"{self.T['v3']}({', '.join(self.c(v) for v in xyz)})"

    def fresh(self, *names: str) -> str:
        return self.kb.names._fresh(self.r.choice(names))

    def struct(self, names: tuple[str, ...], fields: list[tuple[str, str, tuple[str, ...]]]) -> tuple[str, dict]:
        """A ``@wp.struct``: ``fields`` are (role, type key or spelling, field name choices); returns its name
        and role -> field name."""
        sname = self.fresh(*names)
        roles: dict[str, str] = {}
        decl = []
        for role, t, choices in fields:
            roles[role] = self.r.choice(choices)
            decl.append({"name": roles[role], "type": self.T.get(t, t)})
        if self.coin(0.3):
            self.r.shuffle(decl)
        self.kb.parts.structs.append({"name": sname, "fields": decl})
        self.structs.append(sname)
        return sname, roles

    def arr(self, t: str, *names: str) -> str:
        name = self.fresh(*names)
        self.kb.parts.kparams.append(f"{name}: wp.array(dtype={self.T.get(t, t)})")
        return name

    def par(self, t: str, *names: str) -> str:
        name = self.fresh(*names)
        self.kb.parts.kparams.append(f"{name}: {self.T.get(t, t)}")
        return name

    def const(self, value: str, *names: str) -> str:
        name = self.fresh(*names)
        self.kb.parts.consts.append({"name": name, "value": f"wp.constant({value})"})
        return name

    def scalar(self, *names: str, value: str = "0.1") -> str:
        """A float kernel parameter (or, sometimes, a module constant)."""
        if self.coin(0.7):
            return self.par("f", *names)
        return self.const(self.c(value), *(n.upper() for n in names))

    def func(self, names: tuple[str, ...], params: list[str], ret: str, body: list[str]) -> str:
        name = self.fresh(*names)
        self.kb.parts.funcs.append({"name": name, "params": params, "ret": ret, "body": "\n".join(body)})
        self.funcs.append(name)
        return name

    def emit(self, *lines: str, level: int = 1) -> None:
        self.body += [IND * level + ln for ln in lines]

    def tid(self, *names: str) -> str:
        i = self.fresh(*(names or ("tid", "i", "k")))
        self.kb.idx, self.kb.tid_line = [i], f"{i} = wp.tid()"
        return i


def _particle_step(w: _W) -> None:
    pname, pf = w.struct(("Particle", "ParticleState", "Point"), [
        ("x", "v3", ("x", "pos", "position")), ("v", "v3", ("v", "vel", "velocity")),
        ("m", "f", ("inv_mass", "w")), *([("r", "f", ("radius", "size"))] if w.coin(0.6) else []),
        *([("flag", "i", ("flags", "active", "state"))] if w.coin(0.4) else [])])
    cfg = w.coin(0.5)
    damp = w.o["damp"] = w.pick("none", "linear", "exp")
    if cfg:
        cname, cf = w.struct(("SimParams", "StepConfig", "Integrator"), [
            ("dt", "f", ("dt", "h")), ("g", "v3", ("gravity", "g")),
            *([("damp", "f", ("damping", "drag"))] if damp != "none" else [])])
    src = w.arr(pname, "particles", "particle_q", "points")
    cp = w.par(cname, "params", "cfg", "sim") if cfg else ""
    if cfg:
        dt, g, kd = f"{cp}.{cf['dt']}", f"{cp}.{cf['g']}", f"{cp}.{cf.get('damp', '')}"
    else:
        dt = w.scalar("dt", "sim_dt", value="0.01")
        g = w.const(w.vec3("0.0", "-9.81", "0.0"), "GRAVITY") if w.coin() else w.par("v3", "gravity", "g_world")
        kd = w.scalar("damping", "drag", value="0.05") if damp != "none" else ""
    inplace = w.o["inplace"] = w.coin(0.4)
    dst = src if inplace else w.arr(pname, "particles_out", "new_particles", "points_out")
    ke = w.arr("f", "kinetic", "energy", "ke") if w.coin(0.4) else ""
    i = w.tid()
    step = [f"v = p.{pf['v']} + {g} * ({dt}{' * p.' + pf['m'] if w.coin() else ''})"]
    if damp == "linear":
        step.append(f"v = v * ({w.c('1.0')} - {kd} * {dt})")
    elif damp == "exp":
        step.append(f"v = v * wp.exp(-{kd} * {dt})")
    ground = w.o["ground"] = w.pick("none", "clamp", "bounce") if "r" in pf else w.pick("none", "clamp")
    how = w.o["how"] = w.pick("func", "fields", "ctor")
    if how == "func":  # a @wp.func taking and returning the struct
        fresh_q = w.coin()
        fb = [ln.replace(f"{cp}.", "params.") for ln in step] if cfg else list(step)
        fb += [f"q = {pname}()" if fresh_q else "q = p", f"q.{pf['v']} = v",
               f"q.{pf['x']} = p.{pf['x']} + v * {dt.replace(f'{cp}.', 'params.') if cfg else dt}"]
        fb += [f"q.{pf[k]} = p.{pf[k]}" for k in ("m", "r", "flag") if k in pf and fresh_q]
        args = [f"p: {pname}"]
        if cfg:
            args.append(f"params: {cname}")
            call_args = ["p", cp]
        else:  # the helper reads the kernel's values (module constants aside): pass them
            passed = [x for x in (dt, g, kd) if x and not x.isupper()]
            args += [f"{x}: {w.T['v3'] if x == g else w.T['f']}" for x in passed]
            call_args = ["p", *passed]
        fn = w.func(("integrate_particle", "advance", "step_particle"), args, pname, [*fb, "return q"])
        w.emit(f"p = {src}[{i}]", f"q = {fn}({', '.join(call_args)})")
    else:
        w.emit(f"p = {src}[{i}]", *step)
        if how == "fields":
            w.emit("q = p", f"q.{pf['v']} = v", f"q.{pf['x']} = p.{pf['x']} + v * {dt}")
        else:
            w.emit(f"q = {pname}()", f"q.{pf['x']} = p.{pf['x']} + v * {dt}", f"q.{pf['v']} = v",
                   *[f"q.{pf[k]} = p.{pf[k]}" for k in ("m", "r", "flag") if k in pf])
    if "flag" in pf and w.coin(0.6):
        w.emit(f"if p.{pf['flag']} % 2 == 1:", f"{IND}q = p")  # pinned particles keep their state
        w.o["pinned"] = True
    if ground != "none":
        lo = f"q.{pf['r']}" if "r" in pf else w.c("0.0")
        w.emit(f"if q.{pf['x']}[1] < {lo}:")
        w.emit(f"q.{pf['x']} = {w.T['v3']}(q.{pf['x']}[0], {lo}, q.{pf['x']}[2])", level=2)
        if ground == "bounce":
            w.emit(f"q.{pf['v']} = {w.T['v3']}(q.{pf['v']}[0], -q.{pf['v']}[1], q.{pf['v']}[2])", level=2)
    w.emit(f"{dst}[{i}] = q")
    if ke:
        vv = f"wp.dot(q.{pf['v']}, q.{pf['v']})" if w.coin() else f"wp.length_sq(q.{pf['v']})"
        w.emit(f"{ke}[{i}] = {w.c('0.5')} * {vv} / p.{pf['m']}")


def _springs(w: _W) -> None:
    sname, sf = w.struct(("Spring", "SpringConstraint", "Edge"), [
        ("i", "i", ("i", "a", "p0")), ("j", "i", ("j", "b", "p1")), ("rest", "f", ("rest", "rest_length", "l0")),
        ("ke", "f", ("ke", "stiffness", "k")), *([("kd", "f", ("kd", "damping"))] if w.coin(0.5) else [])])
    w.o["damped"] = "kd" in sf
    springs = w.arr(sname, "springs", "spring_list", "edges")
    x = w.arr("v3", "x", "particle_x", "positions")
    v = w.arr("v3", "v", "particle_v", "velocities") if "kd" in sf else ""
    f = w.arr("v3", "f", "particle_f", "forces")
    e = w.arr("f", "energy", "spring_energy", "pe") if w.coin(0.4) else ""
    i = w.tid()
    w.emit(f"s = {springs}[{i}]", f"xi = {x}[s.{sf['i']}]", f"xj = {x}[s.{sf['j']}]", "d = xi - xj",
           "l = wp.length(d)")
    guard = w.o["guard"] = w.pick("return", "max", "normalize")
    if guard == "return":
        w.emit(f"if l < {w.c('1.0e-6')}:", f"{IND}return", "n = d / l")
    elif guard == "max":
        w.emit(f"n = d / wp.max(l, {w.c('1.0e-6')})")
    else:
        w.emit("n = wp.normalize(d)")
    w.emit(f"c = l - s.{sf['rest']}")
    if w.coin(0.3):
        w.emit(f"c = c / s.{sf['rest']}")
        w.o["strain"] = True
    fs = f"s.{sf['ke']} * c"
    if v:
        w.emit(f"dv = {v}[s.{sf['i']}] - {v}[s.{sf['j']}]", f"fs = {fs} + s.{sf['kd']} * wp.dot(n, dv)")
    else:
        w.emit(f"fs = {fs}")
    w.emit("fv = n * fs")
    acc = w.o["acc"] = w.pick("atomic", "inplace")
    if acc == "atomic":
        w.emit(f"wp.atomic_sub({f}, s.{sf['i']}, fv)", f"wp.atomic_add({f}, s.{sf['j']}, fv)")
    else:
        w.emit(f"{f}[s.{sf['i']}] -= fv", f"{f}[s.{sf['j']}] += fv")
    if e:
        w.emit(f"{e}[{i}] = {w.c('0.5')} * s.{sf['ke']} * c * c")


def _contacts(w: _W) -> None:
    cname, cf = w.struct(("Contact", "ContactPoint", "Hit"), [
        ("p", "v3", ("point", "p", "position")), ("n", "v3", ("normal", "n")), ("d", "f", ("depth", "penetration")),
        ("id", "i", ("body", "particle", "index")), *([("vn", "f", ("vn", "normal_vel"))] if w.coin(0.4) else [])])
    x = w.arr("v3", "x", "particle_x", "positions")
    vel = w.arr("v3", "v", "particle_v", "velocities") if "vn" in cf else ""
    shape = w.o["shape"] = w.pick("plane", "sphere", "sphere")
    if shape == "sphere":
        oname, of = w.struct(("Sphere", "Obstacle", "Collider"), [
            ("c", "v3", ("center", "pos")), ("r", "f", ("radius", "r"))])
        obs = w.par(oname, "sphere", "obstacle", "collider")
    else:
        up = w.const(w.vec3("0.0", "1.0", "0.0"), "UP", "PLANE_N") if w.coin() else w.par("v3", "plane_n", "up")
    radius = w.scalar("radius", "particle_radius", "margin", value="0.5")
    out = w.arr(cname, "contacts", "contact_list", "hits")
    count = w.arr("i", "contact_count", "num_hits", "counter") if w.coin(0.4) else ""
    w.o["count"] = bool(count)
    i = w.tid()
    w.emit(f"p = {x}[{i}]")
    if shape == "sphere":
        w.emit(f"d = p - {obs}.{of['c']}", "dist = wp.length(d)", f"n = d / wp.max(dist, {w.c('1.0e-6')})",
               f"pen = {obs}.{of['r']} + {radius} - dist", f"cp = {obs}.{of['c']} + n * {obs}.{of['r']}")
    else:
        w.emit(f"n = wp.normalize({up})", f"pen = {radius} - wp.dot(p, n)", "cp = p - n * wp.dot(p, n)")
    build = w.o["build"] = w.pick("local", "func")
    fields = [(cf["p"], "cp"), (cf["n"], "n"), (cf["d"], "pen"), (cf["id"], i)]
    if "vn" in cf:
        fields.append((cf["vn"], f"wp.dot({vel}[{i}], n)"))
    if w.coin(0.4):
        w.r.shuffle(fields)
    if build == "func":
        args = {"cp": f"point: {w.T['v3']}", "n": f"normal: {w.T['v3']}", "pen": f"depth: {w.T['f']}"}
        sub = {"cp": "point", "n": "normal", "pen": "depth"}
        fb = [f"c = {cname}()", *[f"c.{k} = {sub[v]}" for k, v in fields if v in sub]]
        fn = w.func(("make_contact", "new_contact", "contact_from"), list(args.values()), cname, [*fb, "return c"])
        w.emit(f"c = {fn}(cp, n, pen)", *[f"c.{k} = {v}" for k, v in fields if v not in sub])
    else:
        w.emit(f"c = {cname}()", *[f"c.{k} = {v}" for k, v in fields])
    gate = w.o["gate"] = w.pick("store_all", "if_hit", "clear")
    if gate == "store_all":
        w.emit(f"{out}[{i}] = c")
    elif gate == "if_hit":
        w.emit(f"if c.{cf['d']} > {w.c('0.0')}:", f"{IND}{out}[{i}] = c")
    else:
        w.emit(f"if pen <= {w.c('0.0')}:", f"{IND}c.{cf['d']} = {w.c('0.0')}", f"{IND}c.{cf['id']} = -1",
               f"{out}[{i}] = c")
    if count:
        w.emit(f"if pen > {w.c('0.0')}:", f"{IND}wp.atomic_add({count}, 0, 1)")


def _materials(w: _W) -> None:
    mname, mf = w.struct(("Material", "ElasticParams", "MaterialProps"), [
        ("mu", "f", ("mu", "k_mu", "shear")), ("lam", "f", ("lam", "k_lambda", "bulk")),
        *([("kd", "f", ("damping", "k_damp"))] if w.coin(0.4) else []),
        *([("rho", "f", ("density", "rho"))] if w.coin(0.4) else [])])
    src = w.o["src"] = w.pick("param", "array", "indexed")
    F = w.arr("m33", "F", "def_grad", "deformation")
    if src == "param":
        mat = w.par(mname, "material", "mat", "props")
    else:
        mats = w.arr(mname, "materials", "element_materials", "mat_table")
        ids = w.arr("i", "material_id", "mat_index", "element_mat") if src == "indexed" else ""
    vol = w.arr("f", "rest_volume", "volumes", "element_vol") if "rho" in mf or w.coin(0.3) else ""
    model = w.o["model"] = w.pick("neo", "stvk", "linear")
    energy = w.arr("f", "energy", "psi_out", "element_energy")
    stress = w.arr("m33", "stress", "P_out", "piola") if w.coin(0.5) else ""
    I3 = f"wp.identity(n=3, dtype=wp.{w.dtype})"
    mu, lam, half, one = "m." + mf["mu"], "m." + mf["lam"], w.c("0.5"), w.c("1.0")
    if model == "neo":
        pre = ["J = wp.determinant(Fe)"]
        psi = ["Ic = wp.ddot(Fe, Fe)", f"psi = {mu} * {half} * (Ic - {w.c('3.0')}) - {mu} * (J - {one}) + {lam} * "
               f"{half} * (J - {one}) * (J - {one})"]
        sb = [f"P = Fe * {mu} + wp.transpose(wp.inverse(Fe)) * (J * ({lam} * (J - {one}) - {mu}))"]
    elif model == "stvk":
        pre = [f"E = (wp.transpose(Fe) * Fe - {I3}) * {half}", "tr = wp.trace(E)"]
        psi = [f"psi = {mu} * wp.ddot(E, E) + {lam} * {half} * tr * tr"]
        sb = [f"P = Fe * (E * ({w.c('2.0')} * {mu}) + {I3} * ({lam} * tr))"]
    else:
        pre = [f"eps = (Fe + wp.transpose(Fe)) * {half} - {I3}", "tr = wp.trace(eps)"]
        psi = [f"psi = {mu} * wp.ddot(eps, eps) + {lam} * {half} * tr * tr"]
        sb = [f"P = eps * ({w.c('2.0')} * {mu}) + {I3} * ({lam} * tr)"]
    if "kd" in mf:
        psi.append(f"psi = psi * ({one} + m.{mf['kd']})")
    sig = [f"Fe: {w.T['m33']}", f"m: {mname}"]
    fn_e = w.func(("strain_energy", "energy_density", "eval_psi"), sig, w.T["f"], [*pre, *psi, "return psi"])
    fn_s = w.func(("first_piola", "stress_of", "eval_stress"), sig, w.T["m33"], [*pre, *sb, "return P"]) \
        if stress else ""
    i = w.tid("e", "tid", "elem")
    if src == "indexed":
        w.emit(f"mp = {mats}[{ids}[{i}]]")
    elif src == "array":
        w.emit(f"mp = {mats}[{i}]")
    else:
        w.emit(f"mp = {mat}")
    w.emit(f"Fe = {F}[{i}]", f"psi = {fn_e}(Fe, mp)")
    if vol:
        w.emit(f"psi = psi * {vol}[{i}]" + (f" * mp.{mf['rho']}" if "rho" in mf and w.coin() else ""))
    w.emit(f"{energy}[{i}] = psi")
    if stress:
        w.emit(f"{stress}[{i}] = {fn_s}(Fe, mp)")


def _bounds(w: _W) -> None:
    bname, bf = w.struct(("Bounds", "AABB", "Box"), [("lo", "v3", ("lower", "lo", "min_p")),
                                                     ("hi", "v3", ("upper", "hi", "max_p"))])
    src = w.o["src"] = w.pick("points", "segments", "triangles")
    x = w.arr("v3", "points", "vertices", "x")
    n_idx = {"points": 0, "segments": 2, "triangles": 3}[src]
    idx = [w.arr("i", *(f"{b}{k}" for b in ("idx", "vert", "tri_v"))) for k in range(n_idx)]
    per_item = w.o["per_item_margin"] = w.coin(0.35)
    margin = w.arr("f", "radius", "thickness") if per_item else w.scalar("margin", "thickness", "pad", value="0.05")
    out = w.arr(bname, "bounds", "aabbs", "boxes")
    centers = w.arr("v3", "centers", "box_center") if w.coin(0.35) else ""
    query = w.par(bname, "query", "region", "probe") if w.coin(0.45) else ""
    w.o["query"] = bool(query)
    hit = w.arr("i", "overlaps", "hit", "in_region") if query else ""
    merge = w.func(("merge_bounds", "union", "aabb_union"), [f"a: {bname}", f"b: {bname}"], bname,
                   [f"c = {bname}()", f"c.{bf['lo']} = wp.min(a.{bf['lo']}, b.{bf['lo']})",
                    f"c.{bf['hi']} = wp.max(a.{bf['hi']}, b.{bf['hi']})", "return c"])
    expand = w.func(("expand", "inflate", "pad_bounds"), [f"b: {bname}", f"r: {w.T['f']}"], bname,
                    [f"e = {w.T['v3']}(r, r, r)", "c = b", f"c.{bf['lo']} = b.{bf['lo']} - e",
                     f"c.{bf['hi']} = b.{bf['hi']} + e", "return c"]) if w.coin(0.6) else ""
    i = w.tid()
    if per_item:
        margin = f"{margin}[{i}]"
    w.emit(f"b = {bname}()")
    if src == "points":
        w.emit(f"p = {x}[{i}]", f"b.{bf['lo']} = p", f"b.{bf['hi']} = p")
    else:
        w.emit(f"p0 = {x}[{idx[0]}[{i}]]", f"b.{bf['lo']} = p0", f"b.{bf['hi']} = p0")
        for a in idx[1:]:
            w.emit(f"pb = {bname}()", f"pb.{bf['lo']} = {x}[{a}[{i}]]", f"pb.{bf['hi']} = pb.{bf['lo']}",
                   f"b = {merge}(b, pb)")
    if expand:
        w.emit(f"b = {expand}(b, {margin})")
    else:
        w.emit(f"b.{bf['lo']} = b.{bf['lo']} - {w.T['v3']}({margin}, {margin}, {margin})",
               f"b.{bf['hi']} = b.{bf['hi']} + {w.T['v3']}({margin}, {margin}, {margin})")
    if src == "points" and w.coin(0.4):
        w.emit(f"b = {merge}(b, {out}[{i}])")  # refit: grow the stored box
        w.o["refit"] = True
    w.emit(f"{out}[{i}] = b")
    if centers:
        w.emit(f"{centers}[{i}] = (b.{bf['lo']} + b.{bf['hi']}) * {w.c('0.5')}")
    if query:
        w.emit(f"lo = wp.max(b.{bf['lo']}, {query}.{bf['lo']})", f"hi = wp.min(b.{bf['hi']}, {query}.{bf['hi']})",
               f"{hit}[{i}] = wp.where(lo[0] <= hi[0] and lo[1] <= hi[1] and lo[2] <= hi[2], 1, 0)")


def _state_arrays(w: _W) -> None:
    sname, sf = w.struct(("State", "ParticleState", "SimState"), [
        ("x", "wp.array(dtype=" + w.T["v3"] + ")", ("particle_q", "x", "pos")),
        ("v", "wp.array(dtype=" + w.T["v3"] + ")", ("particle_qd", "v", "vel"))])
    mname, mf = w.struct(("Model", "ModelParams", "SimModel"), [
        ("m", "wp.array(dtype=" + w.T["f"] + ")", ("particle_inv_mass", "inv_mass")),
        ("g", "v3", ("gravity", "g")), *([("kd", "f", ("damping", "drag"))] if w.coin(0.5) else [])])
    model = w.par(mname, "model", "mdl")
    state = w.par(sname, "state", "state_in", "s0")
    forces = w.arr("v3", "particle_f", "forces", "f_ext") if w.coin(0.5) else ""
    w.o.update(forces=bool(forces), damped="kd" in mf)
    dt = w.scalar("dt", "sim_dt", value="0.01")
    x_out = w.arr("v3", "x_out", "q_new", "pos_out")
    v_out = w.arr("v3", "v_out", "qd_new", "vel_out") if w.coin(0.7) else ""
    i = w.tid()
    w.emit(f"x0 = {state}.{sf['x']}[{i}]", f"v0 = {state}.{sf['v']}[{i}]", f"w = {model}.{mf['m']}[{i}]")
    acc = f"{model}.{mf['g']}" + (f" + {forces}[{i}] * w" if forces else "")
    w.emit(f"v1 = v0 + ({acc}) * {dt}")
    if "kd" in mf:
        w.emit(f"v1 = v1 * ({w.c('1.0')} - {model}.{mf['kd']} * {dt})")
    if w.coin(0.4):
        w.emit(f"if w == {w.c('0.0')}:", f"{IND}v1 = {w.T['v3']}()")
        w.o["static"] = True
    w.emit("x1 = x0 + v1 * " + dt, f"{x_out}[{i}] = x1")
    if v_out:
        w.emit(f"{v_out}[{i}] = v1")


def _rope(w: _W) -> None:
    """Ropes of ``K`` consecutive particle structs hanging from their first one: one thread per rope sums the
    weight below each particle from the free end up (``for k in reversed(range(K))``)."""
    packed = w.o["packed"] = w.coin(0.4)  # position and inverse mass in one vec4, as position-based solvers keep
    q4 = "wp.vec4" if w.f32 else "wp.vec4d"
    pname, pf = w.struct(("RopeParticle", "Node", "Bead"), [
        *([("q", q4, ("q", "x_w", "pos_w"))] if packed else [("x", "v3", ("x", "pos")), ("m", "f", ("mass", "m"))]),
        ("v", "v3", ("v", "vel"))])
    k_len = w.const(w.pick("4", "8", "8"), "SEGMENTS", "ROPE_LEN", "NODES")
    nodes = w.arr(pname, "nodes", "rope", "particles")
    g = w.const(w.vec3("0.0", "-9.81", "0.0"), "GRAVITY") if w.coin() else w.par("v3", "gravity", "g")
    tension = w.arr("f", "tension", "segment_force", "load")
    scratch = w.o["scratch"] = packed or w.coin(0.5)  # segment lengths kept in a wp.zeros local array
    mom = w.arr("v3", "momentum", "rope_p") if w.coin(0.4) else ""
    w.o["momentum"] = bool(mom)
    ke = w.scalar("ke", "stiffness", value="10.0") if scratch else ""
    rest = w.scalar("rest", "rest_length", value="0.1") if scratch else ""
    energy = w.arr("f", "energy", "stretch_energy") if scratch else ""
    debug = w.o["debug"] = w.coin(0.25)
    r = w.tid("r", "rope_id", "strand")
    zero = w.c("0.0")
    w.emit(f"start = {r} * {k_len}", f"if start + {k_len} > {nodes}.shape[0]:", f"{IND}return")
    if packed:
        sl = w.o["slice"] = w.pick("slice", "colon")
        xyz = "p.q[xyz]" if sl == "slice" else f"p.{pf['q']}[:3]"
        xyz = xyz.replace("p.q", f"p.{pf['q']}")
        mass = "m"
        if sl == "slice":
            w.emit("xyz = slice(0, 3, 1)")
    else:
        xyz, mass = f"p.{pf['x']}", f"p.{pf['m']}"
    if scratch:
        w.emit(f"seg = wp.zeros(shape={k_len}, dtype={w.T['f']})", f"prev = {nodes}[start]")
        prev_x = xyz.replace("p.", "prev.")
        w.emit(f"for k in range(1, {k_len}):")
        w.emit(f"p = {nodes}[start + k]", f"seg[k] = wp.length({xyz} - {prev_x})", "prev = p", level=2)
    fz = f"{w.T['f']}({zero})" if not w.f32 else "float(0.0)"
    w.emit(f"gmag = wp.length({g})", f"carried = {fz}", *([f"e = {fz}"] if scratch else []),
           *([f"pm = {w.T['v3']}()"] if mom else []))
    w.emit(f"for k in reversed(range({k_len})):")
    w.emit(f"p = {nodes}[start + k]", *([f"m = {w.c('1.0')} / wp.max(p.{pf['q']}[3], {w.c('1.0e-6')})"]
                                         if packed else []),
           f"carried += {mass} * gmag", f"{tension}[start + k] = carried", *([f"pm += p.{pf['v']} * {mass}"]
                                                                              if mom else []), level=2)
    if scratch:
        w.emit("if k > 0:", f"{IND}d = seg[k] - {rest}", f"{IND}e += {w.c('0.5')} * {ke} * d * d", level=2)
    if scratch:
        w.emit(f"{energy}[{r}] = e")
    if mom:
        w.emit(f"{mom}[{r}] = pm")
    if debug:
        w.emit(f"if {r} == 0:", f'{IND}wp.printf("rope 0: root tension %f\\n", carried)')


_BUILD: dict[str, Callable[[_W], None]] = {v: globals()[f"_{v}"] for v in VARIANTS}


def family(kb: KernelBuilder) -> Family:
    variant = kb.rng.choice(VARIANTS)
    w = _W(kb, kb.rng.choices(("float32", "float64"), weights=(3, 1))[0])
    if kb.rng.random() < 0.7:  # a name from the domain (else the generic vocabulary's)
        kb.kname = kb.names._fresh(kb.rng.choice(_KERNELS[variant]))
    _BUILD[variant](w)
    ctx = {"variant": variant, "body": w.body, "o": w.o, "struct_names": w.structs, "helpers": w.funcs}
    calls = re.findall(r"\bwp\.(\w+)\(", render("kernels/structs.j2", **kb.context(**ctx)))
    kb.gen.used += [n for n in calls if n not in ("constant", "tid", "float64", "array") and not n.startswith(
        ("vec", "mat", "quat"))]
    params = {k: v for k, v in w.o.items() if isinstance(v, (str, bool))}
    return variant, ctx, {"dtype": w.dtype, **params}
