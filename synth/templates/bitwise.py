"""Bitwise family: integer kernels over Warp's small and unsigned integer types.

Variants: ``hash`` (a PCG / xorshift / Wang / murmur / splitmix ``@wp.func`` hash of ids and a seed:
keys, float jitter, or an RNG state stepped in place by a counted ``while`` loop), ``popcount`` (set
bits or Hamming distances by a Kernighan ``while`` loop, a bit-by-bit loop or ``wp.bit_count``; totals
by atomics), ``bit_reverse`` (FFT bit-reversal or Gray-code permutation of float / complex data, the
bit count found by a bounded ``while``), ``gcd`` (Euclid or binary-GCD ``while`` loops: gcd, lcm,
reduced fractions), ``morton`` (grid cells of points interleaved into Morton codes, spatial-hash bucket
counts), ``radix_hist`` (radix digits of integer keys or of float keys made sortable with ``wp.cast``,
histogrammed by atomics), ``bitmask`` (occupancy bitsets through ``atomic_or/and/xor`` and ``|=``, bit
tests, first/last index by ``atomic_min/max``), ``pack`` (RGBA8 packing and unpacking, ``vec4ub``,
snorm16 (optionally stored as ``vec3s`` / ``vec2s``) / int8 quantisation) and ``cells`` (``vec3i`` cell
arithmetic on cells stored as ``vec3i`` or int16 ``vec3s``: periodic wrap with ``%``,
``//`` tiles, ``wp.abs/min/max/clamp``, linear indices).

Each variant varies its steps: hash rounds as a constant or parameter, xor / max / sum mixing; bit
reversal by ``while`` / ``for`` / mask swaps, Gray encode or decode, conjugated, sign-flipped or
atomically accumulated outputs; tuple-assignment Euclid and coprimality flags; Morton cells by scaling,
division or ``wp.floor`` with bounds, ids and coarse-level keys; clamped bitset indices, ``atomic_or``
return values and per-word counts; channel orders, rounding modes and gains in packing.

Every ``while`` loop terminates for any integer input: a counter stepping by one up to a constant bound,
or a value strictly decreasing toward zero (Euclid's remainder, Kernighan's lowest set bit).
"""

from __future__ import annotations

from typing import Any

from warp_synth.synth.templates.base import Family
from warp_synth.synth.templates.kernel import KernelBuilder
from warp_synth.synth.templates.types import I32, Ty, annotation, scalar, vec

VARIANTS = ("hash", "popcount", "bit_reverse", "gcd", "morton", "radix_hist", "bitmask", "pack", "cells")

# hash helpers: (kind, hash dtype, body lines over the parameter ``x``)
_HASHES: dict[str, tuple[str, tuple[str, ...]]] = {
    "pcg": ("uint32", (
        "state = x * wp.uint32(747796405) + wp.uint32(2891336453)",
        "word = ((state >> ((state >> wp.uint32(28)) + wp.uint32(4))) ^ state) * wp.uint32(277803737)",
        "return (word >> wp.uint32(22)) ^ word")),
    "xorshift": ("uint32", (
        "x ^= x << wp.uint32(13)", "x ^= x >> wp.uint32(17)", "x ^= x << wp.uint32(5)", "return x")),
    "wang": ("uint32", (
        "x = (x ^ wp.uint32(61)) ^ (x >> wp.uint32(16))", "x = x * wp.uint32(9)",
        "x = x ^ (x >> wp.uint32(4))", "x = x * wp.uint32(0x27D4EB2D)", "return x ^ (x >> wp.uint32(15))")),
    "fmix": ("uint32", (
        "h = x ^ (x >> wp.uint32(16))", "h = h * wp.uint32(0x85EBCA6B)", "h = h ^ (h >> wp.uint32(13))",
        "h = h * wp.uint32(0xC2B2AE35)", "return h ^ (h >> wp.uint32(16))")),
    "splitmix": ("uint64", (
        "z = x + wp.uint64(0x9E3779B97F4A7C15)",
        "z = (z ^ (z >> wp.uint64(30))) * wp.uint64(0xBF58476D1CE4E5B9)",
        "z = (z ^ (z >> wp.uint64(27))) * wp.uint64(0x94D049BB133111EB)", "return z ^ (z >> wp.uint64(31))")),
    "xorshift64": ("uint64", (
        "x ^= x << wp.uint64(13)", "x ^= x >> wp.uint64(7)", "x ^= x << wp.uint64(17)", "return x")),
}
_HASH_NAMES = {"pcg": ("pcg_hash", "pcg", "hash_pcg"), "xorshift": ("xorshift32", "xorshift", "next_state"),
               "wang": ("wang_hash", "hash_wang"), "fmix": ("fmix32", "murmur_mix", "hash_mix"),
               "splitmix": ("splitmix64", "mix64"), "xorshift64": ("xorshift64", "next_state64")}
