"""Tiles family: block-cooperative kernels on ``wp.tile_*`` values, launched with ``wp.launch_tiled``.

Variants, in the shapes of Warp's tile examples and tests: ``softmax`` (a row's max, exponentials and
sum: ``tile_max``/``tile_reduce``, ``tile_broadcast``, ``tile_map``), ``layer_norm`` (row mean and
variance, LayerNorm or RMSNorm with gains), ``scan`` (``tile_scan_inclusive``/``_exclusive``/
``_max_inclusive``/``_min_inclusive`` of a row, optionally normalised to a CDF), ``compact`` (a
prefix-sum stream compaction: per-thread flags gathered with ``wp.tile``, ``tile_scan_exclusive``,
``wp.untile``), ``block_matrix`` (2-d blocks of a matrix: ``tile_transpose``, symmetrisation,
``tile_diag_add``), ``sort`` (``tile_sort`` of a row of keys with values), ``argmax``
(``tile_argmax``/``tile_argmin`` per row, ``tile_extract``), ``reduce`` (``tile_reduce`` with a
``@wp.func`` operator, whole-tile or along an axis), ``combine`` (``tile_map`` of a two-argument
``@wp.func``, ``tile_axpy``, ``tile_dot``), ``block_thread`` (``wp.tile``/``wp.untile``/
``tile_from_thread``: per-thread values shared by the block), ``gather`` (``tile_load_indexed``,
``tile_store_indexed``, ``tile_atomic_add_indexed``), ``histogram`` (``tile_scatter_add`` /
``tile_scatter_masked`` into a shared tile), ``stack`` (``tile_stack`` push/count/pop compaction,
optionally a partition: ``tile_stack_clear`` and a second push of the rest) and ``assemble`` (a tile built with ``tile_zeros``/``ones``/``full``/``arange``/``empty``,
``tile_assign``, ``tile_view``, ``tile_reshape``, ``tile_squeeze``).

The block size is a module option (``wp.set_module_options({"block_dim": B})``: the executor
launches the kernel with the module's ``block_dim``); the per-thread variants may read it back with
``wp.block_dim()`` where no tile shape needs a constant.  The MathDx variants (``tile_matmul``, the
Cholesky factorisation and solves, ``tile_fft``/``ifft``: seconds per kernel to build) live in
``tiles_linalg``.  Tiles are no wider than a row of the executor's arrays (16): wider ones would be
zero-padded.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from warp_synth.synth.jinja_env import render
from warp_synth.synth.templates import tiles_linalg as la
from warp_synth.synth.templates.base import TILE_FNS, Draws, Family
from warp_synth.synth.templates.kernel import KernelBuilder

VARIANTS = ("softmax", "layer_norm", "scan", "compact", "block_matrix", "sort", "argmax", "reduce", "combine",
            "block_thread", "gather", "histogram", "stack", "assemble", *la.VARIANTS)
THREAD_VARIANTS = ("compact", "block_thread", "histogram", "stack")  # per-thread values: lane < row width
_KERNELS = {
    "softmax": ("softmax", "row_softmax", "softmax_rows", "log_softmax", "attention_weights"),
    "layer_norm": ("layer_norm", "normalize_rows", "rms_norm", "row_norm"),
    "scan": ("prefix_sum", "row_scan", "cumsum", "running_max", "build_cdf"),
    "compact": ("compact", "stream_compact", "select_above", "filter_rows"),
    "block_matrix": ("transpose", "tiled_transpose", "symmetrize", "regularize", "block_copy"),
    "sort": ("sort_rows", "tile_sort_keys", "argsort_rows", "sort_pairs"),
    "argmax": ("row_argmax", "argmax_rows", "nearest_bin", "best_match", "classify"),
    "reduce": ("row_reduce", "reduce_rows", "column_reduce", "block_reduce"),
    "combine": ("blend_rows", "row_axpy", "combine_tiles", "row_dot"),
    "block_thread": ("block_normalize", "block_share", "center_block", "broadcast_pivot"),
    "gather": ("gather_rows", "permute_rows", "scatter_rows", "embedding_lookup"),
    "histogram": ("histogram", "bin_count", "block_histogram", "reverse_block"),
    "stack": ("compact_stack", "collect_active", "stack_filter", "push_selected"),
    "assemble": ("poly_features", "assemble_rows", "build_basis", "vandermonde"),
    **la.KERNELS,
}
LOCALS = ("i", "j", "lane", "t", "u", "m", "e", "s", "d", "v", "r", "k", "vals", "keys", "idx", "ind", "g", "h",
          "flags", "offs", "pos", "keep", "total", "mean", "var", "inv", "a", "b", "c", "tt", "buf", "row", "acc",
          "lin", "ones", "best", "am", "bin", "slot", "value", "stk", "n", "p", "q", "x0", "pivot", "sc", "cdf", "z",
          "last", "inv_n", "top", *la.LOCALS)
_OPS = {  # @wp.func reduction operators (associative, commutative)
    "max": "return wp.max(a, b)", "min": "return wp.min(a, b)", "add": "return a + b",
    "absmax": "return wp.max(wp.abs(a), wp.abs(b))", "hypot": "return wp.sqrt(a * a + b * b)",
}
_MAPS = {  # two-argument @wp.func for tile_map
    "lerp": "return a + (b - a) * {h}", "sqdiff": "d = a - b\nreturn d * d", "relu_sum": "return wp.max(a + b, {z})",
    "harmonic": "return {two} * a * b / (a + b)", "smoothmax": "return wp.log(wp.exp(a) + wp.exp(b))",
}


class _T(Draws):
    """A kernel's parameters (``a``: role -> name), sampled options (``o``) and type spellings."""

    def __init__(self, kb: KernelBuilder, dtype: str) -> None:
        self.kb, self.r, self.dtype, self.f32 = kb, kb.rng, dtype, dtype == "float32"
        kb.names.taken.update(LOCALS)
        self.s = kb.rng.choice(("float", "wp.float32")) if self.f32 else "wp.float64"
        self.dt = "float" if self.f32 else "wp.float64"  # the dtype= of tile constructors
        self.a: dict[str, Any] = {}
        self.o: dict[str, Any] = {}

    def arr(self, role: str, ty: str, *names: str, ndim: int = 1, p: float = 1.0) -> str | None:
        if not self.coin(p):
            self.a[role] = None
            return None
        name = self._name(role, names)
        t = {"f": self.s, "i": self.pick("wp.int32", "int")}.get(ty, ty)
        ann = f"wp.array(dtype={t})" if ndim == 1 else self.pick(f"wp.array{ndim}d(dtype={t})",
                                                                 f"wp.array(dtype={t}, ndim={ndim})")
        self.kb.parts.kparams.append(f"{name}: {ann}")
        return name

    def const(self, role: str, value: str, *names: str) -> str:
        name = self._name(role, names)
        self.kb.parts.consts.append({"name": name, "value": f"wp.constant({value})"})
        return name

    def scalar(self, role: str, values: tuple[str, ...], *names: str, p_par: float = 0.5) -> str:
        """A float kernel parameter (drawn in [0.25, 1]) or a module constant with one of ``values``."""
        if self.coin(p_par):
            name = self._name(role, names)
            self.kb.parts.kparams.append(f"{name}: {self.s}")
            return name
        return self.const(role, self.c(self.pick(*values)), *(n.upper() for n in names))

    def tile(self, *widths: int, names: tuple[str, ...] = ("TILE", "TILE_SIZE", "BLOCK", "N_COLS", "TILE_N")) -> str:
        """The tile width, a module constant (or a literal where Warp's examples inline it)."""
        w = self.o["width"] = self.pick(*widths)
        if self.coin(0.15):
            self.a["tile"] = str(w)
            return str(w)
        return self.const("tile", str(w), *names)

    def func(self, role: str, names: tuple[str, ...], params: list[str], ret: str, body: str) -> str:
        name = self._name(role, names)
        self.kb.parts.funcs.append({"name": name, "params": params, "ret": ret, "body": body})
        return name

    def tid(self, n: int = 1) -> None:
        firsts = [self.pick("i", "row", "block"), self.pick("j", "col", "bj")][:n]
        idx = [self.kb.names.reserve(x) for x in firsts] + [self.kb.names.reserve(self.pick("lane", "lane", "tid", "t_id"))]
        self.kb.idx = idx
        self.kb.tid_line = f"{', '.join(idx)} = wp.tid()"


