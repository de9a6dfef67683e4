"""Kernel-building state shared by the template families: parameters, helpers, statements.

A ``KernelBuilder`` collects what a module template renders (constants, structs, ``@wp.func``
helpers, kernel parameters, the ``wp.tid()`` line) and generates statement blocks as text that
the Jinja templates indent into place.
"""

from __future__ import annotations

import random
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from warp_synth.synth.templates.exprgen import ExprGen, paren
from warp_synth.synth.templates.names import Namer
from warp_synth.synth.templates.types import (
    BOOL,
    I32,
    FuncSig,
    Scope,
    Ty,
    annotation,
    literal,
    scalar,
    vec,
)

IND = "    "


def indent(lines: Sequence[str], levels: int = 1) -> list[str]:
    return [IND * levels + ln for ln in lines]


_BARE_LITERAL = re.compile(r"^-?\(?-?[0-9][0-9.e+-]*\)?$|^True$|^False$")


def dynamic(ty: Ty, expr: str) -> str:
    """``expr`` made a dynamic value: Warp rejects mutating a name bound to a bare literal in a loop."""
    if ty.kind == "scalar" and _BARE_LITERAL.match(expr):
        return f"{ty.name}({expr})"
    return expr


@dataclass(slots=True)
class ModuleParts:
    """What ``prompts/kernels/_module.j2`` renders around a kernel body."""

    consts: list[dict[str, str]] = field(default_factory=list)
    structs: list[dict[str, Any]] = field(default_factory=list)
    funcs: list[dict[str, Any]] = field(default_factory=list)
    kparams: list[str] = field(default_factory=list)


