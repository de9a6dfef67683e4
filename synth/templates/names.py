"""Identifier vocabularies for template kernels, so names never give the generator away."""

from __future__ import annotations

import random

_VERBS = (
    "compute", "apply", "update", "scale", "accumulate", "blend", "integrate", "advect", "relax",
    "project", "filter", "smooth", "transform", "reduce", "gather", "scatter", "normalize", "clip",
    "solve", "step", "evaluate", "bend", "mix", "shade", "sample", "bin", "count", "sum", "rotate",
    "deform", "diffuse", "damp", "resolve", "splat", "remap", "fold", "sweep", "propagate", "fill",
)
_NOUNS = (
    "field", "forces", "particles", "grid", "weights", "velocity", "pressure", "density", "heat",
    "springs", "bodies", "points", "samples", "signal", "image", "voxels", "mesh", "rays", "energy",
    "charges", "cells", "flux", "phase", "mass", "strain", "stress", "contacts", "frames", "poses",
    "histogram", "scores", "values", "buffer", "tiles", "rows", "lanes", "noise", "terrain", "waves",
)
_SUFFIXES = ("", "", "", "_kernel", "_pass", "_step", "_op", "_fn", "2", "_v2", "_fwd", "_impl")
_FUNC_VERBS = ("evaluate", "calc", "get", "apply", "make", "blend", "shape", "weight", "kernel", "response",
               "falloff", "ramp", "curve", "limit", "bias", "bend", "activate", "profile", "penalty")
_ARRAYS = (
    "src", "dst", "inp", "out", "data", "values", "buf", "field", "grid", "points", "xs", "ys",
    "result", "accum", "hist", "counts", "sums", "pos", "vel", "force", "mass", "heat", "rho", "phi",
    "coords", "samples", "weights", "targets", "lhs", "rhs", "a", "b", "c", "u", "v", "w", "q", "cells",
    "table", "keys", "bins", "scratch", "signal", "img", "vox", "poses", "frames", "rot", "xf", "normals",
)
_LOCALS = (
    "acc", "val", "tmp", "coef", "k", "off", "wt", "delta", "ratio", "gain", "bias", "m", "vel",
    "p", "f", "dist", "e", "ph", "ang", "rate", "theta", "alpha", "beta", "gamma", "sigma", "mu",
    "eps", "lo", "hi", "left", "right", "prev", "nxt", "cur", "score", "total", "part", "base", "nrm",
    "d", "axis", "r", "t", "s", "x", "y", "z", "h", "g", "res", "tmp2", "fac", "mix", "amp", "lam",
    "px", "py", "dx", "dy", "c0", "c1", "u0", "v0", "term", "step_", "run", "peak", "floor_", "ofs",
)
_CONSTS = (
    "SCALE", "GAIN", "EPS", "DAMPING", "STIFFNESS", "LIMIT", "THRESH", "ALPHA", "BETA", "OFFSET",
    "RATE", "NSTEPS", "ITERS", "WIDTH", "RADIUS", "CUTOFF", "BIAS", "FACTOR", "MAXV", "MINV", "TAU",
    "KAPPA", "SIGMA", "COUNT", "BLOCK", "STRIDE", "LEVELS", "MASK", "SHIFT", "HALF",
)
_STRUCTS = ("Params", "State", "Body", "Particle", "Config", "Material", "Spring", "Cell", "Sample",
            "Frame", "Coeffs", "Settings", "Contact", "Ray", "Light", "Bounds")
_FIELDS = ("k", "damping", "scale", "offset", "gain", "pos", "vel", "rot", "mass", "radius", "count",
           "axis", "origin", "weight", "bias", "lo", "hi", "level", "mode", "xf", "m", "n", "dirn")
_INDEX = (("i", "j", "k", "l"), ("x", "y", "z", "w"), ("row", "col", "dep", "lay"), ("tid", "j", "k", "l"),
          ("i0", "i1", "i2", "i3"), ("ix", "iy", "iz", "iw"))
_LOOPVARS = ("n", "s", "it", "q", "t", "kk", "jj", "m", "step", "r", "c", "idx", "h", "pass_")


class Namer:
    """Hands out fresh identifiers from the vocabularies, never repeating one in a module."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.taken: set[str] = {"wp", "math", "float", "int", "range", "bool", "len", "min", "max", "abs"}

    def _fresh(self, base: str) -> str:
        name = base
        n = 1
        while name in self.taken:
            n += 1
            name = f"{base}{n}"
        self.taken.add(name)
        return name

    def reserve(self, name: str) -> str:
        self.taken.add(name)
        return name

    def kernel(self) -> str:
        r = self.rng
        return self._fresh(f"{r.choice(_VERBS)}_{r.choice(_NOUNS)}{r.choice(_SUFFIXES)}")

    def func(self) -> str:
        r = self.rng
        return self._fresh(f"{r.choice(_FUNC_VERBS)}_{r.choice(_NOUNS)}" if r.random() < 0.6
                           else r.choice(_FUNC_VERBS))

    def array(self) -> str:
        return self._fresh(self.rng.choice(_ARRAYS))

    def local(self) -> str:
        return self._fresh(self.rng.choice(_LOCALS))

    def const(self) -> str:
        return self._fresh(self.rng.choice(_CONSTS))

    def struct(self) -> str:
        return self._fresh(self.rng.choice(_STRUCTS))

    def field(self, taken: list[str]) -> str:
        for _ in range(20):
            f = self.rng.choice(_FIELDS)
            if f not in taken:
                return f
        return f"f{len(taken)}"

    def loopvar(self) -> str:
        return self._fresh(self.rng.choice(_LOOPVARS))

    def indices(self, ndim: int) -> list[str]:
        names = list(self.rng.choice(_INDEX)[:ndim])
        return [self._fresh(n) for n in names]
