"""The type vocabulary of the template expression generator.

This module owns what the generator and the kernel builder say *about* values: ``Ty`` (a Warp
value type and its spelling), the dtype tuples, the ``scalar``/``vec``/``mat`` constructors and
the ``BOOL``/``I32`` constants, ``annotation`` and ``literal`` (how a type is written in a
signature and how a literal of it is written under Warp 1.19's rules: bare Python literals only
for ``float32``/``int32``, other dtypes wrap them in a constructor), ``FuncSig`` (a callable
``@wp.func``) and ``Scope`` (the typed names visible at a point of a kernel).

Random choices use the ``random.Random`` the caller passes and are made over tuples, so output
is a function of the seed. Expression generation itself lives in
``warp_synth.synth.templates.exprgen``.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

FLOATS: tuple[str, ...] = ("float16", "float32", "float64")
INTS: tuple[str, ...] = ("int32", "int64")
SCALARS: tuple[str, ...] = FLOATS + INTS

_VEC_SUFFIX = {"float32": "", "float64": "d", "float16": "h", "int32": "i", "int64": "l"}
_MAT_SUFFIX = {"float32": "", "float64": "d", "float16": "h"}


@dataclass(frozen=True, slots=True)
class Ty:
    """A Warp value type: ``kind`` in scalar/vec/mat/quat/transform/bool."""

    kind: str
    dtype: str = "float32"
    n: int = 1

    @property
    def is_float(self) -> bool:
        return self.dtype in FLOATS

    @property
    def name(self) -> str:
        """The Warp spelling of the type, usable as annotation and as constructor."""
        if self.kind == "bool":
            return "wp.bool"
        if self.kind == "scalar":
            return f"wp.{self.dtype}"
        if self.kind == "vec":
            if self.n > 4:
                return f"wp.types.vector(length={self.n}, dtype=wp.{self.dtype})"
            return f"wp.vec{self.n}{_VEC_SUFFIX[self.dtype]}"
        if self.kind == "mat":
            return f"wp.mat{self.n}{self.n}{_MAT_SUFFIX[self.dtype]}"
        if self.kind == "quat":
            return f"wp.quat{_MAT_SUFFIX[self.dtype]}"
        return f"wp.transform{_MAT_SUFFIX[self.dtype]}"

    def scalar(self) -> Ty:
        return Ty("scalar", self.dtype)


def scalar(dtype: str) -> Ty:
    return Ty("scalar", dtype)


def vec(n: int, dtype: str = "float32") -> Ty:
    return Ty("vec", dtype, n)


def mat(n: int, dtype: str = "float32") -> Ty:
    return Ty("mat", dtype, n)


BOOL = Ty("bool", "bool")
I32 = scalar("int32")


def annotation(ty: Ty, rng: random.Random) -> str:
    """A spelling of ``ty`` for a signature; float32/int32 sometimes use Python's names."""
    if ty == scalar("float32") and rng.random() < 0.4:
        return "float"
    if ty == I32 and rng.random() < 0.4:
        return "int"
    return ty.name


def literal(ty: Ty, rng: random.Random) -> str:
    """A literal of scalar type ``ty`` (wrapped in a constructor where Warp needs one)."""
    if ty.kind == "bool":
        return rng.choice(("True", "False"))
    if ty.is_float:
        text = rng.choice(("0.5", "1.0", "2.0", "0.25", "3.0", "1.5", "0.1", "10.0", "0.75", "4.0",
                           "0.01", "0.3", "5.0", "0.125", "2.5", "0.9", "1e-3", "100.0", "0.2", "7.0"))
        if ty.dtype == "float16" and text == "100.0":  # float16 overflows past 65504: keep its literals small
            text = "8.0"
        return text if ty.dtype == "float32" else f"wp.{ty.dtype}({text})"
    text = str(rng.choice((1, 2, 3, 4, 5, 7, 8, 10, 16, 31, 64, 255, 0, 6, 12)))
    return text if ty.dtype == "int32" else f"wp.{ty.dtype}({text})"


@dataclass(slots=True)
class FuncSig:
    """A ``@wp.func`` the generator may call."""

    name: str
    params: list[Ty]
    ret: Ty


@dataclass(slots=True)
class Scope:
    """Typed names visible at a point of the kernel, in definition order."""

    vars: list[tuple[str, Ty]] = field(default_factory=list)
    funcs: list[FuncSig] = field(default_factory=list)
    readonly: list[str] = field(default_factory=list)

    def add(self, name: str, ty: Ty, *, readonly: bool = False) -> None:
        self.vars.append((name, ty))
        if readonly:
            self.readonly.append(name)

    def of(self, ty: Ty) -> list[str]:
        return [n for n, t in self.vars if t == ty]

    def mutable_of(self, ty: Ty) -> list[str]:
        return [n for n, t in self.vars if t == ty and n not in self.readonly]

    def mark(self) -> int:
        return len(self.vars)

    def pop_to(self, mark: int) -> None:
        del self.vars[mark:]
