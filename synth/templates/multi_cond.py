"""Multi-condition family: kernels built around ``if``/``elif``/``else`` chains of three or more branches.

Variants: ``elif_chain``, ``nested_elif`` (one branch holds an inner chain), ``in_loop`` (the chain
inside a ``for`` loop), ``classify`` (each branch writes its index to an ``int32`` code array) and
``buckets`` (branches on sorted thresholds of the loaded value).
"""

from __future__ import annotations

from typing import Any

from warp_synth.synth.templates.base import Family, anchored, io, value_ty
from warp_synth.synth.templates.kernel import IND, KernelBuilder, indent
from warp_synth.synth.templates.types import I32, Ty, scalar


def family(kb: KernelBuilder) -> Family:
    kb.gen.palette = ("arith", "minmax", "math", "cast", "call", "where")
    variant = kb.rng.choice(("elif_chain", "classify", "in_loop", "nested_elif", "buckets"))
    dtype = kb.pick_dtype()
    ty = value_ty(kb, dtype, p_vec=0.1, p_mat=0.0)
    ndim = kb.pick_ndim()
    ctx: dict[str, Any] = {"variant": variant, "pre": [], "chain": [], "stores": []}
    res = io(kb, ty, kb.rng.choice((1, 2)), 1, ndim, out_ty=None)
    code_out = kb.array(I32, ndim) if variant == "classify" else None
    ctx["loads"] = res.loads
    if kb.rng.random() < 0.25:
        kb.func(ty, [ty], depth=2)
    acc, line = kb.local(ty, depth=1)
    ctx["pre"] = [line]
    targets = [(acc, ty)]
    if variant == "classify":
        code = kb.names.local()
        ctx["pre"].append(f"{code} = int(-1)")
        out = kb.if_chain(targets, kb.rng.randint(3, 6), final_else=True, cond_dtype=dtype, body_len=(0, 1))
        n = 0
        for k in range(len(out) - 1, -1, -1):
            if not out[k].startswith(IND):
                out.insert(k + 1, f"{IND}{code} = {sum(1 for ln in out[:k] if not ln.startswith(IND))}")
                n += 1
        ctx["chain"] = out
        ctx["stores"].append((kb.at(code_out), code))
    elif variant == "in_loop":
        header, lv = kb.for_loop(kb.int_bound())
        kb.scope.add(lv, I32, readonly=True)
        ctx["header"] = header
        kb.in_loop = True
        ctx["chain"] = _chain(kb, targets, "int32" if kb.rng.random() < 0.4 else dtype, False)
        kb.in_loop = False
    elif variant == "buckets":
        x = res.ins[0][1] if ty.kind == "scalar" else f"{res.ins[0][1]}[0]"
        thr = sorted(float(kb.rng.choice((0.1, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0)))
                     for _ in range(kb.rng.randint(2, 5)))
        cs = []
        s = scalar(dtype)
        for t in thr:
            val = f"{t}" if s.is_float else str(int(t) + 1)
            val = val if dtype in ("float32", "int32") else f"wp.{dtype}({val})"
            name = kb.const(s, val) if kb.rng.random() < 0.4 else val
            cs.append((f"{x} {kb.rng.choice(('<', '<='))} {name}", kb.updates(targets, kb.rng.randint(1, 2))))
        ctx["branches"] = cs
        ctx["else_body"] = kb.updates(targets, 1)
    else:
        ctx["chain"] = _chain(kb, targets, dtype, variant == "nested_elif")
    out = acc if kb.rng.random() < 0.7 else kb.gen.expr(ty, 1)
    ctx["stores"].append((kb.at(res.outs[0]), anchored(kb, ty, out, [x for _, x in res.ins])))
    return variant, ctx, {"dtype": dtype, "type": ty.name, "ndim": ndim}


def _chain(kb: KernelBuilder, targets: list[tuple[str, Ty]], dtype: str, nested_ok: bool) -> list[str]:
    out = kb.if_chain(targets, kb.rng.randint(3, 6), final_else=kb.rng.random() < 0.75, cond_dtype=dtype,
                      body_len=(1, 2))
    if nested_ok:
        # replace one branch body line with an inner chain
        pos = [k for k, ln in enumerate(out) if ln.startswith(IND)]
        k = kb.rng.choice(pos)
        inner = kb.if_chain(targets, kb.rng.randint(2, 3), final_else=True, cond_dtype=dtype, body_len=(1, 1))
        out[k:k + 1] = indent(inner)
    return out
