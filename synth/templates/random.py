"""Random family: kernels that draw random numbers, geometric samples and noise per thread.

Variants: ``jitter`` (points displaced by a sample), ``init`` (particles spawned in a box, ball, shell, disk
or ring), ``monte_carlo`` (a sample loop whose estimate is stored and ``wp.atomic_add``-ed into a total),
``curl_advect`` (``wp.curlnoise`` advection), ``noise_field`` (``wp.noise``/``pnoise`` fractal sums over a
grid), ``dropout`` (a random keep mask), ``discrete`` (``wp.randi``/``randu``/``poisson``/``sample_cdf``),
``brownian`` (Euler-Maruyama steps), ``surface_sample`` (triangles, lens rays, hemisphere bounces),
``tile_rand`` (``wp.tile_randf``/``tile_randi``) and ``inverse_cdf`` (inverse-transform sampling: Gaussians
through ``wp.erfinv``/``erfcinv``, discrete draws by ``wp.lower_bound`` over a cumulative table, an input
array or a ``wp.zeros`` local one).  RNG states come from a seed input (``int`` parameter or
array, or a persistent ``uint32`` state array) and the thread index.  Structure: ``kernels/random.j2``.
"""

from __future__ import annotations

import re
from typing import Any

from warp_synth.synth.jinja_env import render
from warp_synth.synth.templates.base import Family, tile_setup
from warp_synth.synth.templates.kernel import KernelBuilder
from warp_synth.synth.templates.types import I32, Ty, scalar, vec

F32, U32, SHAPES = scalar("float32"), scalar("uint32"), ("box", "box", "ball", "shell", "disk", "ring")
SAMPLERS = {2: ("sample_unit_square", "sample_unit_disk", "sample_unit_ring"), 3: (
    "sample_unit_cube", "sample_unit_sphere", "sample_unit_sphere_surface", "sample_unit_hemisphere",
    "sample_unit_hemisphere_surface")}
FLOATS = (("float32", "float64", "float16"), (7, 2, 1))  # (dtypes, weights) of jittered and dropped values
_CALL = re.compile(r"\bwp\.(?!(?:vec|mat|quat|transform|float|int|uint|bool)[0-9a-z]*\(|tid\()([a-z_0-9]+)\(")


def _nm(kb: KernelBuilder, *opts: str) -> str:
    return kb.names._fresh(kb.rng.choice(opts))


def _names(kb: KernelBuilder, spec: str) -> dict[str, str]:
    """Fresh names from a spec: ``"p=p,x0 st=rng"`` -> ``{"p": "p" or "x0", "st": "rng"}``."""
    return {k: _nm(kb, *v.split(",")) for k, v in (item.split("=") for item in spec.split())}


def _to(ty: Ty, e: str) -> str:
    return e if ty.dtype == "float32" else f"{ty.name}({e})"


def _fparam(kb: KernelBuilder, *opts: str) -> str:
    return kb.scalar_param(F32, _nm(kb, *opts))


def _arr(kb: KernelBuilder, ty: Ty, ndim: int, *opts: str) -> str:
    return kb.array(ty, ndim, _nm(kb, *opts))


def _seed_param(kb: KernelBuilder) -> str:
    seed = kb.scalar_param(I32, _nm(kb, "seed", "rng_seed", "base_seed"))
    if kb.rng.random() < 0.7:  # seeds usually lead the signature
        kb.parts.kparams.insert(0, kb.parts.kparams.pop())
    return seed