# Morton helpers: spread the low bits of ``x`` so two (``by1``) or three (``by2``) codes interleave
_SPREAD = {
    "by2": ("x = x & wp.uint32(0x000003FF)", "x = (x | (x << wp.uint32(16))) & wp.uint32(0x030000FF)",
            "x = (x | (x << wp.uint32(8))) & wp.uint32(0x0300F00F)",
            "x = (x | (x << wp.uint32(4))) & wp.uint32(0x030C30C3)",
            "x = (x | (x << wp.uint32(2))) & wp.uint32(0x09249249)", "return x"),
    "by1": ("x = x & wp.uint32(0x0000FFFF)", "x = (x | (x << wp.uint32(8))) & wp.uint32(0x00FF00FF)",
            "x = (x | (x << wp.uint32(4))) & wp.uint32(0x0F0F0F0F)",
            "x = (x | (x << wp.uint32(2))) & wp.uint32(0x33333333)",
            "x = (x | (x << wp.uint32(1))) & wp.uint32(0x55555555)", "return x"),
}
# kernel locals by role, named once the parameters are (so no name is taken twice)
_ROLE_SPEC = (
    "key=key,hkey,k0 h=h,hv,hashed u=u,r01,unit s=s,st,rs it=it,rnd,round_ acc=acc,mixed,total_ "
    "val=val,word,v n=n,cnt,nset,pop bit=bit,b_,sh nb=nbits,log2n,levels size=size,length,count "
    "r=r,rev,dest p=p,pt,xp c=cell,c,ijk code=code,mc,m a=a_,x0,lhs_ b=b_,y0,rhs_ t=t,tmp,rem "
    "g=g,div,common_ d=d,den_,safe dig=digit,bucket w=wi,word_idx,slot m=bitmask,flag,mbit "
    "lin=lin,flat,linear_ col=col,rgb,c_ q=qx,ex q2=qy,ey q3=qz,ez hk=hk,hash_ dims=dims,shape_,extent "
    "x=ux,cx y=uy,cy z=uz,cz k=k,twos,shift e=delta,off,dc"
)
_ROLES = {role: tuple(names.split(",")) for role, names in (spec.split("=") for spec in _ROLE_SPEC.split())}


def lit(dtype: str, text: str) -> str:
    """A literal of integer or float ``dtype`` (bare for int32/float32, as Warp 1.19 requires)."""
    return text if dtype in ("int32", "float32") else f"wp.{dtype}({text})"


def helper(kb: KernelBuilder, names: tuple[str, ...], dtype: str, lines: tuple[str, ...],
           ret: str | None = None, extra: tuple[str, ...] = ()) -> str:
    """A ``@wp.func`` of one ``x: dtype`` parameter (and ``extra`` ones) with the given body."""
    name = kb.names._fresh(kb.rng.choice(names))
    kb.parts.funcs.append({"name": name, "params": [f"x: wp.{dtype}", *extra], "ret": ret or f"wp.{dtype}",
                           "body": "\n".join(lines)})
    return name


def arr(kb: KernelBuilder, ty: Ty | str, ndim: int, *names: str) -> str:
    """A kernel array parameter named after one of ``names``; ``ty`` a Ty or a struct-free type spelling."""
    name = kb.names._fresh(kb.rng.choice(names))
    t = ty if isinstance(ty, str) else annotation(ty, kb.rng)
    ann = f"wp.array(dtype={t})" if ndim == 1 else kb.rng.choice((f"wp.array{ndim}d(dtype={t})",
                                                                 f"wp.array(dtype={t}, ndim={ndim})"))
    kb.parts.kparams.append(f"{name}: {ann}")
    return name