def _rows(t: _T, out: str = "f", *names: str) -> None:
    t.arr("x", "f", "x", "logits", "src", "inputs", "values", ndim=2)
    t.arr("y", out, *(names or ("y", "out", "dst", "result")), ndim=2)


def _softmax(t: _T) -> None:
    _rows(t, "f", "probs", "y", "out", "weights")
    t.tile(8, 16, 16)
    t.o.update(maxop=t.pick("tile_max", "func", "builtin"), log=t.coin(0.3), exp=t.pick("exp", "exp", "func"),
               store_max=t.coin(0.3), temp=t.coin(0.4))
    if t.o["maxop"] == "func":
        t.func("op", ("max_op", "fmax", "reduce_max"), [f"a: {t.s}", f"b: {t.s}"], t.s, "return wp.max(a, b)")
    if t.o["exp"] == "func":
        t.func("expf", ("safe_exp", "exp_clamped", "expm"), [f"a: {t.s}"], t.s,
               f"return wp.exp(wp.min(a, {t.c('60.0')}))")
    if t.o["temp"]:
        t.scalar("temp", ("0.5", "2.0"), "temperature", "inv_temp", "beta")
    t.arr("row_max", "f", "row_max", "maxes", p=float(t.o["store_max"]))
    t.tid()


def _layer_norm(t: _T) -> None:
    _rows(t, "f", "y", "normed", "out")
    t.tile(8, 16, 16)
    t.o.update(rms=t.coin(0.3), sq=t.pick("mul", "map", "func"), extract=t.pick("index", "extract"),
               stats=t.coin(0.3))
    t.scalar("eps", ("1.0e-5", "1.0e-6"), "eps", "epsilon", p_par=0.3)
    t.arr("gamma", "f", "gamma", "weight", "scale", p=0.6)
    t.arr("beta", "f", "beta", "bias", "shift", p=0.5 * (not t.o["rms"]))
    if t.o["sq"] == "func":
        t.func("sq", ("square", "sq", "pow2"), [f"a: {t.s}"], t.s, "return a * a")
    t.arr("mean_out", "f", "mean", "mu", p=0.5 * t.o["stats"] * (not t.o["rms"]))
    t.arr("rstd_out", "f", "rstd", "inv_std", p=float(t.o["stats"]))
    t.tid()