def _rng(kb: KernelBuilder, c: dict[str, Any], ref: str, *, persist: float = 0.15) -> str:
    """An RNG state from a seed input and the thread index (its lines go to ``pre``); its name."""
    st, idx, r = _nm(kb, "rng", "state", "rs", "gen"), kb.idx, kb.rng.random()
    if len(idx) == 1 and r < persist:  # a per-thread state that persists between launches
        arr = kb.at(_arr(kb, U32, 1, "rng_states", "states", "rng_state"))
        c["pre"], c["tail"] = [*c["pre"], f"{st} = {arr}"], [f"{arr} = {st}"]
        return st
    flat, count = idx[0], f"{ref}.shape[0]"
    for d in range(1, len(idx)):
        n = _nm(kb, "nx", "ny", "width", "cols") if d == 1 else _nm(kb, "nz", "depth", "layers")
        c["pre"].append(f"{n} = {ref}.shape[{d}]")
        flat, count = f"{'(' + flat + ')' if d > 1 else flat} * {n} + {idx[d]}", f"{count} * {n}"
    r = kb.rng.random()
    if r < 0.45:
        init = f"wp.rand_init({_seed_param(kb)}, {flat})"
    elif r < 0.6:
        init = f"wp.rand_init({_seed_param(kb)} * {kb.rng.choice(('7919', '65537', '1000003'))} + {flat})"
    elif r < 0.75:  # a launch-specific offset: every frame draws a fresh sequence
        seed, frame = _seed_param(kb), kb.scalar_param(I32, _nm(kb, "frame", "step", "iteration", "epoch"))
        init = f"wp.rand_init({seed}, {flat} + {frame} * {count})"
    else:
        seeds = kb.at(_arr(kb, I32, len(idx), "seeds", "seed_ids", "sample_seeds"))
        init = f"wp.rand_init({seeds}, {flat})" if kb.rng.random() < 0.65 else f"wp.rand_init({seeds})"
    c["pre"].append(f"{st} = {init}")
    return st


def _offset(kb: KernelBuilder, st: str, n: int) -> str:
    """A random float32 vector of length ``n``: a geometric sample, Gaussian or uniform components."""
    r = kb.rng.random()
    if n in SAMPLERS and r < 0.55:
        return f"wp.{kb.rng.choice(SAMPLERS[n])}({st})"
    a = kb.rng.choice(("0.5", "1.0"))
    draw = f"wp.randn({st})" if r < 0.8 else f"wp.randf({st}, -{a}, {a})"
    return f"wp.vec{n}({', '.join([draw] * n)})"


def _jitter(kb: KernelBuilder, c: dict[str, Any]) -> dict[str, Any]:
    dt, n, nd = kb.rng.choices(*FLOATS)[0], kb.rng.choice((2, 3, 3)), kb.rng.choice((1, 1, 2))
    ty, s = vec(n, dt), scalar(dt)
    pos = _arr(kb, ty, nd, "pos", "points", "x", "positions")
    out = pos if kb.rng.random() < 0.3 else _arr(kb, ty, nd, "out", "jittered", "new_pos", "dst")
    kb.tid(nd)
    j = _names(kb, "p=p,x0,pt d=d,offset,delta,dp")
    j.update(pos=kb.at(pos), out=kb.at(out), mode=kb.rng.choice(("plain", "prob", "box")), ty=ty.name,
             amp=(_to(s, _fparam(kb, "scale", "amplitude", "sigma", "radius")) if kb.rng.random() < 0.5
                  else kb.at(_arr(kb, s, nd, "radii", "widths", "spread"))),
             hi=kb.gen.typed(s, kb.rng.choice(("1.0", "2.0"))), st=_rng(kb, c, pos))
    j.update(off=_to(ty, _offset(kb, j["st"], n)),
             prob=_fparam(kb, "prob", "p_move", "rate") if j["mode"] == "prob" else "")
    c["j"] = j
    return {"dtype": dt, "type": ty.name, "ndim": nd, "mode": j["mode"]}


