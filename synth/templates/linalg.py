"""Linalg family: small dense linear algebra per element (mat22/mat33/mat44 and their float64 forms).

Variants: ``tet_fem`` (a tetrahedron's deformation gradient from its rest-pose inverse, Neo-Hookean, St.
Venant-Kirchhoff or corotated stress and nodal forces accumulated atomically), ``tri_cloth`` (a triangle's
3x2 deformation gradient, possibly a fixed-shape ``wp.matrix``, from int32 or int16 ``vec3s`` indices, Green
strain, membrane forces and optional pressure), ``strain`` (strain measures,
invariants, deviatoric/von Mises stress or a Jaumann stress-rate update of a given deformation or velocity
gradient), ``polar`` (polar decomposition and plasticity clamping via ``wp.svd3``/``wp.svd2``, or
``wp.qr3``), ``covariance`` (a neighbourhood covariance or inertia tensor and its ``wp.eig3``
eigen-decomposition, axes picked with ``wp.argmin``/``wp.argmax``), ``gaussian`` (a 3D Gaussian's covariance
from rotation and scale, its density or its 2D screen-space projection), ``solve`` (per-element ``Ax = b`` by
inverse, Cramer's rule, QR back-substitution, Jacobi or Gauss-Seidel sweeps over ``len(b)`` rows) and
``rotation`` (Rodrigues' formula with ``wp.skew``/``wp.outer``, homogeneous ``mat44``
transforms with normal matrices, orthonormal frames). Kernels are float32 or float64.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from warp_synth.synth.jinja_env import render
from warp_synth.synth.templates.base import Draws, Family
from warp_synth.synth.templates.kernel import IND, KernelBuilder
from warp_synth.synth.templates.types import I32

VARIANTS = ("tet_fem", "tri_cloth", "strain", "polar", "covariance", "gaussian", "solve", "rotation")
_TYPES = ("vec2", "vec3", "vec4", "mat22", "mat33", "mat44", "quat")


class _La(Draws):
    """One kernel's dtype spellings, parameters and body lines."""

    def __init__(self, kb: KernelBuilder, dtype: str) -> None:
        self.kb, self.r, self.f32, self.dt = kb, kb.rng, dtype == "float32", dtype
        suf = kb.rng.choice(("", "", "f")) if self.f32 else "d"
        self.v2, self.v3, self.v4, self.m22, self.m33, self.m44, self.q = (f"wp.{t}{suf}" for t in _TYPES)
        self.s = "float" if self.f32 and kb.rng.random() < 0.5 else f"wp.{dtype}"
        self.lines: list[str] = []

    def name(self, *choices: str) -> str:
        return self.kb.names._fresh(self.r.choice(choices))

    def arr(self, ty: str, *choices: str, ndim: int = 1) -> str:
        name = self.name(*choices)
        ann = f"wp.array(dtype={ty})" if ndim == 1 else self.pick(f"wp.array{ndim}d(dtype={ty})",
                                                                  f"wp.array(dtype={ty}, ndim={ndim})")
        self.kb.parts.kparams.append(f"{name}: {ann}")
        return name

    def par(self, ty: str, *choices: str) -> str:
        name = self.name(*choices)
        self.kb.parts.kparams.append(f"{name}: {ty}")
        return name

    def scalar(self, *choices: str) -> str:
        """A float kernel parameter or module constant (a stiffness, a timestep...)."""
        if self.coin(0.7):
            return self.par(self.s, *choices)
        name = self.kb.names._fresh(self.r.choice(choices).upper())
        value = self.c(self.pick("0.5", "0.1", "2.0", "1.0"))
        self.kb.parts.consts.append({"name": name, "value": f"wp.constant({value})"})
        return name

    def let(self, names: tuple[str, ...], expr: str) -> str:
        name = self.name(*names)
        self.lines.append(f"{name} = {expr}")
        return name

    def ns(self, **choices: tuple[str, ...]) -> dict[str, str]:
        return {k: self.name(*v) for k, v in choices.items()}

    def tid(self, ndim: int = 1) -> list[str]:
        idx = [self.name("tid", "i", "e", "k")] if ndim == 1 else [self.name("i", "x"), self.name("j", "y")]
        self.kb.idx, self.kb.tid_line = idx, f"{', '.join(idx)} = wp.tid()"
        if ndim == 1 and self.coin(0.3):  # a launch padded past the element count
            n = self.par("int", "count", "num", "n_elems") if self.coin(0.6) else self.kb.parts.kparams[0]
            self.lines += [f"if {idx[0]} >= {n.split(':')[0]}{'.shape[0]' * (':' in n)}:", f"{IND}return"]
        return idx

    def eye(self, n: int) -> str:
        dt = ("float", "wp.float32")[self.r.random() < 0.5] if self.f32 else "wp.float64"
        return f"wp.identity(n={n}, dtype={dt})"

    def mul(self, a: str, b: str) -> str:
        return f"wp.mul({a}, {b})" if self.coin(0.25) else f"{a} * {b}"

    def cols(self, m: str, n: int = 3) -> list[str]:
        """The columns of ``m`` as rows of its transpose, or as vectors of its elements."""
        if self.coin():
            t = self.let(("Ft", "mt", "T"), f"wp.transpose({m})")
            return [f"{t}[{k}]" for k in range(n)]
        vt = self.v3 if n == 3 else self.v2
        return [self.let((f"c{k}", f"col{k}"), f"{vt}({', '.join(f'{m}[{r}, {k}]' for r in range(n))})")
                for k in range(n)]

    def material(self) -> tuple[str, str]:
        src = self.pick("params", "params", "array", "struct")
        if src == "array":
            m = self.arr(self.s, "materials", "mat_params", ndim=2)
            return f"{m}[{self.kb.idx[0]}, 0]", f"{m}[{self.kb.idx[0]}, 1]"
        if src == "struct":
            sname = self.kb.names._fresh(self.pick("Material", "ElasticParams", "Lame"))
            self.kb.parts.structs.append({"name": sname, "fields": [{"name": "mu", "type": self.s},
                                                                    {"name": "lam", "type": self.s}]})
            p = self.par(sname, "material", "params", "mat")
            return f"{p}.mu", f"{p}.lam"
        return self.scalar("k_mu", "mu"), self.scalar("k_lambda", "lam")