def _scan(t: _T) -> None:
    _rows(t, "f", "y", "prefix", "cumsum", "out")
    t.tile(8, 16, 16)
    t.o.update(op=t.pick("inclusive", "inclusive", "exclusive", "max_inclusive", "min_inclusive"),
               cdf=t.coin(0.35), pre=t.pick(None, None, *TILE_FNS), total=t.coin(0.4), shared=t.coin(0.3))
    if t.o["op"] != "inclusive":
        t.o["cdf"] = False
    t.arr("total", "f", "totals", "row_total", "last", p=float(t.o["total"]))
    t.tid()


def _compact(t: _T) -> None:
    t.arr("x", "f", "x", "values", "src", "data", ndim=2)
    t.arr("y", "f", "out", "compacted", "selected", ndim=2)
    t.arr("count", "i", "counts", "num_selected", "n_out", p=0.7)
    t.scalar("thr", ("0.5", "0.6", "0.7"), "threshold", "cutoff", "thresh")
    t.o.update(scan=t.pick("exclusive", "exclusive", "inclusive"), flag=t.pick("where", "if", "int"),
               cmp=t.pick(">", ">", "<", ">="), count_form=t.pick("sum", "last"))
    t.tid()


def _block_matrix(t: _T) -> None:
    t.arr("x", "f", "mat", "x", "src", "A", ndim=2)
    t.arr("y", "f", "out", "y", "dst", "B_out", ndim=2)
    t.tile(4, 8, 8, names=("TILE", "TILE_M", "BLOCK", "TB"))
    mode = t.o["mode"] = t.pick("transpose", "transpose", "symmetrize", "shift", "shift_transpose")
    if mode.startswith("shift"):
        t.o["diag"] = t.pick("full", "array", "arange")
        if t.o["diag"] == "array":
            t.arr("diag", "f", "diag", "d", "lam")
        else:
            t.scalar("lam", ("0.1", "1.0e-3", "0.5"), "lam", "reg", "damping")
    t.o.update(fn=t.pick(None, None, "sin", "exp", "abs"), scale=t.coin(0.3), shared=t.coin(0.4))
    if t.o["scale"]:
        t.scalar("alpha", ("0.5", "2.0"), "alpha", "scale")
    t.tid(2)


def _sort(t: _T) -> None:
    keys_int = t.o["keys_int"] = t.coin(0.25)
    t.arr("x", "i" if keys_int else "f", "keys", "dist", "scores", "x", ndim=2)
    t.o.update(vals=t.pick("arange", "arange", "array"), desc=(not keys_int) and t.coin(0.3),
               store_keys=t.coin(0.7), pre=t.pick(None, None, "abs", "sqrt") if not keys_int else None)
    vt = t.o["vals_ty"] = "i" if t.o["vals"] == "arange" else t.pick("f", "i")
    if t.o["vals"] == "array":
        t.arr("vals", vt, "values", "payload", "ids", ndim=2)
    t.arr("y", "i" if keys_int else "f", "sorted_keys", "keys_out", "sorted", ndim=2,
          p=float(t.o["store_keys"]))
    t.arr("perm", vt, "perm", "order", "sorted_vals", "indices", ndim=2)
    t.tile(8, 16, 16)
    t.tid()


