"""Tiles family, the dense linear algebra and FFT variants (MathDx-backed ``wp.tile_*`` builtins).

Variants, in the shapes Warp users write: ``spd_solve`` (one small SPD system per block: ``M M^T`` or
``(M + M^T) / 2`` made definite with ``tile_diag_add``, factored with ``tile_cholesky`` or
``tile_cholesky_inplace``, solved with ``tile_cholesky_solve`` / ``_inplace`` or the two triangular
solves ``tile_lower_solve`` / ``tile_upper_solve`` and their ``_inplace`` forms), ``whiten`` (a sample
covariance ``X X^T / K``, its Cholesky factor and the whitened residual ``L^-1 r`` with the Mahalanobis
distance or a Gaussian log-likelihood: differentiable end to end), ``lstsq`` (ridge regression by the
normal equations ``(X^T X + lam I) w = X^T y``), ``gemm`` (a K-tiled GEMM accumulating
``tile_matmul(a, b, acc)`` with a bias and an activation epilogue), ``embed`` (a gather by
``tile_load_indexed`` feeding a ``tile_matmul`` projection) and ``fft`` (``tile_fft`` / ``tile_ifft``
spectral filtering, circular convolution or a power spectrum of complex rows).

SPD matrices are built inside the kernel (the executor's inputs are drawn in [0.25, 1], so a loaded
matrix is not definite), shifted by at least their order.  The ``whiten`` covariance has no shift
(``tile_diag_add`` has no adjoint in Warp 1.19): it is centred, and its float32 form is 2x2 or 3x3.
A ``gemm`` whose epilogue is non-linear runs its K loop over a constant trip count (Warp unrolls it);
with a dynamic trip count the backward pass of an in-place accumulation is wrong in Warp 1.19.
On the CPU ``tile_fft`` needs at least two elements per thread, so its block is at most half a row.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from warp_synth.synth.templates.tiles import _T

VARIANTS = ("spd_solve", "whiten", "lstsq", "gemm", "embed", "fft")
F64 = ("spd_solve",)
KERNELS = {
    "spd_solve": ("batched_solve", "spd_solve", "solve_systems", "cholesky_solve", "block_solve"),
    "whiten": ("whiten", "mahalanobis", "gaussian_loglik", "whiten_residual", "cov_whiten"),
    "lstsq": ("ridge_fit", "least_squares", "normal_equations", "fit_weights", "lstsq"),
    "gemm": ("gemm", "tiled_gemm", "linear_layer", "dense_bias_act", "matmul_bias"),
    "embed": ("embed_project", "gather_matmul", "lookup_project", "select_features"),
    "fft": ("spectral_filter", "fft_conv", "power_spectrum", "lowpass_rows", "circular_conv"),
}
LOCALS = ("l", "cov", "mu", "zt", "w", "xt", "yv", "gram", "rhs", "sol", "res", "ax", "logdet", "qf", "bb",
          "xy", "f", "spec", "cen", "lt", "wt", "kk", "pred", "dm")
ACTS = {  # one-argument @wp.func epilogues, smooth (or linear) on the positive pre-activations drawn here
    "relu": "return wp.max(x, {z})", "sigmoid": "return {one} / ({one} + wp.exp(-x))",
    "softplus": "return wp.log({one} + wp.exp(x))", "gelu": "return {h} * x * ({one} + wp.tanh({k} * x))",
    "leaky": "return wp.where(x > {z}, x, {lk} * x)",
}
# block sizes per variant (the thread variants' rule lives in tiles.py): at least a warp, since MathDx
# cannot build a float64 GEMM for a 16-thread block ("Failed to compile LTO 'dot_...'").  Sizes, block
# sizes and dtypes are kept to a few configurations on purpose: every one is a MathDx LTO of 1-4 MB
# built once per machine into the LTO store (extract.lto_cache); the full product of the earlier
# choices made ~300 LTO files (813 MB, >10 min to build).  The kernels' shapes vary, not their sizes.
BLOCK_DIMS = {"spd_solve": (32,), "whiten": (32,), "lstsq": (32,), "gemm": (64,), "embed": (32,)}


def _size(t: _T, role: str, value: int, *names: str) -> None:
    """A size constant; its value is kept in ``o`` too: a float64 of it is spelled ``wp.float64(6.0)``
    (Warp 1.19 retypes a module constant cast with ``wp.float64(K)`` as float64 in later shapes)."""
    t.const(role, str(value), *names)
    t.o[role] = value


def _act(t: _T, p: float) -> None:
    """An activation: a builtin (``wp.tanh``) or a ``@wp.func`` (or none)."""
    kind = t.o["act"] = t.pick(*ACTS, "tanh") if t.coin(p) else None
    if kind in ACTS:
        body = ACTS[kind].format(z=t.c("0.0"), one=t.c("1.0"), h=t.c("0.5"), k=t.c("0.7978845608"),
                                 lk=t.c("0.01"))
        t.func("act", (kind, "activation", "act"), [f"x: {t.s}"], t.s, body)


def _spd_solve(t: _T) -> None:
    t.arr("M", "f", "M", "mats", "A", "blocks", ndim=3)
    t.arr("rhs", "f", "rhs", "b", "loads", ndim=2)
    t.arr("x", "f", "x", "sol_out", "solutions", ndim=2)
    _size(t, "n", 4 if t.f32 else 3, "N", "DIM", "TILE_N")
    build = t.o["build"] = t.pick("gram", "gram", "sym")
    t.o.update(mm=t.pick("ret", "ret", "out") if build == "gram" else None,
               shift=t.pick("full", "full", "array"), solve=t.pick("chol", "tri", "tri", "inplace", "inplace_tri"),
               shared=t.coin(0.5))
    if t.o["shift"] == "array":
        t.arr("diag", "f", "diag", "damping", "d", ndim=2)
    else:
        t.scalar("lam", ("0.1", "1.0e-2", "0.5"), "lam", "reg", "damping")
    t.arr("L_out", "f", "L_out", "factors", "chol", ndim=3, p=0.35)
    t.arr("res", "f", "residual", "res_out", "err", ndim=2, p=0.3 * (not t.o["solve"].startswith("inplace")))
    t.tid()


def _whiten(t: _T) -> None:
    t.arr("X", "f", "X", "samples", "points", "feats", ndim=3)
    t.arr("r", "f", "r", "query", "obs", "resid", ndim=2)
    _size(t, "n", 3, "N", "DIM", "N_FEAT")
    _size(t, "k", 6, "K", "N_SAMPLES", "SAMPLES")
    out = t.o["out"] = t.pick("mahalanobis", "loglik", "whiten")
    t.o.update(center=t.coin(0.75), scale=t.pick("alpha", "mul"), upper=t.coin(0.25), diag=t.pick("index", "extract"),
               dot=t.pick("dot", "sum"))
    t.arr("z", "f", "z_out", "whitened", "z", ndim=2, p=1.0 if out == "whiten" else 0.5)
    if out != "whiten":
        t.arr("score", "f", "dist2" if out == "mahalanobis" else "loglik", "score", "energy")
    t.arr("L_out", "f", "L_out", "factors", "chol", ndim=3, p=0.25)
    t.tid()


def _lstsq(t: _T) -> None:
    t.arr("X", "f", "X", "design", "feats", "A", ndim=3)
    t.arr("y", "f", "y", "targets", "obs", ndim=2)
    t.arr("w", "f", "w_out", "weights", "coef", "theta", ndim=2)
    _size(t, "m", 6, "M", "N_ROWS", "N_OBS")
    _size(t, "k", 3, "K", "N_FEAT", "DIM")
    t.scalar("lam", ("1.0e-2", "0.1", "1.0"), "lam", "ridge", "alpha", p_par=0.6)
    t.o.update(solve=t.pick("chol", "tri", "inplace", "tri"), resid=t.coin(0.4), shared=t.coin(0.4))
    t.arr("res", "f", "residual", "res_out", "err", ndim=2, p=float(t.o["resid"]))
    t.tid()


def _gemm(t: _T) -> None:
    t.arr("A", "f", "A", "x", "lhs", "inputs", ndim=2)
    t.arr("B", "f", "B", "w", "weights", "rhs", ndim=2)
    t.const("tm", "8", "TILE_M", "BM", "TM")
    t.const("tn", "8", "TILE_N", "BN", "TN")
    tk = 8
    loop = t.o["loop"] = t.pick("const", "const", "dynamic", "single")
    if loop == "single":
        t.const("tk", "16", "K", "DIM_K", "TILE_K")
    else:
        t.const("tk", str(tk), "TILE_K", "BK", "TK")
    if loop == "const":
        t.const("ktiles", str(16 // tk), "K_TILES", "NUM_K", "K_STEPS")
    acc = t.o["acc"] = t.pick("out", "out", "add", "alpha") if loop != "single" else t.pick("ret", "out", "beta")
    if acc in ("alpha", "beta"):
        t.scalar("alpha", ("0.5", "0.25"), "alpha", "scale")
    if acc == "beta":
        t.arr("C0", "f", "C_in", "c_prev", "residual", ndim=2)
        t.scalar("beta", ("1.0", "0.5"), "beta", "mix")
    t.arr("bias", "f", "bias", "b", "offset", p=0.6)
    _act(t, 0.0 if loop == "dynamic" else 0.7)
    t.arr("C", "f", "C", "out", "y", "result", ndim=2)
    t.tid(2)


def _embed(t: _T) -> None:
    axis = t.o["axis"] = t.pick(0, 0, 1)
    if axis == 0:  # rows of an embedding table, by token ids
        t.arr("x", "f", "table", "emb", "embeddings", ndim=2)
        t.arr("idx", "i", "ids", "indices", "tokens", ndim=2)
    else:  # selected feature columns of each row block
        t.arr("x", "f", "x", "feats", "data", ndim=2)
        t.arr("idx", "i", "cols", "sel", "columns")
    t.arr("W", "f", "W", "proj", "weights", ndim=2)
    t.const("rows", "4", "ROWS", "N_TOK", "TILE_M")
    t.const("d", "16" if axis == 0 else "8", "D", "DIM", "N_SEL")
    t.const("e", "8", "E", "OUT_DIM", "N_OUT")
    t.o.update(alpha=t.coin(0.3), storage=t.coin(0.3), scatter=axis == 0 and t.coin(0.35))  # back to the ids' rows
    if t.o["alpha"]:
        t.scalar("alpha", ("0.5", "0.125"), "alpha", "scale")
    t.arr("bias", "f", "bias", "b", p=0.4)
    _act(t, 0.5)
    t.arr("y", "f", "out", "proj_out", "y", ndim=2)
    t.tid()


def _fft(t: _T) -> None:
    v = "wp.vec2f" if t.f32 else "wp.vec2d"
    t.o["vec"] = v
    mode = t.o["mode"] = t.pick("lowpass", "lowpass", "conv", "power")
    t.arr("x", v, "x", "signal", "rows", "data", ndim=2)
    n = 8
    t.o["fft_block"] = n // 2
    _size(t, "n", n, "N", "FFT_N", "FFT_SIZE")
    t.const("rows", str(t.pick(1, 2, 4)), "ROWS", "BATCH", "TILE_M")
    if mode == "lowpass":
        t.arr("h", "f", "gain", "h", "response")
        t.func("op", ("apply_gain", "scale_bin", "filter_bin"), [f"c: {v}", f"g: {t.s}"], v, "return c * g")
    elif mode == "conv":
        t.arr("h", v, "kernel_f", "filt", "h", ndim=2)
        t.func("op", ("cmul", "cplx_prod", "complex_mul"), [f"a: {v}", f"b: {v}"], v,
               f"return {v}(a[0] * b[0] - a[1] * b[1], a[0] * b[1] + a[1] * b[0])")
    else:
        t.func("op", ("power", "abs2", "sq_mag"), [f"c: {v}"], t.s, "return c[0] * c[0] + c[1] * c[1]")
    t.arr("y", v if mode != "power" else "f", "y", "out", "filtered" if mode != "power" else "psd", ndim=2)
    t.tid()


BUILD: dict[str, Callable[[_T], None]] = {v: globals()[f"_{v}"] for v in VARIANTS}
