"""Loop family: kernels that accumulate one or two values over a ``for`` / ``while`` loop.

Variants: ``range_acc``, ``multi_acc`` (two accumulators), ``row_reduce`` (a thread reduces one row
of a 2-D/3-D source array), ``while`` (a counted ``while`` loop), ``break_continue`` (a conditional
``break``/``continue`` in the body) and ``strided`` (``range(start, bound, stride)``).  Bounds are
literals, constants or ``int`` parameters.
"""

from __future__ import annotations

from typing import Any

from warp_synth.synth.templates.base import Family, Io, anchored, io, value_ty
from warp_synth.synth.templates.kernel import IND, KernelBuilder
from warp_synth.synth.templates.types import I32, scalar


def family(kb: KernelBuilder) -> Family:
    kb.gen.palette = ("arith", "minmax", "math", "cast", "call", "linalg", "where")
    variant = kb.rng.choice(("range_acc", "row_reduce", "while", "break_continue", "strided", "multi_acc"))
    dtype = kb.pick_dtype()
    ty = value_ty(kb, dtype, p_vec=0.15, p_mat=0.04)
    ctx: dict[str, Any] = {"variant": variant, "pre": [], "post": []}
    ndim = kb.rng.choice((1, 1, 2, 3)) if variant != "row_reduce" else 1
    if variant == "row_reduce":
        src_nd = kb.rng.choice((2, 2, 3))
        src = kb.array(ty, src_nd)
        dst = kb.array(ty, 1)
        kb.tid(1)
        res = Io(outs=[dst])
        ctx["src"] = src
    else:
        res = io(kb, ty, kb.rng.choice((1, 2)), 1, ndim)
    if kb.rng.random() < 0.2:
        kb.func(ty, [ty, ty], depth=2)
    accs = [(kb.names.local(), ty)]
    if variant == "multi_acc" or kb.rng.random() < 0.3:
        accs.append((kb.names.local(), scalar(dtype) if ty.kind != "scalar" else value_ty(kb, dtype)))
    init = [f"{a} = {kb.zero(t) if kb.rng.random() < 0.6 else kb.gen.expr(t, 1)}" for a, t in accs]
    for a, t in accs:
        kb.scope.add(a, t)
    bound = kb.int_bound()
    ctx["bound"] = bound
    header, lv = kb.for_loop(bound)
    kb.scope.add(lv, I32, readonly=True)
    if dtype != "int32" and kb.rng.random() < 0.6:
        fv = kb.names.local()
        conv = "float" if dtype == "float32" and kb.rng.random() < 0.5 else f"wp.{dtype}"
        body_pre = [f"{fv} = {conv}({lv})"]
        kb.scope.add(fv, scalar(dtype))
    else:
        body_pre = []
    if variant == "row_reduce":
        ix = [kb.idx[0], lv] + [str(kb.rng.randrange(2)) for _ in range(src_nd - 2)]
        elem = kb.names.local()
        body_pre.append(f"{elem} = {kb.at(src, ix)}")
        kb.scope.add(elem, ty)
        # the row's length bounds the loop: a larger bound would index past the row
        header = (f"for {lv} in range({src}.shape[1]):" if kb.rng.random() < 0.5
                  else f"for {lv} in range(wp.min({bound}, {src}.shape[1])):")
    kb.in_loop = True
    body = kb.updates(accs, kb.rng.randint(1, 3))
    kb.in_loop = False
    if variant == "row_reduce" and f"{accs[0][0]} -= {elem}" not in body:  # one update reads the row
        body.append(f"{accs[0][0]} += {elem}")
    if variant == "while":
        cnt = lv
        ctx["pre"] = [*init, f"{cnt} = int(0)"]
        header = f"while {cnt} < {bound}:"
        body = [*body_pre, *body, f"{cnt} += 1"]
        if kb.rng.random() < 0.4:
            body.insert(len(body_pre), f"if {kb.gen.cond(1, dtype)}:")
            body.insert(len(body_pre) + 1, f"{IND}{cnt} += 1")
    elif variant == "break_continue":
        kw = kb.rng.choice(("break", "continue"))
        body = [*body_pre, f"if {kb.gen.cond(1, dtype)}:", f"{IND}{kw}", *body]
        ctx["pre"] = init
    elif variant == "strided":
        header, lv2 = kb.for_loop(bound, start=kb.rng.choice(("0", "1", kb.idx[0] + " % 2")),
                                  stride=kb.rng.choice(("2", "3", "4")), loopvar=lv)
        body = [*body_pre, *body]
        ctx["pre"] = init
    else:
        body = [*body_pre, *body]
        ctx["pre"] = init
    ctx["header"], ctx["body"] = header, body
    ctx["loads"] = res.loads
    out = accs[0][0] if kb.rng.random() < 0.6 else kb.gen.expr(ty, 1)
    deps = [x for _, x in res.ins] or [accs[0][0]]  # row_reduce: the accumulator sums the row
    ctx["stores"] = [(kb.at(res.outs[0]), anchored(kb, ty, out, deps))]
    return variant, ctx, {"dtype": dtype, "type": ty.name, "ndim": ndim, "bound": bound}