def _init(kb: KernelBuilder, c: dict[str, Any]) -> dict[str, Any]:
    dt = kb.rng.choice(("float32", "float32", "float64"))
    v3, v3f, s = vec(3, dt), vec(3), scalar(dt)
    g = _names(kb, "p=p,x0,spawn u=dirn,u,unit r=r,dist,rad d=d,xy,uv")
    g.update(pos=_arr(kb, v3, 1, "pos", "positions", "particle_x"), i=kb.tid(1)[0], cast=_to(v3, "@"),
             shape=kb.rng.choice(SHAPES), split=kb.rng.random() < 0.5,
             vel=_arr(kb, v3, 1, "vel", "velocities", "particle_v") if kb.rng.random() < 0.75 else "",
             fn=kb.rng.choice(("sample_unit_sphere", "sample_unit_hemisphere")), vmode=kb.rng.choice("ggrs"))
    if g["shape"] == "box":
        g.update(lo=kb.scalar_param(v3f, _nm(kb, "lo", "box_min", "lower")),
                 hi=kb.scalar_param(v3f, _nm(kb, "hi", "box_max", "upper")))
        g["center"] = f"0.5 * ({g['lo']} + {g['hi']})"
    else:
        g.update(center=kb.scalar_param(v3f, _nm(kb, "center", "origin", "emitter")),
                 radius=_fparam(kb, "radius", "r_max", "extent"))
    g["st"] = _rng(kb, c, g["pos"])
    vnames = {"g": ("sigma", "v_std"), "r": ("speed", "v0"), "s": ("omega", "swirl")}[g["vmode"]]
    g.update(vs=_fparam(kb, *vnames),
             noise=_offset(kb, g["st"], 3), mcast=_to(s, "@"), mhi=kb.rng.choice(("2.0", "1.5")),
             mass=_arr(kb, s, 1, "mass", "masses") if kb.rng.random() < 0.4 else "",
             tag=_arr(kb, I32, 1, "kind", "phase", "group", "alive") if kb.rng.random() < 0.4 else "")
    g["ntypes"] = kb.const(I32, kb.rng.choice("2348")) if g["tag"] and kb.rng.random() < 0.5 else ""
    g["frac"] = _fparam(kb, "frac", "fill", "p_alive") if g["tag"] and not g["ntypes"] else ""
    c["g"] = g
    return {"dtype": dt, "shape": g["shape"]}


def _monte_carlo(kb: KernelBuilder, c: dict[str, Any]) -> dict[str, Any]:
    nd, mode = kb.rng.choice((1, 1, 2)), kb.rng.choice(("ao", "area", "integral", "option", "volume"))
    idx = kb.tid(nd)
    m = _names(kb, "acc=acc,hits,running x=x,q,d e=est,mean v=v,n0,s,b,c0 drift=drift,mu")
    m.update(src=kb.at(kb.array(vec(3) if mode in ("ao", "volume") else F32, nd, _nm(kb, *{
        "ao": ("normals", "nrm"), "area": ("radius", "r_hit"), "integral": ("upper", "extent", "b"),
        "option": ("spot", "s0", "price"), "volume": ("centers", "probe")}[mode]))), mode=mode)
    out = _arr(kb, F32, nd, "estimate", "result", "out", "values")
    total = _arr(kb, F32, 1, "total", "accum", "sums") if kb.rng.random() < 0.6 else ""
    m.update(out=kb.at(out), total=total, n=kb.int_bound(), lv=kb.names.loopvar(), st=_rng(kb, c, out),
             k=_fparam(kb, "k", "sigma", "rate", "falloff") if mode in ("ao", "integral", "volume") else "",
             atomic=kb.rng.random() < 0.7, r=kb.rng.choice(("0.05", "0.02")), put=kb.rng.random() < 0.4,
             slot=kb.rng.choice(("0", f"{idx[-1]} % {total}.shape[0]", idx[0])), fi=kb.rng.randrange(4),
             debug=kb.rng.choice(("", "", "", "printf", "print")), first=" and ".join(f"{x} == 0" for x in idx))
    if mode == "option":  # a European option priced under geometric Brownian motion
        m.update(vol=_fparam(kb, "vol", "sigma"), strike=_fparam(kb, "strike", "k_strike"),
                 t=_fparam(kb, "maturity", "t_exp"))
    c["m"] = m
    return {"mode": mode, "ndim": nd, "bound": m["n"]}


