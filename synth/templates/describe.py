"""Plain-English descriptions of template kernels, from what the family sampled.

``describe(category, variant, ctx, params, kb, source)`` is one lead sentence written from the
family's own choices (the variant, the context it rendered, its parameters) followed by the facts
sentence of ``facts.io_sentence`` (arrays read and written, value parameters, builtins), read from
the rendered source.  Nothing here draws from the builder's RNG: a description never changes the
kernel it describes.  The ten expression-generator families are described here, the four domain
families (spatial, linalg, random, bitwise) in ``describe_domain``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from warp_synth.synth.templates import describe_domain
from warp_synth.synth.templates.facts import Facts, facts, io_sentence, type_text
from warp_synth.synth.templates.kernel import KernelBuilder

Ctx = dict[str, Any]


def q(code: str, limit: int = 64) -> str:
    """``code`` quoted when short enough to read inline, else a plain placeholder."""
    code = code.strip().rstrip(":")
    return f"`{code}`" if len(code) <= limit else "a compound condition"


def and_(items: list[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return f"{', '.join(items[:-1])} and {items[-1]}"


def a_(word: str) -> str:
    return f"{'an' if word[:1] in 'aeiou' else 'a'} {word}"


def lhs(line: str) -> str:
    return line.split(" = ", 1)[0].strip()


def base(expr: str) -> str:
    return expr.split("[", 1)[0].strip()


def consts(kb: KernelBuilder) -> list[str]:
    return [c["name"] for c in kb.parts.consts]


def bound_text(kb: KernelBuilder, bound: str) -> str:
    if bound.isdigit():
        return f"{bound} iterations"
    if bound in consts(kb):
        return f"`{bound}` iterations, `{bound}` being a module constant"
    return f"`{bound}` iterations, `{bound}` being an int parameter"


def helpers_text(f: Facts, kb: KernelBuilder) -> str:
    names = [fn["name"] for fn in kb.parts.funcs]
    if not names:
        return ""
    called = [n for n in names if n in f.helpers]
    s = "s" if len(names) > 1 else ""
    if called:
        return f", calling the @wp.func helper{'s' if len(called) > 1 else ''} {and_([f'`{n}`' for n in called])}"
    return f" (the module also defines the @wp.func helper{s} {and_([f'`{n}`' for n in names])}, not called by the kernel)"


def branches_in(lines: list[str]) -> tuple[int, bool]:
    """(if/elif branches, has a final else) of a chain's top-level lines."""
    heads = [ln for ln in lines if not ln.startswith(" ")]
    return sum(ln.startswith(("if ", "elif ")) for ln in heads), any(ln.startswith("else") for ln in heads)


# ----------------------------------------------------------------------------- families


def _arithmetic(v: str, c: Ctx, p: Ctx, kb: KernelBuilder, f: Facts) -> str:
    t, nd = type_text(p["type"]), p["ndim"]
    if v == "inplace":
        arrs = list(dict.fromkeys(base(d) for d, _, _ in c["inplace"]))
        ops = list(dict.fromkeys(op for _, op, _ in c["inplace"]))
        return (f"An in-place element-wise arithmetic kernel over {nd}-D {t} arrays: each thread rewrites its "
                f"element of {and_([f'`{a}`' for a in arrs])} with {and_([f'`{o}`' for o in ops])} and an "
                f"arithmetic expression of the arrays' elements.")
    lead = f"An element-wise arithmetic kernel over {nd}-D {t} arrays: each thread loads its element of each input"
    if v == "struct_coeffs":
        lead += f", reads the coefficient `{c['coef']}` from field `{c['coef_field']}` of the @wp.struct " \
                f"parameter `{c['struct_arg']}`"
    if c["temps"]:
        n = len(c["temps"])
        lead += f", computes {'a chain of ' if v == 'chain' else ''}{n} temporar{'ies' if n > 1 else 'y'}"
    lead += helpers_text(f, kb)
    outs = [f"`{base(d)}`" for d, _ in c["stores"]]
    return lead + f" and stores arithmetic combinations of the loaded values into {and_(outs)}."