def _stress(la: _La, f: str, mu: str, lam: str, n: int, model: str) -> tuple[str, str]:
    """First Piola-Kirchhoff stress and energy density of deformation gradient ``f`` (n x n)."""
    one, half = la.c("1.0"), la.c("0.5")
    if model == "neo":
        ic = la.let(("Ic", "I1"), f"wp.ddot({f}, {f})" if la.coin() else f"wp.trace(wp.transpose({f}) * {f})")
        j = la.let(("J", "det_F"), f"wp.determinant({f})")
        alpha = la.let(("alpha", "a"), f"{one} + {mu} / {lam}")
        c1, c2, c3 = la.cols(f, 3)
        djdf = la.let(("dJdF", "cof"), f"wp.matrix_from_cols(wp.cross({c2}, {c3}), wp.cross({c3}, {c1}), "
                      f"wp.cross({c1}, {c2}))")
        p = f"{f} * {mu} * ({one} - {one} / ({ic} + {one})) + {djdf} * {lam} * ({j} - {alpha})"
        psi = (f"{half} * {mu} * ({ic} - {la.c(str(float(n)))}) + "
               f"{half} * {lam} * ({j} - {alpha}) * ({j} - {alpha})")
    elif model == "stvk":
        e = la.let(("E", "strain"), f"{half} * ({la.mul(f'wp.transpose({f})', f)} - {la.eye(n)})")
        tr = la.let(("tr_E", "trE"), f"wp.trace({e})")
        s = la.let(("S", "pk2"), f"{la.c('2.0')} * {mu} * {e} + {lam} * {tr} * {la.eye(n)}")
        p = la.mul(f, s)
        psi = f"{mu} * wp.ddot({e}, {e}) + {half} * {lam} * {tr} * {tr}"
    else:
        u, sig, v = la.name("U"), la.name("sigma", "s"), la.name("V")
        la.lines.append(f"{u}, {sig}, {v} = wp.svd3({f})")
        r = la.let(("R", "rot"), f"{u} * wp.transpose({v})")
        d = la.let(("dF", "F_minus_R"), f"{f} - {r}")
        tr = la.let(("tr", "vol_strain"), f"wp.trace(wp.transpose({r}) * {f}) - {la.c('3.0')}")
        p = f"{la.c('2.0')} * {mu} * {d} + {lam} * {tr} * {r}"
        psi = f"{mu} * wp.ddot({d}, {d}) + {half} * {lam} * {tr} * {tr}"
    return la.let(("P", "stress"), p), psi