def _argmax(t: _T) -> None:
    t.arr("x", "f", "scores", "logits", "dist", "x", ndim=2)
    t.o.update(op=t.pick("argmax", "argmax", "argmin"), form=t.pick("extract", "store", "index"),
               value=t.coin(0.5), fn=t.pick(None, None, "abs", "sin", "exp"), both=t.coin(0.25))
    t.arr("out", "i", "labels", "best_idx", "argmax_out", "winner")
    t.arr("val", "f", "best_val", "scores_out", "max_val", p=float(t.o["value"]))
    t.arr("other", "i", "second", "runner", "argmin_out", p=float(t.o["both"]))
    t.tile(8, 16, 16)
    t.tid()


def _reduce(t: _T) -> None:
    t.arr("x", "f", "x", "values", "src", "data", ndim=2)
    op = t.o["op"] = t.pick(*_OPS)
    t.o["axis"] = t.pick(None, None, 0, 1)
    t.o["builtin"] = t.o["axis"] is not None and op in ("max", "min", "add") and t.coin(0.4)
    if not t.o["builtin"]:
        t.func("op", {"max": ("max_op", "fmax2"), "min": ("min_op", "fmin2"), "add": ("add_op", "plus"),
                      "absmax": ("absmax", "max_abs"), "hypot": ("hypot", "norm_op")}[op],
               [f"a: {t.s}", f"b: {t.s}"], t.s, _OPS[op])
    t.arr("y", "f", "out", "reduced", "result", ndim=1 if t.o["axis"] is None else 2)
    t.o.update(rows=t.pick(2, 4), fn=t.pick(None, None, *TILE_FNS), scale=t.coin(0.3))
    if t.o["axis"] is not None:
        t.const("rows", str(t.o["rows"]), "ROWS", "TILE_M", "BLOCK_ROWS")
    t.tile(8, 16, 16)
    t.tid()


def _combine(t: _T) -> None:
    t.arr("x", "f", "xa", "x", "lhs", "src_a", ndim=2)
    t.arr("x2", "f", "xb", "y", "rhs", "src_b", ndim=2)
    mode = t.o["mode"] = t.pick("map", "map", "axpy", "dot")
    if mode == "map":
        kind = t.o["kind"] = t.pick(*_MAPS)
        body = _MAPS[kind].format(h=t.c("0.5"), z=t.c("0.0"), two=t.c("2.0"))
        t.func("fn", ("combine", "blend", "pair_op", kind), [f"a: {t.s}", f"b: {t.s}"], t.s, body)
    if mode == "axpy":
        t.scalar("alpha", ("0.5", "2.0", "0.25"), "alpha", "step", "rate", p_par=0.6)
    t.arr("out", "f", "out", "result", "dst", ndim=1 if mode == "dot" else 2)
    t.o.update(fn=t.pick(None, None, *TILE_FNS), shared=t.coin(0.3), inplace=mode == "axpy" and t.coin(0.3))
    t.tile(8, 16, 16)
    t.tid()


def _block_thread(t: _T) -> None:
    t.arr("x", "f", "x", "values", "data", "src", ndim=2)
    t.arr("y", "f", "y", "out", "centered", "normalized", ndim=2)
    t.o.update(mode=t.pick("center", "scale_max", "pivot", "pivot", "share"), total=t.coin(0.3))
    t.arr("total", "f", "block_sum", "totals", "block_mean", p=float(t.o["total"]))
    t.tid()


def _gather(t: _T) -> None:
    t.arr("x", "f", "table", "x", "src", "embeddings", ndim=2)
    t.arr("idx", "i", "indices", "ids", "perm", "rows_idx", ndim=2)
    mode = t.o["mode"] = t.pick("load", "store", "store", "atomic")  # embed gathers too
    t.arr("y", "f", "out", "gathered", "dst", "acc", ndim=2)
    t.o.update(rows=t.pick(4, 8), fn=t.pick(None, None, *TILE_FNS), scale=t.coin(0.3), dup=mode != "load")
    t.const("rows", str(t.o["rows"]), "ROWS", "TILE_M", "N_IDX")
    t.tile(8, 16, 16)
    if t.o["scale"]:
        t.scalar("alpha", ("0.5", "2.0"), "alpha", "scale", "weight")
    t.tid()