def _conditional(v: str, c: Ctx, p: Ctx, kb: KernelBuilder, f: Facts) -> str:
    t, nd = type_text(p["type"]), p["ndim"]
    lead = f"A conditional {nd}-D kernel over {t} values: each thread loads its elements"
    if v == "where":
        lead += f" and selects `{c['result']}` with wp.where on {q(c['cond'])} between two expressions"
        if c["extra"]:
            lead += f", then updates it again when {q(c['cond2'])}"
        return lead + helpers_text(f, kb) + ", and stores the result."
    acc = lhs(c["pre"][0])
    if v == "guard":
        lead += f", returns early when {q(c['guard'])}, and otherwise"
    else:
        lead += ","
    if v == "nested_if":
        inner = " (with an inner else)" if c["inner_else"] else ""
        body = (f"updates the local `{acc}` in nested branches: `if` {q(c['cond'])}, then `if` {q(c['cond2'])}"
                f"{inner}, and an outer else")
    elif v == "flag":
        body = f"updates the local `{acc}` one way when {q(c['flag'])} holds and another way when it does not"
    elif v == "if_only":
        body = f"updates the local `{acc}` only when {q(c['cond'])}"
    else:
        body = f"updates the local `{acc}` one way when {q(c['cond'])} and another way otherwise"
    return f"{lead} {body}{helpers_text(f, kb)}, then stores a result derived from it."


def _loop(v: str, c: Ctx, p: Ctx, kb: KernelBuilder, f: Facts) -> str:
    t, nd = type_text(p["type"]), p["ndim"]
    accs = [lhs(ln) for ln in c["pre"] if not ln.endswith("int(0)") or v != "while"]
    acc_text = and_([f"`{a}`" for a in accs])
    header = q(c["header"])
    out = f"`{base(c['stores'][0][0])}`"
    bound = bound_text(kb, c["bound"])
    if v == "row_reduce":
        return (f"A row-reduction kernel over {t} values: each thread runs {header} over its row of the array "
                f"`{c['src']}`, accumulating its elements into {acc_text}{helpers_text(f, kb)}, and stores the "
                f"result into {out}.")
    lead = f"A loop kernel over {nd}-D {t} arrays: each thread loads its elements and runs {header}"
    if v == "while":
        lead += f" (a counted while loop of up to {bound})"
        if any(ln.startswith("if ") for ln in c["body"]):
            lead += " that sometimes steps its counter twice"
    elif v == "break_continue":
        k = next((i for i, ln in enumerate(c["body"]) if ln.startswith("if ")), None)
        if k is not None:
            lead += f", leaving the iteration early ({c['body'][k + 1].strip()}) when {q(c['body'][k][3:])}"
    elif v == "strided":
        lead += " (a strided range)"
    else:
        lead += f" ({bound})"
    return f"{lead}, accumulating into {acc_text}{helpers_text(f, kb)}, and stores the result into {out}."


def _math(v: str, c: Ctx, p: Ctx, kb: KernelBuilder, f: Facts) -> str:
    if v == "tile_map":
        lead = (f"A tile math kernel over {p['dtype']} values: each block loads row `{c['row']}` of `{c['src']}` as a "
                f"tile of `{c['tile']}` elements, applies the @wp.func `{c['fn']}` to it with wp.tile_map")
        if c["second"]:
            lead += f", then wp.{c['second']}"
        lead += f", and stores the tile into row `{c['row']}` of `{c['dst']}`"
        if c["reduce"]:
            lead += f"; the tile's wp.{c['reduce']} goes to `{c['red_out']}`"
        return lead + "."
    lead = f"A floating-point math kernel over {p['ndim']}-D {p['dtype']} arrays: each thread loads its elements"
    if v == "horner":
        x = lhs(c["loads"][0])
        acc = lhs(c["temps"][0])
        deg = sum(1 for ln in c["temps"] if ln.startswith(f"{acc} = {acc} * "))
        cs = [ln.rsplit(" + ", 1)[-1] for ln in c["temps"][1:deg + 1]]
        lead += (f", evaluates a degree-{deg} polynomial in `{x}` by Horner's rule with the wp.constant "
                 f"coefficients `{c['temps'][0].split(' = ')[1]}`, {and_([f'`{k}`' for k in cs])}")
    elif v == "random":
        init = c["temps"][0]
        seed = init.split("wp.rand_init(", 1)[1].split(",", 1)[0]
        lead += (f", draws random numbers from a wp.rand_init state `{lhs(init)}` seeded by `{seed}` and the thread "
                 f"index")
    else:
        n = len(c["temps"])
        lead += f", computes {n} temporar{'ies' if n > 1 else 'y'} with math builtins" if n else ""
    lead += helpers_text(f, kb)
    outs = [f"`{base(d)}`" for d, _ in c["stores"]]
    return f"{lead} and stores math expressions of these values into {and_(outs)}."