def _curl_advect(kb: KernelBuilder, c: dict[str, Any]) -> dict[str, Any]:
    dt, n = kb.rng.choice(("float32", "float32", "float64")), kb.rng.choice((3, 3, 2))
    ty = vec(n, dt)
    pos = _arr(kb, ty, 1, "pos", "particles", "x", "points")
    a = _names(kb, "field=field,noise_state,flow_rng q=q,p,xf v=v,u,flow st=rng,jitter_rng")
    a.update(pos=pos, out=pos if kb.rng.random() < 0.4 else _arr(kb, ty, 1, "pos_out", "advected", "new_x"),
             vel=_arr(kb, ty, 1, "vel", "flow_v") if kb.rng.random() < 0.5 else "", i=kb.tid(1)[0],
             seed=_seed_param(kb), h=_fparam(kb, "dt", "h", "time_step"), n=n, cast=_to(ty, "@"),
             freq=_fparam(kb, "freq", "frequency") if kb.rng.random() < 0.6 else kb.const(F32, "0.5"),
             t=_fparam(kb, "time", "t", "phase") if n == 3 and kb.rng.random() < 0.4 else "",
             f32=dt == "float32", damp=kb.gen.typed(scalar(dt), "0.9") if kb.rng.random() < 0.5 else "",
             steps=kb.int_bound() if kb.rng.random() < 0.4 else "", lv=kb.names.loopvar())
    r = kb.rng.random()
    extra = ("" if r < 0.4 else f", wp.uint32({kb.rng.choice('234')})" if r < 0.7
             else f", wp.uint32(3), {kb.rng.choice(('2.0', '1.8'))}, {kb.rng.choice(('0.5', '0.6'))}")
    q, fr = a["q"], a["freq"]
    coord = f"{q} * {fr}" if not a["t"] else f"wp.vec4({q}[0] * {fr}, {q}[1] * {fr}, {q}[2] * {fr}, {a['t']})"
    a["curl"] = f"wp.curlnoise({a['field']}, {coord}{extra})"
    a["diff"] = a["off"] = ""
    if kb.rng.random() < 0.35:  # a little diffusion on top, drawn per particle
        a.update(diff=_fparam(kb, "diffusion", "jitter", "noise_amp"), off=_offset(kb, a["st"], n))
    c["a"] = a
    return {"dtype": dt, "dims": 4 if a["t"] else n}


def _noise_field(kb: KernelBuilder, c: dict[str, Any]) -> dict[str, Any]:
    nd = kb.rng.choice((1, 2, 2, 3))
    idx, out = kb.tid(nd), _arr(kb, F32, nd, "height", "density", "field", "terrain", "out")
    base = _arr(kb, F32, nd, "base", "src", "bias_map", "h0")
    t = _fparam(kb, "time", "t", "phase") if nd < 3 and kb.rng.random() < 0.35 else None
    coords = [f"float({i})" for i in idx] + ([t] if t else [])
    fn = kb.rng.choice(("noise", "noise", "pnoise"))
    period = kb.rng.choice(("4", "8", kb.const(I32, "16") if fn == "pnoise" else "16"))
    nf = _names(kb, "field=field,noise_rng,perlin x=x,q,coord v=v,h,total_ a=amp_,a,w0 s=s,n0,smp")
    nf.update(seed=_seed_param(kb), cell=_fparam(kb, "cell", "spacing"), amp=_fparam(kb, "gain", "amp"),
              q=coords[0] if len(coords) == 1 else f"wp.vec{len(coords)}({', '.join(coords)})", fn=fn,
              periods="".join(f", {period}" for _ in coords) if fn == "pnoise" else "",
              warp=len(coords) in (2, 3) and kb.rng.random() < 0.3, lv=kb.names.loopvar(),
              oct=kb.int_bound() if kb.rng.random() < 0.7 else "", out=kb.at(out), base=kb.at(base))
    nf["term"] = kb.rng.choice(("{s}", "(1.0 - wp.abs({s}))", "wp.abs({s})")).format(s=nf["s"])
    c["nf"] = nf
    return {"ndim": nd, "dims": len(coords), "noise": fn}