def _tet_fem(la: _La) -> dict[str, Any]:
    form = la.pick("vec4i", "array2d", "vec4i")
    x = la.arr(la.v3, "x", "particle_q", "positions")
    tets = la.arr("wp.vec4i", "tet_indices", "tets") if form == "vec4i" else la.arr("int", "indices", ndim=2)
    pose = la.arr(la.m33, "tet_poses", "Dm_inv", "rest_inv")
    energy = la.arr(la.s, "tet_energy", "energy") if la.coin(0.6) else None
    f = la.arr(la.v3, "f", "particle_f", "forces")
    (t,) = la.tid()
    mu, lam = la.material()
    ids = [la.let((nm,), f"{tets}[{t}][{k}]" if form == "vec4i" else f"{tets}[{t}, {k}]")
           for k, nm in enumerate("ijkl")]
    x0 = la.let(("x0", "p0"), f"{x}[{ids[0]}]")
    e = [la.let((f"x{k}0", f"e{k}"), f"{x}[{ids[k]}] - {x0}") for k in (1, 2, 3)]
    if la.coin(0.6):
        ds = f"wp.matrix_from_cols({e[0]}, {e[1]}, {e[2]})"
    else:
        ds = f"{la.m33}({', '.join(f'{v}[{r}]' for r in range(3) for v in e)})"
    ds = la.let(("Ds", "D"), ds)
    dm = la.let(("Dm", "inv_rest"), f"{pose}[{t}]")
    vol = la.let(("rest_volume", "vol"), f"{la.c('1.0')} / (wp.determinant({dm}) * {la.c('6.0')})")
    fm = la.let(("F", "Fe"), la.mul(ds, dm))
    model = la.pick("neo", "stvk", "corot")
    p, psi = _stress(la, fm, mu, lam, 3, model)
    h = la.let(("H", "forces_m"), f"-{vol} * {p} * wp.transpose({dm})")
    fs = [la.let((f"f{k}",), c) for k, c in zip((1, 2, 3), la.cols(h, 3), strict=True)]
    la.lines.append(f"f0 = -({fs[0]} + {fs[1]} + {fs[2]})")
    op = la.pick("atomic_add", "inplace", "atomic_sub")
    for v, fk in zip(ids, ["f0", *fs], strict=True):
        la.lines.append({"atomic_add": f"wp.atomic_add({f}, {v}, {fk})", "inplace": f"{f}[{v}] += {fk}",
                         "atomic_sub": f"wp.atomic_sub({f}, {v}, -{fk})"}[op])
    if energy:
        la.lines.append(f"{energy}[{t}] = {vol} * ({psi})")
    return {"model": model, "form": form}


def _tri_cloth(la: _La) -> dict[str, Any]:
    x = la.arr(la.v3, "x", "particle_q", "verts")
    form = la.pick("wp.vec3i", "wp.vec3i", "wp.vec3s", "array2d")  # vec3s: a compact int16 index buffer
    tris = la.arr("int", "indices", ndim=2) if form == "array2d" else la.arr(form, "tri_indices", "tris")
    pose = la.arr(la.m22, "tri_poses", "Dm_inv")
    pressure = la.scalar("pressure", "k_pressure") if la.coin(0.35) else None
    strain = la.arr(la.m22, "tri_strain", "green_strain") if la.coin(0.4) else None
    stretch = la.arr(la.v2, "stretches", "principal") if la.coin(0.3) else None
    f = la.arr(la.v3, "f", "particle_f", "forces")
    (t,) = la.tid()
    mu, lam = la.material()
    sub = {"wp.vec3i": "[{t}][{k}]", "wp.vec3s": "[{t}][{k}]"}.get(form, "[{t}, {k}]")
    ids = [la.let((nm,), ("int({})" if form == "wp.vec3s" else "{}").format(tris + sub.format(t=t, k=k)))
           for k, nm in enumerate("ijk")]
    x0 = la.let(("x0", "p0"), f"{x}[{ids[0]}]")
    x10, x20 = (la.let((f"x{k}0", f"e{k}"), f"{x}[{ids[k]}] - {x0}") for k in (1, 2))
    dm = la.let(("Dm", "inv_rest"), f"{pose}[{t}]")
    area = la.let(("rest_area", "area"), f"{la.c('1.0')} / (wp.determinant({dm}) * {la.c('2.0')})")
    ds = f"wp.matrix_from_cols({x10}, {x20})"
    if la.coin(0.35):  # the 3x2 edge matrix spelled element by element, row-major
        elems = ", ".join(f"{e}[{r}]" for r in range(3) for e in (x10, x20))
        ds = la.let(("Ds", "D_s"), f"wp.matrix({elems}, shape=(3, 2), dtype={la.s})")
    fm = la.let(("F", "Fs"), la.mul(ds, dm))
    c = la.let(("C", "cauchy_green"), la.mul(f"wp.transpose({fm})", fm))
    e = la.let(("E", "strain"), f"{la.c('0.5')} * ({c} - {la.eye(2)})")
    s = la.let(("S", "pk2"), f"{la.c('2.0')} * {mu} * {e} + {lam} * wp.trace({e}) * {la.eye(2)}")
    h = la.let(("H", "dE"), f"-{area} * {fm} * {s} * wp.transpose({dm})")
    ht = la.let(("Ht", "cols"), f"wp.transpose({h})")
    f1, f2 = la.let(("f1",), f"{ht}[0]"), la.let(("f2",), f"{ht}[1]")
    f0 = la.let(("f0",), f"-({f1} + {f2})")
    if pressure:
        an = la.let(("n_area", "an"), f"wp.cross({x10}, {x20}) * ({pressure} / {la.c('6.0')})")
        f0, f1, f2 = (f"{v} + {an}" for v in (f0, f1, f2))
    for v, fk in zip(ids, (f0, f1, f2), strict=True):
        la.lines.append(f"wp.atomic_add({f}, {v}, {fk})" if la.coin(0.7) else f"{f}[{v}] += {fk}")
    if strain:
        la.lines.append(f"{strain}[{t}] = {e}")
    if stretch:  # eigenvalues of the 2x2 C in closed form (an SVD's adjoint fails on degenerate triangles)
        mid, eps = la.let(("mid", "half_tr"), f"{la.c('0.5')} * wp.trace({c})"), la.c("1e-6")
        disc = la.let(("disc", "rad"), f"wp.sqrt(wp.max({mid} * {mid} - wp.determinant({c}), {eps}))")
        la.lines.append(f"{stretch}[{t}] = {la.v2}(wp.sqrt({mid} + {disc}), "
                        f"wp.sqrt(wp.max({mid} - {disc}, {eps})))")
    return {"pressure": bool(pressure), "stretch": bool(stretch), "form": form.removeprefix("wp.")}