def _vector(v: str, c: Ctx, p: Ctx, kb: KernelBuilder, f: Facts) -> str:
    tys = [type_text(t) for t in p["types"]]
    nd = p["ndim"]
    loads = [f"`{lhs(ln)}`" for ln in c["loads"]]
    if v == "vec_ops":
        what = f"two {tys[0]} vectors and {a_(tys[-1])} scalar"
    elif v == "components":
        what = f"three {tys[0]} scalars"
    elif v == "struct_body":
        what = f"a {tys[0]} vector and a @wp.struct element (vector and scalar fields)"
    else:
        kind = {"mat_vec": ("matrix", "vector"), "quat_rot": ("quaternion", "vector"),
                "transform": ("transform", "point")}[v]
        what = f"{a_(tys[0])} {kind[0]} and {a_(tys[1])} {kind[1]}"
    lead = f"A {nd}-D {'vector' if v in ('vec_ops', 'components', 'struct_body') else 'linear-algebra'} kernel: " \
           f"each thread loads {what} into {and_(loads)}"
    if v == "components":
        lead += f", assembles them into the vec3 `{lhs(c['temps'][0])}`"
    outs = [f"`{base(d)}`" for d, _ in c["stores"]]
    kinds = {"mat_vec": "matrix-vector", "quat_rot": "quaternion-vector", "transform": "transform-point"}
    return f"{lead}{helpers_text(f, kb)} and stores {kinds.get(v, 'vector')} expressions of them into {and_(outs)}."


_ATOMIC = re.compile(r"wp\.atomic_(\w+)\((\w+), (.+?), ")


def _atomic(v: str, c: Ctx, p: Ctx, kb: KernelBuilder, f: Facts) -> str:
    if v == "tile_reduce":
        lead = (f"A tile-reduction kernel over {p['dtype']} values: each block loads row `{c['row']}` of `{c['src']}` "
                f"as a tile of `{c['tile']}` elements")
        if c["fn"]:
            lead += f", maps wp.{c['fn']} over it"
        if c["scale"]:
            lead += f", scales it by {c['scale']}"
        return lead + (f", reduces it with wp.{c['reduce']} and adds the result into `{c['dst']}` at offset "
                       f"`{c['offset']}` with wp.tile_atomic_add.")
    t, nd = type_text(p["type"]), p["ndim"]
    val = lhs(c["temps"][0])
    when = f" when {q(c['cond'])}" if c["cond"] else ""
    lead = f"An atomic {nd}-D kernel over {t} values: each thread computes `{val}` from its loaded elements"
    if v == "histogram":
        b = lhs(c["temps"][1])
        target = base(c["ops"][0].replace("wp.atomic_add(", "").split(",")[0])
        return (f"A histogram kernel over {nd}-D {t} values: each thread computes `{val}` from its elements, turns it "
                f"into a bin index `{b}` kept inside the bin range, and adds one to that bin of the int32 array "
                f"`{target}`{when}.")
    if v == "cas_exch":
        m = re.search(r"wp\.atomic_(cas|exch)\((\w+), ([^,]+),", c["ops"][0])
        assert m is not None
        what = "compare-and-swap (wp.atomic_cas)" if m.group(1) == "cas" else "exchange (wp.atomic_exch)"
        out = base(c["ops"][1].split(" = ")[0])
        return (f"{lead}, performs an atomic {what} on slot `{m.group(3)}` of `{m.group(2)}`{when} and stores the "
                f"old value it returns into `{out}`.")
    if v == "inplace":
        ups = [re.match(r"(\w+)\[(.+)\] ([+-]=)", op) for op in c["ops"]]
        ups = [u for u in ups if u]
        augs = list(dict.fromkeys(u.group(3) for u in ups))
        return (f"{lead} and updates slot `{ups[0].group(2)}` of `{ups[0].group(1)}` with "
                f"{and_([f'`{a}`' for a in augs])} (augmented assignment){when}.")
    ms = [m for m in (_ATOMIC.search(op) for op in c["ops"]) if m]
    ops = list(dict.fromkeys(f"wp.atomic_{m.group(1)}" for m in ms))
    target, slot = ms[0].group(2), ms[0].group(3)
    if v == "scatter":
        return (f"A scatter kernel over {t} values: each thread computes `{val}` from its loaded elements and applies "
                f"{and_(ops)} to `{target}` at the slot `{slot}` read from the index array `{base(slot)}`{when}.")
    kind = "vectors" if v == "vec_atomic" else "values"
    return f"{lead} and accumulates {kind} into slot `{slot}` of `{target}` with {and_(ops)}{when}."