class KernelBuilder:
    def __init__(self, rng: random.Random, palette: Sequence[str] = ExprGen.ALL) -> None:
        self.rng = rng
        self.last_bound_const = False
        self.names = Namer(rng)
        self.scope = Scope()
        self.gen = ExprGen(rng, self.scope, palette)
        self.parts = ModuleParts()
        self.kname = self.names.kernel()
        self.idx: list[str] = []
        self.tid_line = ""
        self.params: dict[str, Any] = {}
        # set while generating a loop body: updates there stay linear in the loop-carried values
        # (no products of an accumulator with itself, which overflow over many iterations)
        self.in_loop = False

    # -- sampled parameters ---------------------------------------------------------------
    def pick_dtype(self, *, floats_only: bool = False, ints_only: bool = False) -> str:
        if ints_only:
            return self.rng.choices(("int32", "int64"), weights=(3, 1))[0]
        if floats_only:
            return self.rng.choices(("float32", "float64", "float16"), weights=(6, 2.5, 1.5))[0]
        return self.rng.choices(("float32", "float64", "float16", "int32", "int64"),
                                weights=(5, 2, 1.2, 2, 1))[0]

    def pick_ndim(self) -> int:
        return self.rng.choices((1, 2, 3, 4), weights=(5, 3, 1.5, 0.6))[0]

    # -- module pieces ----------------------------------------------------------------------
    def tid(self, ndim: int) -> list[str]:
        self.idx = self.names.indices(ndim)
        self.tid_line = f"{', '.join(self.idx)} = wp.tid()"
        for n in self.idx:
            self.scope.add(n, I32, readonly=True)
        return self.idx

    def array(self, ty: Ty, ndim: int, name: str | None = None) -> str:
        name = name or self.names.array()
        t = annotation(ty, self.rng)
        if ndim == 1:
            ann = f"wp.array(dtype={t})"
        elif self.rng.random() < 0.6:
            ann = f"wp.array{ndim}d(dtype={t})"
        else:
            ann = f"wp.array(dtype={t}, ndim={ndim})"
        self.parts.kparams.append(f"{name}: {ann}")
        return name

    def at(self, arr: str, idx: Sequence[str] | None = None) -> str:
        return f"{arr}[{', '.join(idx if idx is not None else self.idx)}]"

    def scalar_param(self, ty: Ty, name: str | None = None) -> str:
        name = name or self.names.local()
        self.parts.kparams.append(f"{name}: {annotation(ty, self.rng)}")
        self.scope.add(name, ty, readonly=True)
        return name

    def struct_param(self, sname: str, fields: Sequence[tuple[str, Ty]]) -> str:
        """A kernel parameter of struct type ``sname``; its fields join the scope read-only."""
        name = self.names._fresh(self.rng.choice(("params", "cfg", "coeffs", "p", "props", "settings")))
        self.parts.kparams.append(f"{name}: {sname}")
        for f, t in fields:
            self.scope.add(f"{name}.{f}", t, readonly=True)
        return name

    def const(self, ty: Ty, value: str | None = None) -> str:
        name = self.names.const()
        value = value if value is not None else literal(ty, self.rng)
        if ty.kind == "vec":
            value = f"{ty.name}({', '.join(literal(ty.scalar(), self.rng) for _ in range(ty.n))})"
        plain = ty in (scalar("float32"), I32) and self.rng.random() < 0.3
        self.parts.consts.append({"name": name, "value": value if plain else f"wp.constant({value})"})
        self.scope.add(name, ty, readonly=True)
        return name

    def struct(self, field_tys: Sequence[Ty]) -> tuple[str, list[tuple[str, Ty]]]:
        name = self.names.struct()
        fields: list[tuple[str, Ty]] = []
        for ty in field_tys:
            fields.append((self.names.field([f for f, _ in fields]), ty))
        self.parts.structs.append({"name": name, "fields": [{"name": f, "type": t.name} for f, t in fields]})
        return name, fields

    def func(self, ret: Ty, params: Sequence[Ty], *, depth: int = 2, palette: Sequence[str] | None = None,
             stmts: int | None = None) -> FuncSig:
        """Define a ``@wp.func`` computing a random expression of ``params``; return its signature."""
        name = self.names.func()
        scope = Scope(funcs=list(self.scope.funcs))
        pnames = []
        for ty in params:
            pn = self.names.local()
            scope.add(pn, ty)
            pnames.append(f"{pn}: {annotation(ty, self.rng)}")
        for c, t in self.scope.vars:
            if c.isupper():
                scope.add(c, t, readonly=True)
        gen = ExprGen(self.rng, scope, palette or self.gen.palette)
        body: list[str] = []
        n = stmts if stmts is not None else self.rng.choice((0, 1, 1, 2))
        for _ in range(n):
            t = self.rng.choice([*params, ret])
            loc = self.names.local()
            body.append(f"{loc} = {gen.expr(t, depth)}")
            scope.add(loc, t)
        if self.rng.random() < 0.25 and ret.kind == "scalar":
            c = gen.cond(1)
            body += [f"if {c}:", f"{IND}return {gen.expr(ret, depth - 1)}"]
        e = gen.expr(ret, depth)
        same = [pn.split(":")[0] for pn, t in zip(pnames, params, strict=True) if t == ret]
        if same and not any(re.search(rf"\b{re.escape(n)}\b", ln) for n in same for ln in [*body, e]):
            e = f"{paren(e)} + {self.rng.choice(same)}"  # a helper that ignores its parameters is a constant
        body.append(f"return {e}")
        self.gen.used += gen.used
        self.parts.funcs.append({"name": name, "params": pnames, "ret": annotation(ret, self.rng),
                                 "body": "\n".join(body)})
        sig = FuncSig(name, list(params), ret)
        self.scope.funcs.append(sig)
        return sig

    # -- statements -------------------------------------------------------------------------
    def local(self, ty: Ty, expr: str | None = None, depth: int = 2) -> tuple[str, str]:
        """A new local of ``ty`` (added to scope) and its defining line."""
        name = self.names.local()
        e = dynamic(ty, expr if expr is not None else self.gen.expr(ty, depth))
        self.scope.add(name, ty)
        return name, f"{name} = {e}"

    def zero(self, ty: Ty) -> str:
        """A typed zero/identity initialiser suitable for a loop-carried variable."""
        if ty.kind == "scalar":
            z = "0.0" if ty.is_float else "0"
            if ty.dtype == "float32" and self.rng.random() < 0.5:
                return f"float({z})"
            if ty.dtype == "int32" and self.rng.random() < 0.5:
                return f"int({z})"
            return f"{ty.name}({z})"
        if ty.kind == "mat" and self.rng.random() < 0.5:
            return self.gen._wp("identity", f"n={ty.n}", f"dtype=wp.{ty.dtype}")
        if ty.kind == "quat":
            return self.gen._wp("quat_identity", f"dtype=wp.{ty.dtype}")
        if ty.kind == "transform":
            return self.gen._wp("transform_identity", f"dtype=wp.{ty.dtype}")
        if ty.kind == "vec" and ty.n > 4:
            return f"wp.vector(length={ty.n}, dtype=wp.{ty.dtype})"
        return f"{ty.name}()"

    def update(self, name: str, ty: Ty, depth: int = 2) -> str:
        """A line that changes ``name`` keeping its type."""
        g, r = self.gen, self.rng.random()
        if ty.kind in ("quat", "transform"):
            return f"{name} = {paren(g.expr(ty, depth - 1))} * {name}"
        if ty.kind == "mat":
            return f"{name} = {name} + {paren(g.expr(ty, depth - 1))}"
        if ty.kind == "vec":
            if r < 0.2:
                k = self.rng.randrange(ty.n)
                return f"{name}[{k}] = {g.expr(ty.scalar(), depth)}"
            op = self.rng.choice(("+=", "-=", "="))
            if op == "=":
                return f"{name} = {dynamic(ty, g.expr(ty, depth))}"
            return f"{name} {op} {g.expr(ty, depth)}"
        if ty.kind == "bool":
            return f"{name} = {g.cond(1)}"
        ops = ["+=", "-=", "*=", "="] if ty.is_float else ["+=", "-=", "^=", "=", "|="]
        if self.in_loop and ty.is_float:
            ops = ["+=", "-=", "=", "+="]
        op = self.rng.choice(ops)
        if op == "=" and r < 0.5:
            bop = self.rng.choice(("+", "-", "*") if ty.is_float and not self.in_loop else
                                  ("+", "-") if ty.is_float else ("+", "-", "&", "*"))
            return f"{name} = {name} {bop} {paren(g.expr(ty, depth))}"
        e = g.expr(ty, depth)
        return f"{name} {op} {dynamic(ty, e) if op == '=' else e}"

    def updates(self, targets: Sequence[tuple[str, Ty]], n: int, depth: int = 2,
                temps: float = 0.3) -> list[str]:
        """``n`` statements: updates of ``targets`` interleaved with fresh temporaries."""
        mark = self.scope.mark()
        hidden: list[tuple[int, tuple[str, Ty]]] = []
        if self.in_loop:  # loop-carried values are read only by their own update (``acc += e``)
            names = [nm for nm, _ in targets]
            hidden = [(k, v) for k, v in enumerate(self.scope.vars) if v[0] in names]
            self.scope.vars = [v for v in self.scope.vars if v[0] not in names]
            mark -= len(hidden)
        out: list[str] = []
        for k in range(n):
            if self.rng.random() < temps and k < n - 1:
                ty = self.rng.choice([t for _, t in targets])
                _, line = self.local(ty, depth=depth)
                out.append(line)
            else:
                name, ty = self.rng.choice(list(targets))
                out.append(self.update(name, ty, depth))
        self.scope.pop_to(mark)
        for k, v in hidden:
            self.scope.vars.insert(k, v)
        return out

    def if_chain(self, targets: Sequence[tuple[str, Ty]], branches: int, *, final_else: bool, depth: int = 2,
                 body_len: tuple[int, int] = (1, 3), cond_dtype: str | None = None) -> list[str]:
        out: list[str] = []
        for b in range(branches):
            kw = "if" if b == 0 else "elif"
            out.append(f"{kw} {self.gen.cond(1, cond_dtype)}:")
            out += indent(self.updates(targets, self.rng.randint(*body_len), depth))
        if final_else:
            out.append("else:")
            out += indent(self.updates(targets, self.rng.randint(*body_len), depth))
        return out

    def for_loop(self, bound: str, body: Sequence[str] | None = None, *, loopvar: str | None = None,
                 start: str | None = None, stride: str | None = None) -> tuple[str, str]:
        """The header of a ``for`` loop over ``range``; returns (header, loop variable)."""
        v = loopvar or self.names.loopvar()
        if start is None and stride is None:
            rng_args = bound
        elif stride is None:
            rng_args = f"{start}, {bound}"
        else:
            rng_args = f"{start or '0'}, {bound}, {stride}"
        return f"for {v} in range({rng_args}):", v

    def int_bound(self, allow_const: bool = True) -> str:
        """A loop bound: a literal, a module constant or an ``int`` kernel parameter.

        Warp unrolls ``range(C)`` with a constant ``C`` (up to 16), so nested loops get at most
        one constant bound (``allow_const=False`` for the others) to keep the generated code small.
        """
        r = self.rng.random() if allow_const else 1.0
        self.last_bound_const = r < 0.65
        if r < 0.35:
            return str(self.rng.choice((2, 3, 4, 5, 6, 8, 10, 12, 16, 24, 32)))
        if r < 0.65:
            return self.const(I32, str(self.rng.choice((2, 3, 4, 6, 8, 16, 32, 64))))
        return self.scalar_param(I32, self.names._fresh(self.rng.choice(("n", "count", "steps", "iters", "m"))))

    def flag_param(self) -> str:
        return self.scalar_param(BOOL, self.names._fresh(self.rng.choice(("flag", "enabled", "use_mask", "mode_on"))))

    def vec_ty(self, dtype: str, *, allow_long: bool = True) -> Ty:
        if allow_long and dtype in ("float32", "float64") and self.rng.random() < 0.1:
            return vec(self.rng.choice((5, 6, 8)), dtype)
        return vec(self.rng.choice((2, 3, 3, 4)), dtype)

    def context(self, **extra: Any) -> dict[str, Any]:
        return {"consts": self.parts.consts, "structs": self.parts.structs, "funcs": self.parts.funcs,
                "kname": self.kname, "kparams": self.parts.kparams, "tid": self.tid_line, **extra}