def _dropout(kb: KernelBuilder, c: dict[str, Any]) -> dict[str, Any]:
    dt, nd = kb.rng.choices(*FLOATS)[0], kb.rng.choice((1, 2, 2))
    s = scalar(dt)
    ty = s if kb.rng.random() < 0.7 else vec(kb.rng.choice((2, 3, 4)), dt)
    x, out = _arr(kb, ty, nd, "x", "inp", "act", "features"), _arr(kb, ty, nd, "y", "out", "dropped")
    kb.tid(nd)
    mode, mty = kb.rng.choice(("where", "branch", "gauss", "bern")), kb.rng.choice((I32, s))
    mask = _arr(kb, mty, nd, "mask", "keep_mask", "kept") if mode != "gauss" and kb.rng.random() < 0.5 else ""
    d = _names(kb, "k=keep_,kept_,m")
    d.update(st=_rng(kb, c, x), keep=_fparam(kb, "keep_prob", "p_keep", "keep"), mode=mode, x=kb.at(x),
             out=kb.at(out), mask=kb.at(mask) if mask else "", zero=kb.zero(ty),
             one=kb.gen.typed(mty, "1" if mty == I32 else "1.0"),
             mzero=kb.gen.typed(mty, "0" if mty == I32 else "0.0"), szero=kb.gen.typed(s, "0.0"))
    # floor(u + p) is 1 with probability p: a Bernoulli keep factor of 1.0 or 0.0 through wp.nonzero
    d["bern"] = _to(s, f"wp.nonzero(wp.floor(wp.randf({d['st']}) + {d['keep']}))")
    gauss = f"1.0 + wp.sqrt((1.0 - {d['keep']}) / {d['keep']}) * wp.randn({d['st']})"  # Gaussian dropout
    d["inv"], d["noise"] = (f"(1.0 / {d['keep']})", f"({gauss})") if dt == "float32" else (
        _to(s, f"1.0 / {d['keep']}"), _to(s, gauss))
    c["d"] = d
    return {"dtype": dt, "type": ty.name, "ndim": nd, "mode": mode}


def _discrete(kb: KernelBuilder, c: dict[str, Any]) -> dict[str, Any]:
    op, i = kb.rng.choice(("bootstrap", "poisson", "cdf", "cdf", "walk", "signs")), kb.tid(1)[0]
    vals = _arr(kb, F32, 1, "values", "data", "samples", "weights")
    out = _arr(kb, I32 if op == "poisson" else F32, 1, "out", "result", "counts", "hist")
    aux = _arr(kb, F32, 1, "cdf") if op == "cdf" else _arr(kb, I32, 1, "start") if op == "walk" else ""
    d = _names(kb, "j=j,pick,idx0 acc=acc,total_,sum_ cnt=cnt,c0,events cell=cell,site,node z=z,sgn,flip")
    d.update(op=op, i=i, vals=vals, out=out, aux=aux, st=_rng(kb, c, vals), lv=kb.names.loopvar(),
             extra=_arr(kb, I32, 1, "visits", "picks", "bins") if kb.rng.random() < 0.5 else "",
             n=kb.int_bound() if op in ("bootstrap", "walk") else "", size=_nm(kb, "size", "count", "num"),
             draw=kb.rng.choice(("randi", "randu", "range")), mul=kb.rng.choice(("", " * 4.0", " * 12.0")),
             lam=_fparam(kb, "lam", "rate", "mean_events") if op == "poisson" else "")
    c["q"] = d
    return {"op": op}


def _brownian(kb: KernelBuilder, c: dict[str, Any]) -> dict[str, Any]:
    dt, n = kb.rng.choice(("float32", "float32", "float64")), kb.rng.choice((2, 3, 3))
    ty, s = vec(n, dt), scalar(dt)
    pos = _arr(kb, ty, 1, "pos", "x", "walkers", "particles")
    mode, i = kb.rng.choice(("em", "ou", "reflect")), kb.tid(1)[0]
    b = _names(kb, "p=p,xi,y dw=dw,kick,noise_ amp=amp,noise_scale,std v=u,vi,mom")
    b.update(mode=mode, i=i, pos=pos, vel=_arr(kb, ty, 1, "vel", "v", "momentum") if mode == "ou" else "",
             lv=kb.names.loopvar(), n=kb.int_bound(), st=_rng(kb, c, pos, persist=0.6),
             h=_fparam(kb, "dt", "h", "tau"), dc=_fparam(kb, "diffusion", "kT", "temperature"),
             k=_to(s, kb.rng.choice(("0.5", "1.0", "0.1"))), lo=f"{ty.name}({kb.gen.typed(s, '0.0')})",
             hi=f"{ty.name}({kb.gen.typed(s, '1.0')})")
    r = f"wp.randn({b['st']})"
    b["dwe"], b["ht"] = _to(ty, f"wp.vec{n}({', '.join([r] * n)}) * {b['amp']}"), _to(s, b["h"])
    c["b"] = b
    return {"dtype": dt, "mode": mode}