def _nested(v: str, c: Ctx, p: Ctx, kb: KernelBuilder, f: Facts) -> str:
    if v == "tile_rows":
        mapped = "" if c["tmap"] == c["t"] else " (each mapped through wp.tile_map)"
        return (f"A tiled row-sum kernel over {p['dtype']} values: each block adds `{c['nt']}` consecutive tiles of "
                f"`{c['tile']}` elements from row `{c['row']}` of `{c['src']}`{mapped} into a wp.tile_zeros "
                f"accumulator and stores it into row `{c['row']}` of `{c['dst']}`.")
    if v == "matmul":
        prod = c["body"][1].split("+= ")[-1].split(" + ", 1)[-1]
        out = c["stores"][0][0]
        acc = lhs(c["pre"][0])
        how = f"`{acc}`" if c["stores"][0][1] == acc else f"an expression of `{acc}`"
        return (f"A blocked matrix-product kernel over 2-D {p['dtype']} arrays: each thread accumulates "
                f"`{prod}` into `{acc}` over two nested loops ({q(c['outer'])} blocks of {q(c['inner'])}) and "
                f"stores {how} into `{out}`.")
    t, nd = type_text(p["type"]), p["ndim"]
    loops = [c["outer"], *([c["middle"]] if v == "loop3" else []), c["inner"]]
    accs = and_([f"`{lhs(ln)}`" for ln in c["pre"]])
    lead = f"A nested-loop kernel over {nd}-D {t} arrays: each thread"
    if v == "if_loop":
        lead += f", when {q(c['cond'])},"
    lead += f" runs {' inside '.join(q(h) for h in reversed(loops))}, accumulating into {accs}"
    if v == "loop_if":
        n, has_else = branches_in(c["body"])
        lead += f" through an if/elif chain of {n} branch{'es' if n > 1 else ''}{' and an else' if has_else else ''}"
    if c["else_body"]:
        lead += " (when the condition fails it updates them without looping)"
    if any("% rows" in ln or ".shape[0]" in ln for ln in c["loads"]):
        lead += ", sampling a 2-D array at the loop indices wrapped by its shape"
    return f"{lead}{helpers_text(f, kb)}, and stores the result into `{base(c['stores'][0][0])}`."


def _multi_cond(v: str, c: Ctx, p: Ctx, kb: KernelBuilder, f: Facts) -> str:
    t, nd = type_text(p["type"]), p["ndim"]
    acc = lhs(c["pre"][0])
    lead = f"A multi-branch {nd}-D kernel over {t} values: each thread loads its elements and"
    if v == "buckets":
        thr = [cond.split()[-1] for cond, _ in c["branches"]]
        x = c["branches"][0][0].split()[0]
        return (f"{lead} buckets `{x}` against the increasing thresholds {and_([f'`{s}`' for s in thr])} "
                f"(an if/elif chain with a final else), each bucket updating `{acc}` its own way, then stores a "
                f"result derived from it into `{base(c['stores'][-1][0])}`.")
    n, has_else = branches_in(c["chain"])
    chain = f"an if/elif chain of {n} conditions{' plus a final else' if has_else else ''}"
    if v == "classify":
        code = base(c["stores"][0][0])
        return (f"{lead} classifies them with {chain}, writing the index of the branch taken to the int32 array "
                f"`{code}` and storing `{acc}` (updated in some branches) into `{base(c['stores'][1][0])}`.")
    if v == "in_loop":
        lead += f" runs {q(c['header'])}, where {chain} updates `{acc}`"
    elif v == "nested_elif":
        lead += f" updates `{acc}` through {chain}, one branch holding an inner if/elif/else chain"
    else:
        lead += f" updates `{acc}` through {chain}"
    return f"{lead}{helpers_text(f, kb)}, then stores a result derived from it into `{base(c['stores'][-1][0])}`."