def _strain(la: _La) -> dict[str, Any]:
    n, ndim = la.pick(3, 3, 2), la.pick(1, 1, 2)
    m = la.m33 if n == 3 else la.m22
    mode = la.pick("green", "neo_cauchy", "invariants", "rate")
    g = (la.arr(m, "F", "def_grad", "particle_F", ndim=ndim) if mode != "rate"
         else la.arr(m, "vel_grad", "L", ndim=ndim))
    sig_in = la.arr(m, "stress", "sigma", ndim=ndim) if mode == "rate" else None
    out = la.arr(m, "stress_out", "sigma_out", "cauchy", ndim=ndim)
    sc = la.arr(la.s, "von_mises", "energy", "measure", ndim=ndim) if la.coin(0.7) else None
    idx = ", ".join(la.tid(ndim))
    mu, lam = la.material() if ndim == 1 else (la.scalar("mu", "k_mu"), la.scalar("lam", "k_lambda"))
    eye, half = la.eye(n), la.c("0.5")
    fm = la.let(("F", "Fp", "L"), f"{g}[{idx}]")
    if mode == "rate":
        dt = la.scalar("dt", "h")
        d = la.let(("D", "strain_rate"), f"{half} * ({fm} + wp.transpose({fm}))")
        w = la.let(("W", "spin"), f"{half} * ({fm} - wp.transpose({fm}))")
        s0 = la.let(("s0", "sig"), f"{sig_in}[{idx}]")
        rate = f"{la.mul(w, s0)} - {s0} * {w} + {la.c('2.0')} * {mu} * {d} + {lam} * wp.trace({d}) * {eye}"
        sig = la.let(("sigma_new", "s1"), f"{s0} + {dt} * ({rate})")
        e = d
    elif mode == "neo_cauchy":
        j = la.let(("J", "det_F"), f"wp.determinant({fm})")
        b = la.let(("B", "left_cg"), la.mul(fm, f"wp.transpose({fm})"))
        sig = la.let(("sigma", "cauchy"),
                     f"({mu} / {j}) * ({b} - {eye}) + ({lam} * wp.log({j}) / {j}) * {eye}")
        e = la.let(("e", "almansi"), f"{half} * ({eye} - wp.inverse({b}))")
    else:
        c = la.let(("C", "right_cg"), la.mul(f"wp.transpose({fm})", fm))
        e = la.let(("E", "strain"), f"{half} * ({c} - {eye})" if la.coin(0.7) else
                   f"{half} * ({fm} + wp.transpose({fm})) - {eye}")
        tr = la.let(("tr_E", "ev"), f"wp.trace({e})")
        dev = la.let(("dev", "E_dev"), f"{e} - ({tr} / {la.c(str(float(n)))}) * {eye}")
        sig = la.let(("sigma", "s"), f"{la.c('2.0')} * {mu} * {dev} + ({lam} + {mu}) * {tr} * {eye}")
        if mode == "invariants":
            i1 = la.let(("I1", "inv1"), f"wp.trace({c})")
            i2 = la.let(("I2", "inv2"), f"{half} * ({i1} * {i1} - wp.ddot({c}, {c}))")
            sig = la.let(("sigma_inv", "s_inv"),
                         f"{sig} + ({i2} - {la.c('2.0')} * {i1}) * wp.diag(wp.get_diag({e}))")
    la.lines.append(f"{out}[{idx}] = {sig}")
    if sc:
        dv = la.let(("s_dev", "dev_s"), f"{sig} - (wp.trace({sig}) / {la.c(str(float(n)))}) * {eye}")
        la.lines.append(f"{sc}[{idx}] = " + la.pick(f"wp.sqrt({la.c('1.5')} * wp.ddot({dv}, {dv}))",
                                                    f"{half} * wp.ddot({sig}, {e})"))
    return {"mode": mode, "n": n, "ndim": ndim}