def _histogram(t: _T) -> None:
    t.arr("x", "f", "x", "samples", "values", "data", ndim=2)
    mode = t.o["mode"] = t.pick("add", "add", "weighted", "masked")
    if mode == "masked":
        t.arr("y", "f", "out", "reversed", "dst", ndim=2)
        t.scalar("thr", ("0.5", "0.4"), "threshold", "cutoff")
    else:
        t.arr("y", "i" if mode == "add" else "f", "hist", "counts", "bins_out", ndim=2)
        t.arr("glob", "i" if mode == "add" else "f", "global_hist", "all_counts", p=0.35)
        t.const("bins", str(t.pick(4, 8)), "NUM_BINS", "BINS", "NB")
    t.o["guard"] = t.coin(0.3)
    t.tid()


def _stack(t: _T) -> None:
    t.arr("x", "f", "x", "values", "data", "candidates", ndim=2)
    t.arr("y", "f", "out", "selected", "kept", ndim=2)
    t.arr("count", "i", "counts", "num_kept", "n_out", p=0.7)
    t.scalar("thr", ("0.5", "0.6"), "threshold", "cutoff")
    t.const("cap", str(t.pick(16, 32)), "CAPACITY", "CAP", "STACK_SIZE")
    t.o.update(cmp=t.pick(">", "<", ">="), xform=t.pick(None, "double", "shift"), pop=t.pick("while", "if"),
               partition=t.coin(0.4))  # then cleared (tile_stack_clear) and refilled with the rest, from the end
    t.tid()


def _assemble(t: _T) -> None:
    t.arr("x", "f", "x", "t_vals", "samples", "inputs", ndim=2)
    t.arr("coef", "f", "coeffs", "weights", "c", p=0.6)
    t.arr("y", "f", "y", "out", "poly", ndim=2)
    t.o.update(deg=t.pick(3, 4), init=t.pick("zeros", "empty", "ones"), lin=t.pick("arange", "full", "none"),
               view=t.coin(0.6), squeeze=t.coin(0.5))
    t.const("deg", str(t.o["deg"]), "DEGREE", "N_TERMS", "K")
    t.tile(8, 16, 16)
    t.tid()


_BUILD: dict[str, Callable[[_T], None]] = {**{v: globals()[f"_{v}"] for v in VARIANTS if v not in la.BUILD},
                                            **la.BUILD}
# Warp scans only take float32/int32/uint32
_F64 = ("softmax", "layer_norm", "reduce", "combine", "block_matrix", *la.F64)


def family(kb: KernelBuilder) -> Family:
    variant = kb.rng.choice(VARIANTS)
    dtype = kb.rng.choices(("float32", "float64"), weights=(4, 1))[0] if variant in _F64 else "float32"
    t = _T(kb, dtype)
    if kb.rng.random() < 0.7:  # a name from the domain (else the generic vocabulary's)
        kb.kname = kb.names._fresh(kb.rng.choice(_KERNELS[variant]))
    _BUILD[variant](t)
    if variant in THREAD_VARIANTS:  # one thread per element of a row: no more lanes than the row has
        t.o["block_dim"] = kb.rng.choice((8, 16, 16))
        t.const("threads", str(t.o["block_dim"]), "TILE_THREADS", "BLOCK_DIM", "NUM_THREADS")
        t.o["bd"] = kb.rng.random() < 0.4  # the block size read back with wp.block_dim() where no shape needs it
    elif variant == "fft":
        t.o["block_dim"] = t.o["fft_block"]
    elif variant in la.BLOCK_DIMS:
        t.o["block_dim"] = kb.rng.choice(la.BLOCK_DIMS[variant])
    else:
        t.o["block_dim"] = kb.rng.choice((16, 32, 64, 64, 128))
    if kb.rng.random() < 0.4:
        kb.rng.shuffle(kb.parts.kparams)
    ctx = {"variant": variant, "a": t.a, "o": t.o, "f32": t.f32, "s": t.s, "dt": t.dt, "idx": kb.idx,
           "i": kb.idx[0], "lane": kb.idx[-1], "options": {"block_dim": t.o["block_dim"]}}
    calls = re.findall(r"\bwp\.(\w+)\(", render("kernels/tiles.j2", **kb.context(**ctx)))
    skip = ("constant", "tid", "float64", "float32", "array", "array2d", "int32", "set_module_options")
    kb.gen.used += list(dict.fromkeys(n for n in calls if n not in skip))
    params = {k: v for k, v in t.o.items() if isinstance(v, (str, bool, int)) and v is not None}
    return variant, ctx, {"dtype": dtype, **params}