def _surface_sample(kb: KernelBuilder, c: dict[str, Any]) -> dict[str, Any]:
    mode, i, v3 = kb.rng.choice(("tri", "lens", "bounce")), kb.tid(1)[0], vec(3)
    g = _names(kb, "a=a,v0,pa b=b,v1,pb c=c,v2,pc bc=bc,bary,uv p=p,hit,x n=n,nrm,normal t=t,tangent,e1 "
                   "bt=bt,bitangent,e2 d=d,dirn,wo o=o,origin_,ray_o up=up,helper,ref tv=tri,face,ids")
    g.update(mode=mode, i=i, hemi=kb.rng.choice(("sample_unit_hemisphere_surface", "sample_unit_hemisphere",
                                                  "malley")))
    if mode == "tri":
        g.update(pts=_arr(kb, v3, 1, "points", "verts"), tris=_arr(kb, vec(3, "int32"), 1, "tris", "faces"),
                 out=_arr(kb, v3, 1, "samples", "out", "hits"), lift=_fparam(kb, "offset", "lift", "eps"))
    elif mode == "lens":
        g.update(cam=kb.scalar_param(v3, _nm(kb, "cam_pos", "eye")), ap=_fparam(kb, "aperture", "lens_r"),
                 out=_arr(kb, v3, 1, "focus", "targets", "look_at"), ro=_arr(kb, v3, 1, "ray_origin", "ro"),
                 rd=_arr(kb, v3, 1, "ray_dir", "rd"))
    else:
        g.update(pos=_arr(kb, v3, 1, "pos", "hit_pos", "x"), nrm=_arr(kb, v3, 1, "normals", "nrm_in"),
                 out=_arr(kb, v3, 1, "wi", "bounce", "dirs"), org=_arr(kb, v3, 1, "new_origin", "ro"))
    g["st"] = _rng(kb, c, g["out"])
    c["g"] = g
    return {"mode": mode}


def _tile_rand(kb: KernelBuilder, c: dict[str, Any]) -> dict[str, Any]:
    src, dst = _arr(kb, F32, 2, "src", "x", "img"), _arr(kb, F32, 2, "dst", "out", "noisy")
    tile, row, _lane = tile_setup(kb, "float32")
    t = _names(kb, "t=t,tx,block r=r,noise_,rt m=m,mask_,mt st=rng,state")
    t.update(src=src, dst=dst, row=row, tile=tile, mode=kb.rng.choice(("mul", "add", "mask")),
             total=_arr(kb, F32, 1, "row_sum", "totals") if kb.rng.random() < 0.5 else "",
             seed=_seed_param(kb) if kb.rng.random() < 0.7 else kb.at(_arr(kb, I32, 1, "seeds", "row_seeds"),
                                                                           [row]),
             rng_args=kb.rng.choice(("", ", 0.5, 1.5", ", -1.0, 1.0")))
    t["amp"] = _fparam(kb, "amp", "sigma", "strength") if t["mode"] == "add" else ""
    c["t"] = t
    return {"tile": tile, "mode": t["mode"]}


def _bins_const(kb: KernelBuilder) -> str:
    """A module constant sizing a local table (``wp.zeros`` needs a shape known at compile time)."""
    name = _nm(kb, "NUM_BINS", "TABLE_SIZE", "MAX_BINS")
    kb.parts.consts.append({"name": name, "value": f"wp.constant({kb.rng.choice(('4', '8', '16'))})"})
    return name