def _polar(la: _La) -> dict[str, Any]:
    mode = la.pick("rotation", "plastic", "stretch2d", "qr", "rotation", "plastic")
    m = la.m22 if mode == "stretch2d" else la.m33
    fin = la.arr(m, "F", "def_grad", "particle_F")
    cin = la.arr(m, "C", "vel_grad", "particle_C") if mode == "plastic" else None
    jp = la.arr(la.s, "Jp", "plastic_J") if mode == "plastic" else None
    out_r = la.arr(m, "R", "rotations", "F_elastic" if mode == "plastic" else "rot_out")
    out_s = la.arr(m if mode != "stretch2d" else la.s, "S", "stretch", "angle") if la.coin(0.6) else None
    (i,) = la.tid()
    fm = la.let(("F", "Fi"), f"{fin}[{i}]")
    if la.coin(0.4):
        fm = la.let(("F_reg", "Fr"), f"{fm} + {la.c('1e-5')} * {la.eye(2 if m == la.m22 else 3)}")
    if mode == "qr":
        q, r = la.name("Q"), la.name("R_tri", "Rr")
        la.lines.append(f"{q}, {r} = wp.qr3({fm})")
        if la.coin():
            z, m1, p1 = la.c("0.0"), la.c("-1.0"), la.c("1.0")
            sk = la.pick("wp.sign({}[{}, {}])", f"wp.where({{}}[{{}}, {{}}] < {z}, {m1}, {p1})")
            sg = la.let(("sgn", "flip"), f"{la.v3}({', '.join(sk.format(r, k, k) for k in range(3))})")
            la.lines += [f"{q} = {q} * wp.diag({sg})", f"{r} = wp.diag({sg}) * {r}"]
        la.lines.append(f"{out_r}[{i}] = {q}")
        if out_s:
            shear = f"wp.transpose({q}) * {fm} - wp.diag(wp.get_diag({r}))"
            sym = f"{la.c('0.5')} * ({r} + wp.transpose({r}))"
            la.lines.append(f"{out_s}[{i}] = " + la.pick(shear, r, sym))
        return {"mode": mode}
    if cin:
        dt = la.scalar("dt", "h")
        fm = la.let(("F_new", "F_trial"), f"({la.eye(3)} + {dt} * {cin}[{i}]) * {fm}")
    u, sig, v = la.name("U"), la.name("sigma", "sig"), la.name("V")
    fn, vt = ("svd2", la.v2) if mode == "stretch2d" else ("svd3", la.v3)
    if la.coin(0.3):
        la.lines += [f"{u} = {m}()", f"{sig} = {vt}()", f"{v} = {m}()", f"wp.{fn}({fm}, {u}, {sig}, {v})"]
    else:
        la.lines.append(f"{u}, {sig}, {v} = wp.{fn}({fm})")
    if mode == "plastic":
        lo, hi = la.c(la.pick("0.975", "0.9")), la.c(la.pick("1.0075", "1.5", "1.2"))
        if la.coin(0.4):
            s, k = la.let(("sig_c", "s_clamped"), f"{la.v3}()"), la.name("k", "c")
            la.lines += [f"for {k} in range(len({sig})):", f"{IND}{s}[{k}] = wp.clamp({sig}[{k}], {lo}, {hi})"]
        else:
            s = la.let(("sig_c", "s_clamped"), f"{la.v3}(" + ", ".join(f"wp.clamp({sig}[{k}], {lo}, {hi})"
                                                                          for k in range(3)) + ")")
        la.lines.append(f"{jp}[{i}] = {jp}[{i}] * ({sig}[0] * {sig}[1] * {sig}[2]) / "
                        f"({s}[0] * {s}[1] * {s}[2])")
        la.lines.append(f"{out_r}[{i}] = {u} * wp.diag({s}) * wp.transpose({v})")
        if out_s:
            la.lines.append(f"{out_s}[{i}] = {u} * wp.transpose({v})")
        return {"mode": mode}
    if la.coin(0.45):
        d = ", ".join([la.c("1.0")] * (1 if fn == "svd2" else 2) + [la.c("-1.0")])
        la.lines += [f"if wp.determinant({u}) * wp.determinant({v}) < {la.c('0.0')}:",
                     f"{IND}{(w := la.pick(u, v))} = {w} * wp.diag({vt}({d}))"]
    r = la.let(("R", "rot"), la.mul(u, f"wp.transpose({v})"))
    la.lines.append(f"{out_r}[{i}] = {r}")
    if out_s and mode == "stretch2d":
        la.lines.append(f"{out_s}[{i}] = wp.atan2({r}[1, 0], {r}[0, 0]) + {sig}[0] - {sig}[1]")
    elif out_s:
        la.lines.append(f"{out_s}[{i}] = " + la.pick(f"{v} * wp.diag({sig}) * wp.transpose({v})",
                                                     f"wp.transpose({r}) * {fm}"))
    return {"mode": mode}