def family(kb: KernelBuilder) -> Family:
    rng = kb.rng
    variant = rng.choice(VARIANTS)
    ctx: dict[str, Any] = {"variant": variant, "wts": None, "field": None}
    params: dict[str, Any] = {}
    if variant == "hash":
        kind = rng.choice(tuple(_HASHES))
        u, body = _HASHES[kind]
        mode = rng.choice(("keys", "jitter", "state"))
        fdt = rng.choice(("float32", "float32", "float64"))
        pty = rng.choice((scalar(fdt), vec(3, fdt), vec(2, fdt)))
        ndim = 2 if mode == "keys" and rng.random() < 0.35 else 1
        id_ty = scalar(rng.choice(("int32", "int32", "uint32", "int64")))
        ids = None if mode != "keys" else arr(kb, id_ty, ndim, "ids", "keys", "labels")
        ctx.update(fn=helper(kb, _HASH_NAMES[kind], u, body), U=f"wp.{u}", u=u, mode=mode, ids=ids, ndim=ndim,
                   pty=pty.name, n=pty.n if pty.kind == "vec" else 0, F=f"wp.{fdt}", fdt=fdt,
                   drop=lit(u, "8" if u == "uint32" else "40"),
                   gold=lit(u, rng.choice(("0x9E3779B9", "0x85EBCA6B"))))
        if mode == "keys":
            ctx["out"] = arr(kb, scalar(u), ndim, "hashes", "out_keys", "codes")
            ctx["bins"] = arr(kb, I32, 1, "buckets", "counts", "bins") if rng.random() < 0.5 else None
        elif mode == "jitter":
            ctx["src"] = arr(kb, pty, 1, "pos", "points", "x", "samples")
            ctx["out"] = arr(kb, pty, 1, "jittered", "out", "dst", "pos_out")
        else:
            ctx["state"] = arr(kb, scalar(u), 1, "rng_state", "states", "seeds")
            ctx["float_out"] = rng.random() < 0.5
            ctx["out"] = arr(kb, scalar(fdt if ctx["float_out"] else u), 1, "draws", "samples", "out")
            ctx["rounds"] = kb.const(I32, str(rng.choice((2, 4, 8, 16)))) if rng.random() < 0.6 else \
                kb.scalar_param(I32, kb.names._fresh(rng.choice(("rounds", "n_steps", "draws_per"))))
            ctx["comb"] = rng.choice(("+", "^", "max"))
        if mode != "state":
            ctx["seed"] = kb.scalar_param(I32, kb.names._fresh(rng.choice(("seed", "frame", "salt"))))
        ctx["amp"] = lit(fdt, rng.choice(("0.01", "0.05", "0.1", "0.5")))
        params = {"hash": kind, "mode": mode}
    elif variant == "popcount":
        dt = rng.choice(("uint32", "uint32", "int32", "uint64", "int64", "uint8", "uint16", "int16"))
        width = {"int8": 8, "uint8": 8, "int16": 16, "uint16": 16, "int32": 32, "uint32": 32}.get(dt, 64)
        ndim = rng.choice((1, 1, 2))
        a = arr(kb, scalar(dt), ndim, "desc", "bits", "masks", "flags", "a")
        b = arr(kb, scalar(dt), ndim, "ref", "other", "desc_b", "b") if rng.random() < 0.5 else None
        method = rng.choice(("kernighan", "scan", "builtin", "kernighan"))
        ctx["fnform"] = rng.random() < 0.3
        if method == "scan" and dt.startswith("int"):
            method = "kernighan"
        ctx.update(dt=dt, D=f"wp.{dt}", a=a, b=b, method=method, width=width, ndim=ndim,
                   zero=lit(dt, "0"), one=lit(dt, "1"), mix=lit(dt, rng.choice(("0x5A", "0x3C", "0x77"))),
                   counts=arr(kb, I32, ndim, "counts", "dist", "popc", "weights"),
                   parity_dt=rng.choice(("int32", "uint8")), total_dt=rng.choice(("int32", "int64")),
                   atom=rng.choice(("add", "max", "min")))
        ctx["parity"] = arr(kb, scalar(ctx["parity_dt"]), ndim, "parity", "odd") \
            if rng.random() < 0.4 else None
        ctx["total"] = arr(kb, scalar(ctx["total_dt"]), 1, "total", "sum_bits", "stats") \
            if rng.random() < 0.6 else None
        params = {"dtype": dt, "method": method}
    elif variant == "bit_reverse":
        fdt = rng.choice(("float32", "float32", "float64"))
        ty = rng.choice((scalar(fdt), vec(2, fdt), vec(2, fdt), vec(4, fdt)))
        ndim = rng.choice((1, 1, 2))
        method = rng.choice(("loop", "swap", "gray", "for"))
        src, dst = arr(kb, ty, ndim, "src", "x", "signal"), arr(kb, ty, ndim, "dst", "out", "perm", "y")
        if method == "for":
            fn = helper(kb, ("bit_reverse", "reverse_bits", "bitrev"), "uint32", (
                "r = wp.uint32(0)", "for b in range(nbits):",
                "    r = r | (((x >> wp.uint32(b)) & wp.uint32(1)) << wp.uint32(nbits - 1 - b))",
                "return r"), extra=("nbits: int",))
        elif method == "loop":
            fn = helper(kb, ("bit_reverse", "reverse_bits", "bitrev"), "uint32", (
                "r = wp.uint32(0)", "b = int(0)", "while b < nbits:",
                "    r = (r << wp.uint32(1)) | (x & wp.uint32(1))", "    x = x >> wp.uint32(1)", "    b += 1",
                "return r"), extra=("nbits: int",))
        elif method == "swap":
            fn = helper(kb, ("bit_reverse", "reverse_bits", "bitrev"), "uint32", tuple(
                f"x = ((x >> wp.uint32({s})) & wp.uint32({m})) | ((x & wp.uint32({m})) << wp.uint32({s}))"
                for s, m in ((1, "0x55555555"), (2, "0x33333333"), (4, "0x0F0F0F0F"), (8, "0x00FF00FF"))
            ) + ("x = (x >> wp.uint32(16)) | (x << wp.uint32(16))",
                 "return x >> wp.uint32(32 - nbits)"), extra=("nbits: int",))
        else:
            fn = helper(kb, ("gray_code", "to_gray", "gray"), "uint32", ("return x ^ (x >> wp.uint32(1))",)) \
                if rng.random() < 0.5 else helper(kb, ("from_gray", "gray_decode", "inv_gray"), "uint32", (
                    "m = x >> wp.uint32(1)", "while m != wp.uint32(0):", "    x = x ^ m",
                    "    m = m >> wp.uint32(1)",
                    "return x"))
        ctx.update(src=src, dst=dst, method=method, fn=fn, ndim=ndim, src_f64=fdt == "float64",
                   scale=lit(fdt, rng.choice(("0.5", "2.0", "0.125"))) if rng.random() < 0.4 else None,
                   maxbits=rng.choice((16, 20, 30)), nbsrc=rng.choice(("while", "while", "for", "param")),
                   op=rng.choice(("copy", "copy", "conj", "sign", "acc")) if ty.kind == "vec" and ty.n == 2
                   else rng.choice(("copy", "copy", "sign", "acc")), guard=rng.choice(("if", "where")))
        if ctx["op"] != "acc":  # a fallback index may collide with another thread's: atomic adds only
            ctx["guard"] = "if"
        ctx["ridx"] = arr(kb, I32, ndim, "perm_idx", "rev_idx", "dest_idx") if rng.random() < 0.3 else None
        if ctx["nbsrc"] == "param" and method != "gray":
            ctx["nbp"] = kb.scalar_param(I32, kb.names._fresh(rng.choice(("log2n", "nbits", "levels"))))
        params = {"type": ty.name, "method": method}
    elif variant == "gcd":
        dt = rng.choice(("int32", "int32", "int64", "uint32", "int16"))
        method = "binary" if dt == "uint32" and rng.random() < 0.7 else rng.choice(("euclid", "euclid_mod",
                                                                                  "euclid_tuple"))
        ctx.update(cop_t=rng.choice(("int32", "uint8")), order_in=rng.random() < 0.3,
                   absfirst=rng.random() < 0.3)
        ctx["coprime"] = arr(kb, scalar(ctx["cop_t"]), 1, "coprime", "is_unit") \
            if rng.random() < 0.4 else None
        ctx.update(dt=dt, D=f"wp.{dt}", method=method, zero=lit(dt, "0"), one=lit(dt, "1"),
                   num=arr(kb, scalar(dt), 1, "num", "a", "lhs", "p"),
                   den=arr(kb, scalar(dt), 1, "den", "b", "q"),
                   g=arr(kb, scalar(dt), 1, "gcd_out", "g", "common"),
                   reduced=rng.random() < 0.5, lcm=rng.random() < 0.4, steps=rng.random() < 0.3,
                   bound=kb.const(I32, str(rng.choice((64, 96, 128)))))
        if ctx["reduced"]:
            ctx["rn"], ctx["rd"] = arr(kb, scalar(dt), 1, "num_out"), arr(kb, scalar(dt), 1, "den_out")
        if ctx["lcm"]:
            ctx["lcm_out"] = arr(kb, scalar("int64"), 1, "lcm", "period")
        if ctx["steps"]:
            ctx["steps_out"] = arr(kb, I32, 1, "iters", "steps")
        params = {"dtype": dt, "method": method}
    elif variant == "morton":
        fdt = rng.choice(("float32", "float32", "float64"))
        d = rng.choice((3, 3, 2))
        src_int = rng.random() < 0.3
        pts = arr(kb, vec(d, "int32"), 1, "cells", "coords") if src_int else \
            arr(kb, vec(d, fdt), 1, "points", "pos", "x", "particles")
        interleave = rng.choice(("magic", "magic", "loop"))
        names3 = ("part1by2", "expand_bits", "spread3") if d == 3 else ("part1by1", "spread2")
        spread = None if interleave == "loop" else helper(kb, names3,
                        "uint32", _SPREAD["by2" if d == 3 else "by1"])
        ctx.update(pts=pts, d=d, interleave=interleave, src_int=src_int, spread=spread,
                   F=f"wp.{fdt}", fdt=fdt,
                   res=kb.const(I32, str(rng.choice((32, 64, 128, 1024) if src_int else (128, 256, 1024)))),
                   inv=lit(fdt, rng.choice(("16.0", "32.0", "64.0", "10.0"))),
                   codes=arr(kb, scalar("uint32"), 1, "codes", "morton", "keys"),
                   ucell=rng.random() < 0.5, table=arr(kb, I32, 1, "counts", "buckets", "grid_counts")
                   if rng.random() < 0.6 else None,
                   primes=rng.choice((("73856093", "19349663", "83492791"), ("0x8DA6B343", "0xD8163841",
                                                                              "0xCB1AB31F"))))
        ctx.update(qmode=rng.choice(("mul", "mul", "div", "floor")), clampf=rng.choice(("clamp", "minmax")),
                   order=arr(kb, I32, 1, "order", "ids", "perm") if rng.random() < 0.4 else None,
                   bound=arr(kb, scalar("uint32"), 1, "max_code", "code_hi") if rng.random() < 0.3 else None,
                   level=rng.choice((0, 0, 3, 6)))
        if ctx["qmode"] == "div" and not src_int:
            ctx["h"] = kb.scalar_param(scalar(fdt), kb.names._fresh(rng.choice(("cell_size", "h", "dx"))))
        if ctx["level"]:
            ctx["coarse"] = arr(kb, scalar("uint32"), 1, "coarse", "parent", "level_keys")
        params = {"dim": d, "int_cells": src_int, "interleave": interleave}
    elif variant == "radix_hist":
        dt = rng.choice(("uint32", "int32", "uint64", "int64", "float32", "float32"))
        bits = rng.choice((2, 3, 4))
        ctx.update(dt=dt, bits=bits, keys=arr(kb, scalar(dt), 1, "keys", "values", "sort_keys"),
                   hist=arr(kb, I32, 1, "hist", "histogram", "bins", "counts"),
                   digits_t=rng.choice(("int32", "uint8")),
                   shift=rng.choice(("0", str(bits))) if dt != "float32" else str(rng.choice((0, 4, 8, 12))),
                   radix=kb.const(I32, str(bits)), hashed=dt != "float32" and rng.random() < 0.3,
                   inplace=rng.random() < 0.5, descending=rng.random() < 0.3,
                   pass_param=rng.random() < 0.3, fnform=rng.random() < 0.3)
        ctx["digits"] = arr(kb, scalar(ctx["digits_t"]), 1, "digits", "bucket_of") \
            if rng.random() < 0.5 else None
        ctx["udt"] = "uint64" if dt in ("uint64", "int64") else "uint32"
        if ctx["pass_param"]:
            ctx["pass_"] = kb.scalar_param(I32, kb.names._fresh(rng.choice(("pass_idx", "digit_pass"))))
        params = {"dtype": dt, "bits": bits}
    elif variant == "bitmask":
        wdt = rng.choice(("uint32", "uint32", "int32", "uint64", "int64"))
        w = 64 if "64" in wdt else 32
        ctx.update(wdt=wdt, W=f"wp.{wdt}", w=w, logw=5 if w == 32 else 6, one=lit(wdt, "1"),
                   cells=arr(kb, I32, 1, "cells", "ids", "voxel_ids", "slots"),
                   mask=arr(kb, scalar(wdt), 1, "occupancy", "mask", "bitset", "words"),
                   syntax=rng.choice(("atomic", "augassign")),
                   ops=rng.sample(("xor", "and", "minmax", "test", "count"), rng.choice((1, 2, 2, 3))),
                   divmod=rng.random() < 0.4, fnform=rng.random() < 0.3, guard=rng.random() < 0.35,
                   fresh=None, zero=lit(wdt, "0"), fresh_t=rng.choice(("int32", "uint8")))
        if ctx["syntax"] == "atomic" and rng.random() < 0.5:
            ctx["fresh"] = arr(kb, scalar(ctx["fresh_t"]), 1, "newly_set", "first_hit", "claimed")
        if rng.random() < 0.4:  # a float weight splatted per cell: the adjoint check runs on it
            fdt = rng.choice(("float32", "float64"))
            ctx["wts"] = arr(kb, scalar(fdt), 1, "weights", "mass", "rho")
            ctx["wsum"] = arr(kb, scalar(fdt), 1, "cell_mass", "splat", "accum")
        if "xor" in ctx["ops"]:
            ctx["toggle"] = arr(kb, scalar(wdt), 1, "parity", "toggles")
        if "and" in ctx["ops"]:
            ctx["alive"] = arr(kb, scalar(wdt), 1, "alive", "free_mask")
        if "minmax" in ctx["ops"]:
            ctx["first"], ctx["last"] = arr(kb, I32, 1, "first", "lo_idx"), arr(kb, I32, 1, "last", "hi_idx")
        if "count" in ctx["ops"]:
            ctx["per_word"] = arr(kb, I32, 1, "word_count", "fill", "load")
        if "test" in ctx["ops"]:
            ctx["ref"] = arr(kb, scalar(wdt), 1, "ref_mask", "visited")
            ctx["hit_t"] = rng.choice(("int32", "uint8", "int8"))
            ctx["hit"] = arr(kb, scalar(ctx["hit_t"]), 1, "hit", "is_set")
        params = {"dtype": wdt, "ops": ctx["ops"]}
    elif variant == "pack":
        mode = rng.choice(("rgba8", "unpack8", "snorm16", "int8_quant"))
        fdt = rng.choice(("float32", "float32", "float64"))
        ctx.update(mode=mode, F=f"wp.{fdt}", fdt=fdt, ndim=rng.choice((1, 1, 2)),
                   shifts=rng.choice(((0, 8, 16, 24), (16, 8, 0, 24), (24, 16, 8, 0), (8, 16, 24, 0))),
                   join=rng.choice((" | ", " | ", " + ")), rnd=rng.choice(("half", "round", "floor")),
                   inv255=rng.random() < 0.5, gain=None, unit=rng.choice(("normalize", "length", "none")))
        if rng.random() < 0.4:
            gname = rng.choice(("exposure", "gain", "scale"))
            ctx["gain"] = kb.scalar_param(scalar(fdt), kb.names._fresh(gname))
        nd = ctx["ndim"]
        if mode == "rgba8":
            ctx["n"] = rng.choice((3, 4))
            ctx.update(color=arr(kb, vec(ctx["n"], fdt), nd, "color", "rgba", "albedo"),
                       packed=arr(kb, scalar("uint32"), nd, "packed", "pixels"),
                       bytes_out=arr(kb, "wp.vec4ub", nd, "rgba8", "texels") if rng.random() < 0.5 else None)
        elif mode == "unpack8":
            ptype = rng.choice((scalar("uint32"), scalar("int32")))
            ctx.update(packed=arr(kb, ptype, nd, "packed", "pixels"),
                       color=arr(kb, vec(4, fdt), nd, "color", "rgba"), shift=rng.choice((0, 2, 4)),
                       lane_t=rng.choice(("uint8", "int8", "uint16")))
            ctx["lanes"] = arr(kb, scalar(ctx["lane_t"]), nd, "lum", "lane0") if rng.random() < 0.5 else None
        else:
            dt = "int16" if mode == "snorm16" else "int8"
            ctx.update(dt=dt, maxv="32767" if dt == "int16" else "127",
                       nrm=arr(kb, vec(3, fdt), nd, "normals", "n", "dirs"),
                       q=arr(kb, scalar(dt), nd, "qx", "enc_x"), qy=arr(kb, scalar(dt), nd, "qy", "enc_y"),
                       word=arr(kb, scalar("uint32"), nd, "enc", "packed") if dt == "int16" else None)
            # int16 vectors: the three snorm16 channels, or two of them (z's magnitude follows from x and y)
            ctx["svec"] = rng.choice((None, "vec3s", "vec2s")) if dt == "int16" else None
            if ctx["svec"]:
                ctx["sout"] = arr(kb, f"wp.{ctx['svec']}", nd, "enc_n", "normals16", "oct16")
        params = {"mode": mode}
    else:  # cells
        ndim = 1
        small = rng.random() < 0.4  # cell coordinates stored compactly as int16 vectors (vec3s)
        cty = "wp.vec3s" if small else "wp.vec3i"
        ctx.update(cells=arr(kb, cty, 1, "cells", "coords", "voxels"), small=small,
                   other=arr(kb, cty, 1, "targets", "anchors") if rng.random() < 0.5 else None,
                   dims=kb.const(Ty("vec", "int32", 3), None) if rng.random() < 0.5 else None,
                   tile=kb.const(I32, str(rng.choice((2, 4, 8)))),
                   off=rng.choice(("+ 1", "- 1", "+ 2", "+ 3")),
                   res=None if rng.random() < 0.5 else kb.scalar_param(I32, kb.names._fresh("res")),
                   metric=rng.choice(("l1", "linf")),
                   lin=arr(kb, I32, 1, "linear", "flat_idx", "cell_id"),
                   dist_t=rng.choice(("int16", "int32", "uint16")), wrap=rng.choice(("mod", "op")))
        ctx["dist"] = arr(kb, scalar(ctx["dist_t"]), 1, "dist", "manhattan") if rng.random() < 0.6 else None
        ctx["tiles"] = arr(kb, cty, 1, "tile_of", "blocks") if rng.random() < 0.5 else None
        if rng.random() < 0.4:  # a periodic gather of a float field through the wrapped linear index
            fdt = rng.choice(("float32", "float64"))
            ctx["field"] = arr(kb, scalar(fdt), 1, "field", "phi", "rho")
            ctx["gathered"] = arr(kb, scalar(fdt), 1, "sampled", "dst", "out")
            ctx["gscale"] = lit(fdt, rng.choice(("0.5", "2.0", "0.25")))
        if ctx["dims"] is not None:  # a module constant vec3i: all components positive
            c = next(c for c in kb.parts.consts if c["name"] == ctx["dims"])
            dims = ", ".join(str(rng.choice((8, 16, 32, 64))) for _ in range(3))
            c["value"] = f"wp.constant(wp.vec3i({dims}))"
        params = {"dims": ctx["dims"] is not None, "int16": small}
    ctx["idx"] = kb.tid(ctx.get("ndim", 1))
    ctx["v"] = {role: kb.names._fresh(rng.choice(cands)) for role, cands in _ROLES.items()}
    return variant, ctx, {"variant": variant, **params}