def _inverse_cdf(kb: KernelBuilder, c: dict[str, Any]) -> dict[str, Any]:
    """Inverse-transform sampling: a Gaussian from a uniform draw through ``wp.erfinv``/``erfcinv`` (the draw
    kept inside the open interval), or an index by ``wp.lower_bound`` over a cumulative table: an input
    array (a running sum, ascending; on any input the index is clamped into range) or a ``wp.zeros`` local
    table summed from the weights."""
    mode, i = kb.rng.choice(("erfinv", "erfcinv", "erfcinv", "table", "table", "cdf")), kb.tid(1)[0]
    s = _names(kb, "u=u,xi,r01 z=z,g,std_normal j=j,bin_,slot tab=cdf_local,table,cum acc=acc,running,total_w "
                   "lo=lo,c_lo,prev t=t,frac,tt nb=nb,n_bins,used")
    s.update(mode=mode, i=i, lv=kb.names.loopvar())
    c["s"] = s
    if mode in ("erfinv", "erfcinv"):
        dt = kb.rng.choice(("float32", "float32", "float64"))
        ty = scalar(dt)
        s.update(mu=_arr(kb, ty, 1, "mean", "mu", "loc"), out=_arr(kb, ty, 1, "samples", "out", "draws"),
                 sigma=_to(ty, _fparam(kb, "sigma", "std", "scale")), cast=_to(ty, "@"),
                 trunc=_fparam(kb, "k_sigma", "cutoff", "trunc") if kb.rng.random() < 0.35 else "",
                 eps=kb.rng.choice(("1.0e-6", "1.0e-5", "1.0e-4")))
        s["edges"] = _arr(kb, F32, 1, "edges", "bin_edges", "bounds") if kb.rng.random() < 0.4 else ""
        s["hist"] = _arr(kb, I32, 1, "hist", "counts", "bins") if s["edges"] else ""
        s["st"] = _rng(kb, c, s["out"])
        return {"mode": mode, "dtype": dt, "truncated": bool(s["trunc"]), "histogram": bool(s["edges"])}
    rows = mode == "table" and kb.rng.random() < 0.5  # each thread its own distribution, one row of weights
    src = _arr(kb, F32, 2 if rows else 1, *(("weights", "probs", "pdf") if mode == "table" else ("cdf", "cum_w")))
    pick = kb.rng.choice(("index", "value", "interp"))
    vals = _arr(kb, F32, 2 if rows else 1, "values", "table_vals", "levels") if pick == "value" else ""
    out = _arr(kb, I32 if pick == "index" else F32, 1, *{"index": ("picks", "indices", "choice"),
                                                          "value": ("samples", "out"), "interp": ("u_out", "x")}[pick])
    s.update(src=src, rows=rows, pick=pick, vals=vals, out=out,
             hist=_arr(kb, I32, 1, "hist", "counts", "bins") if kb.rng.random() < 0.45 else "",
             bins=_bins_const(kb) if mode == "table" else "",
             size=f"{src}.shape[{1 if rows else 0}]", st=_rng(kb, c, out))
    s["at"] = f"{src}[{i}, @]" if rows else f"{src}[@]"
    s["vat"] = f"{vals}[{i}, @]" if rows else f"{vals}[@]"
    return {"mode": mode, "pick": pick, "rows": rows, "histogram": bool(s["hist"])}


BUILD = {f.__name__[1:]: f for f in (_jitter, _init, _monte_carlo, _curl_advect, _noise_field, _dropout,
                                     _discrete, _brownian, _surface_sample, _tile_rand, _inverse_cdf)}


def family(kb: KernelBuilder) -> Family:
    variant = kb.rng.choice(tuple(BUILD))
    ctx: dict[str, Any] = {"variant": variant, "pre": [], "tail": []}
    params = BUILD[variant](kb, ctx)
    # the builtins the rendered kernel calls (its structure lives in the template), for provenance
    source = render("kernels/random.j2", **kb.context(**ctx))
    kb.gen.used = list(dict.fromkeys(_CALL.findall(source)))
    return variant, ctx, params