def _covariance(la: _La) -> dict[str, Any]:
    mode = la.pick("window", "indexed", "inertia")
    pts = la.arr(la.v3, "points", "particle_q", "x")
    nbr = la.arr("int", "neighbors", "nbr_idx", ndim=2) if mode == "indexed" else None
    mass = la.arr(la.s, "mass", "weights") if mode == "inertia" or la.coin(0.3) else None
    out = la.pick("eig", "eig_normal", "cov", "aniso", "major", "eig_normal")
    names = {"eig": ("eigvals", "principal"), "eig_normal": ("normals", "n_out"), "major": ("major_axis", "axes"),
             "cov": ("cov_out", "inv_inertia" if mode == "inertia" else "cov")}.get(out, ("G", "aniso"))
    res = la.arr(la.v3 if out.startswith("eig") or out == "major" else la.m33, *names)
    (i,) = la.tid()
    k = str(la.pick(4, 6, 8))
    if la.coin(0.6):
        k = la.kb.names._fresh(la.pick("NUM_NEIGHBORS", "K", "WINDOW"))
        la.kb.parts.consts.append({"name": k, "value": f"wp.constant({la.pick(4, 6, 8)})"})
    n = la.let(("n", "count"), f"{pts}.shape[0]") if mode != "indexed" else ""
    j = (lambda v: f"{nbr}[{i}, {v}]") if nbr else (lambda v: f"({i} + {v}) % {n}")
    wsum, mean = la.let(("w_sum", "total"), la.c("0.0")), la.let(("mean", "c", "com"), f"{la.v3}()")
    lv = la.name("k", "s")
    w = f"{mass}[{j(lv)}]" if mass else la.c("1.0")
    la.lines += [f"for {lv} in range({k}):", f"{IND}{mean} += {pts}[{j(lv)}] * {w}" if mass else
                 f"{IND}{mean} += {pts}[{j(lv)}]", f"{IND}{wsum} += {w}", f"{mean} = {mean} / {wsum}"]
    cov = la.let(("cov", "A", "I_c"), f"{la.m33}()")
    w = f" * {mass}[{j(lv)}]" if mass else ""
    la.lines += [f"for {lv} in range({k}):", f"{IND}d = {pts}[{j(lv)}] - {mean}"]
    if mode == "inertia":
        la.lines.append(f"{IND}{cov} += (wp.dot(d, d) * {la.eye(3)} - wp.outer(d, d)){w}")
    else:
        la.lines += [f"{IND}{cov} += wp.outer(d, d){w}", f"{cov} = {cov} / {wsum}"]
    eps = la.c(la.pick("1e-2", "0.05", "0.01"))
    if la.coin(0.35):
        la.lines.append(f"{cov} = {cov} / wp.max(wp.trace({cov}), {la.c('1e-8')})")
    cov = la.let(("A_reg", "cov_r"), f"{cov} + {eps} * {la.eye(3)}")
    if out == "cov":
        la.lines.append(f"{res}[{i}] = wp.inverse({cov})" if mode == "inertia" else f"{res}[{i}] = {cov}")
        return {"mode": mode, "out": out}
    q, d = la.name("Q", "evecs"), la.name("d", "evals", "lam")
    la.lines.append(f"{q}, {d} = wp.eig3({cov})")
    if out == "eig":
        la.lines.append(f"{res}[{i}] = {d}")
    elif out == "aniso":
        g = la.let(("ks", "scale"), f"{la.v3}(" + ", ".join(
            f"{la.c('1.0')} / wp.sqrt(wp.abs({d}[{c}]) + {eps})"
                                                         for c in range(3)) + ")")
        la.lines.append(f"{res}[{i}] = {q} * wp.diag({g}) * wp.transpose({q})")
    elif out == "major":  # the dominant principal axis, scaled by its standard deviation
        a = la.name("axis", "imax")
        la.lines += [f"{a} = wp.argmax({d})", f"{res}[{i}] = wp.transpose({q})[{a}] * wp.sqrt({d}[{a}])"]
    else:
        a = la.name("axis", "imin")
        if la.coin(0.7):
            la.lines.append(f"{a} = wp.argmin({d})")
        else:
            la.lines += [f"{a} = int(0)", f"if {d}[1] < {d}[{a}]:", f"{IND}{a} = 1", f"if {d}[2] < {d}[{a}]:",
                         f"{IND}{a} = 2"]
        la.lines += [f"nrm = wp.transpose({q})[{a}]", f"{res}[{i}] = wp.where(nrm[2] < {la.c('0.0')}, -nrm, nrm)"]
    return {"mode": mode, "out": out}