def _combined(v: str, c: Ctx, p: Ctx, kb: KernelBuilder, f: Facts) -> str:
    if v == "tile_pipeline":
        second = f", then the two-argument helper `{c['second']}`" if c["second"] else ""
        return (f"A tile pipeline over {p['dtype']} values: each block loads row `{c['row']}` of `{c['src']}` as a "
                f"tile of `{c['tile']}` elements, maps the @wp.func `{c['fn']}` over it with wp.tile_map{second}, "
                f"stores the tile into row `{c['row']}` of `{c['dst']}` and adds its wp.{c['reduce']} into "
                f"`{c['total']}` with wp.tile_atomic_add.")
    t = type_text(p["type"])
    acc = lhs(c["pre"][0])
    lead = f"A combined kernel over 1-D {t} arrays: each thread loads its elements"
    if v == "particles":
        lead += f", reads a @wp.struct particle `{lhs(c['loads'][-1])}` (vec3 and scalar fields)"
    lead += f", runs {q(c['header'])} updating `{acc}`"
    if v == "random_walk":
        lead += f" with random draws from the state `{lhs(c['pre'][1])}`"
    if any(ln.startswith("if ") for ln in c["body"]):
        lead += " (partly under a branch)"
    lead += helpers_text(f, kb)
    if c["cond"]:
        m = re.match(r"wp\.atomic_(\w+)\((\w+),", c["then_body"][0])
        out = base(c["else_body"][0].split(" = ")[0])
        assert m is not None
        return (f"{lead}, then, when {q(c['cond'])}, applies wp.atomic_{m.group(1)} of the result to slot 0 of "
                f"`{m.group(2)}`, and otherwise stores it into `{out}`.")
    return f"{lead}, and stores a result derived from it into `{base(c['post'][0].split(' = ')[0])}`."


def _scalar_param(v: str, c: Ctx, p: Ctx, kb: KernelBuilder, f: Facts) -> str:
    t, nd = type_text(p["type"]), p["ndim"]
    acc = lhs(c["temps"][0])
    lead = f"A {nd}-D kernel over {t} values driven by its value parameters: each thread computes `{acc}` from its "
    lead += "loaded elements and the parameters"
    if v == "bound":
        lead += f", updates it inside {q(c['header'])} ({bound_text(kb, c['header'].split('range(')[1][:-2])})"
    elif v == "flag":
        lead += f", updates it when {q(c['flag'])}"
        lead += " and another way otherwise" if c["else_body"] else ""
    elif len(c["temps"]) > 1:
        lead += f", updates it {len(c['temps']) - 1} more time{'s' if len(c['temps']) > 2 else ''}"
    if v in ("struct_param", "mixed"):
        lead += ", reading fields of a @wp.struct parameter"
    return f"{lead}{helpers_text(f, kb)}, and stores a result into `{base(c['stores'][0][0])}`."


_LEADS: dict[str, Callable[[str, Ctx, Ctx, KernelBuilder, Facts], str]] = {
    "arithmetic": _arithmetic, "conditional": _conditional, "loop": _loop, "math": _math, "vector": _vector,
    "atomic": _atomic, "nested": _nested, "multi_cond": _multi_cond, "combined": _combined,
    "scalar_param": _scalar_param, **describe_domain.LEADS,
}


def describe(category: str, variant: str, ctx: Ctx, params: Ctx, kb: KernelBuilder, source: str) -> str:
    """The description of a template kernel: a lead sentence and the facts sentence (1-2 sentences)."""
    f = facts(source)
    try:
        lead = _LEADS[category](variant, ctx, params, kb, f)
    except (KeyError, IndexError, AttributeError, TypeError, ValueError, AssertionError):
        # a sample shape the lead does not know: say only what is sure (tests flag any use of this)
        lead = f"A {category.replace('_', ' ')} kernel (template variant {variant})."
    return f"{lead} {io_sentence(f)}".strip()