def _gaussian(la: _La) -> dict[str, Any]:
    mode = la.pick("density", "project", "cov")
    n = {"means": la.arr(la.v3, "means", "mu"), "rots": la.arr(la.q, "rotations", "quats"),
         "scales": la.arr(la.v3, "scales")}
    if mode == "density":
        n["query"] = la.arr(la.v3, "query_pts", "samples")
    opac = mode != "cov" and la.coin()
    if opac:
        n["opac"] = la.arr(la.s, "opacity", "alpha")
    if mode == "project":
        n.update(out=la.arr(la.v3, "conics", "conic"), out2=la.arr(la.s, "radii", "radius"),
                 fx=la.scalar("focal", "fx"))
    else:
        n["out"] = la.arr(la.s, "density", "weight") if mode == "density" else la.arr(la.m33, "cov3d", "covs")
    (n["i"],) = la.tid()
    n.update(la.ns(R=("R", "rot"), M=("M", "RS"), cov=("cov", "Sigma"), s=("s", "sc"), p=("p", "t"),
                   d=("d", "dx"), power=("power", "m2"), tz=("tz", "depth"), J=("J", "jac"),
                   c2=("cov2d", "C"), det=("det", "D"), inv=("conic", "inv_cov"), mid=("mid", "half_tr"),
                   val=("val", "v")))
    return {"mode": mode, "rs": la.coin(), "adj": la.coin(), "opac": opac, "n": n, "mulp": la.coin(0.25),
            "jmat": la.coin(0.4), "dapprox": la.coin(0.4)}


def _solve(la: _La) -> dict[str, Any]:
    method = la.pick("inverse", "cramer", "qr", "jacobi", "refine", "gauss_seidel")
    dim = la.pick(2, 3, 4) if method in ("inverse", "jacobi", "refine", "gauss_seidel") else 3
    m, v = {2: (la.m22, la.v2), 3: (la.m33, la.v3), 4: (la.m44, la.v4)}[dim]
    n = {"A": la.arr(m, "A", "blocks", "K"), "b": la.arr(v, "b", "rhs", "forces"),
         "x": la.arr(v, "x", "solution", "dx")}
    n.update({"e": la.arr(la.s, "energy", "residual_norm")} if la.coin(0.4) else {})
    (n["i"],) = la.tid()
    n.update(la.ns(a=("Ai", "A_e"), rhs=("bi", "rhs_i"), inv=("A_inv", "Ainv"), sol=("sol", "x_e"),
                   r=("r", "res"), det=("det", "D"), Q=("Q",), R=("R",), y=("y", "qtb"), dg=("d", "diag_A"),
                   off=("L_U", "off"), it=("it", "sweep"), row=("row", "ri"), acc=("basis", "E")))
    n["c"] = [la.name(f"c{k}", f"col{k}") for k in range(3)]
    iters = la.kb.const(I32, str(la.pick(3, 4, 8))) if la.coin() else str(la.pick(2, 3, 5))
    return {"method": method, "dim": dim, "vt": v, "n": n, "iters": iters,
            "approx": la.coin(0.5 if dim == 4 else 0.25), "mulp": la.coin(0.3), "tcols": la.coin(),
            "dapprox": la.coin(0.5)}


def _rotation(la: _La) -> dict[str, Any]:
    mode = la.pick("rodrigues", "homogeneous", "frame")
    n: dict[str, Any] = {}
    mats = False
    if mode == "rodrigues":
        n.update(omega=la.arr(la.v3, "omega", "ang_vel"), rin=la.arr(la.m33, "R", "rotations", "orient"))
        if la.coin(0.4):
            n.update(vecs=la.arr(la.v3, "local_v", "dirs"), vout=la.arr(la.v3, "world_v", "out_dirs"))
        n.update(out=la.arr(la.m33, "R_new", "rot_out"), dt=la.scalar("dt", "h"))
    elif mode == "homogeneous":
        mats = la.coin()
        n["M"] = la.arr(la.m44, "xforms", "M") if mats else la.par(la.m44, "view", "model_matrix")
        n.update(pts=la.arr(la.v3, "points", "verts"), out=la.arr(la.v3, "out_points", "clip_pts"))
        if la.coin(0.6):
            n.update(nrm=la.arr(la.v3, "normals", "nrm"), nout=la.arr(la.v3, "out_normals", "n_out"))
    else:
        n.update(ta=la.arr(la.v3, "tangent", "dir_a"), tb=la.arr(la.v3, "up", "dir_b"),
                 vecs=la.arr(la.v3, "v", "vectors"), out=la.arr(la.v3, "local", "v_local"))
        if la.coin():
            n["fr"] = la.arr(la.m33, "frames", "basis")
    (n["i"],) = la.tid()
    n.update(la.ns(w=("w", "phi"), th=("theta", "angle"), ax=("axis", "k"), K=("K", "S"), dR=("dR", "R_inc"),
                   R1=("R1", "R_next"), Mi=("Mi", "T"), p=("p", "x0"), h=("ph", "p4"), M3=("M3", "linear"),
                   N=("N", "normal_mat"), t=("t", "e0"), b=("b", "e2"), nn=("n", "e1"), R=("R", "frame")))
    return {"mode": mode, "n": n, "mats": mode == "homogeneous" and mats, "outer": la.coin(),
            "by_cols": la.coin(), "mulp": la.coin(0.3), "dapprox": la.coin(0.5)}


_KERNELS = {
    "tet_fem": ("eval_tetrahedra", "tet_forces", "fem_tet_kernel", "eval_soft_body"),
    "tri_cloth": ("eval_triangles", "cloth_membrane", "tri_fem_forces", "eval_cloth_stretch"),
    "strain": ("compute_strain", "eval_stress", "strain_measures", "update_stress"),
    "polar": ("polar_decompose", "project_plasticity", "extract_rotation", "svd_rotation"),
    "covariance": ("compute_covariance", "estimate_normals", "principal_axes", "anisotropy_kernel"),
    "gaussian": ("eval_gaussians", "project_gaussians", "gaussian_density", "compute_cov3d"),
    "solve": ("solve_blocks", "block_solve", "local_solve", "solve_3x3"),
    "rotation": ("integrate_rotation", "transform_points", "build_frames", "apply_rotation"),
}

_BUILD: dict[str, Callable[[_La], dict[str, Any]]] = {
    "tet_fem": _tet_fem, "tri_cloth": _tri_cloth, "strain": _strain, "polar": _polar,
    "covariance": _covariance, "gaussian": _gaussian, "solve": _solve, "rotation": _rotation,
}


def family(kb: KernelBuilder) -> Family:
    variant = kb.rng.choice(VARIANTS)
    la = _La(kb, kb.rng.choices(("float32", "float64"), weights=(3, 1))[0])
    if kb.rng.random() < 0.7:
        kb.kname = kb.names._fresh(kb.rng.choice(_KERNELS[variant]))
    res = _BUILD[variant](la)
    ctx = {"variant": variant, "lines": la.lines, "c": la.c, "T": la, "eye2": la.eye(2), "eye3": la.eye(3),
           "u": [kb.rng.random() for _ in range(16)],
           **(res if "n" in res else {})}
    # templated variants' text exists once rendered: the builtins they use are read from it
    text = render("kernels/linalg.j2", **kb.context(**ctx))
    body = text.split("wp.tid()", 1)[1]
    kb.gen.used += [n for n in re.findall(r"\bwp\.(\w+)\(", body) if n.rstrip("fd") not in _TYPES]
    params = {k: v for k, v in res.items() if k in ("mode", "method", "dim", "model", "form", "out", "n")
              and not isinstance(v, dict)}
    return variant, ctx, {"dtype": la.dt, **params}
