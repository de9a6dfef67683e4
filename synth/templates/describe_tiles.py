"""Lead sentences of the tiles family (``describe_domain.LEADS``): what the sampled variant computes."""

from __future__ import annotations

from typing import Any

from warp_synth.synth.templates.facts import Facts
from warp_synth.synth.templates.kernel import KernelBuilder

Ctx = dict[str, Any]


def lead(v: str, c: Ctx, p: Ctx, kb: KernelBuilder, f: Facts) -> str:
    o, a = c["o"], c["a"]
    blk = f"blocks of {o['block_dim']} threads (block_dim {o['block_dim']}, launched with launch_tiled)"
    w = o.get("width")
    row = f"a {w}-wide tile of its row (wp.tile_load)" if w else "its row"
    if v == "softmax":
        mx = {"tile_max": "wp.tile_max", "func": f"wp.tile_reduce with the @wp.func `{a.get('op')}`",
              "builtin": "wp.tile_reduce(wp.max, ...)"}[o["maxop"]]
        kind = "log-softmax" if o["log"] else "softmax"
        return (f"A tiled row {kind} kernel in {blk}: each block loads {row}, takes its maximum with {mx}, "
                f"exponentiates the shifted values with wp.tile_map, sums them with wp.tile_sum and stores the "
                f"{kind} (wp.tile_broadcast spreads the row statistics over the tile).")
    if v == "layer_norm":
        kind = "RMSNorm" if o["rms"] else "LayerNorm"
        aff = " with a gain" if a.get("gamma") else ""
        aff += " and a bias" if a.get("beta") else ""
        return (f"A tiled {kind} kernel in {blk}: each block loads {row}, computes the "
                f"{'mean square' if o['rms'] else 'mean and variance'} with wp.tile_sum, and stores the row "
                f"normalised by the inverse square root (plus epsilon){aff}.")
    if v == "scan":
        what = {"inclusive": "inclusive prefix sum (wp.tile_scan_inclusive)",
                "exclusive": "exclusive prefix sum (wp.tile_scan_exclusive)",
                "max_inclusive": "running maximum (wp.tile_scan_max_inclusive)",
                "min_inclusive": "running minimum (wp.tile_scan_min_inclusive)"}[o["op"]]
        pre = f" after applying wp.{o['pre']} with wp.tile_map" if o.get("pre") else ""
        cdf = ", divided by the row total (a CDF)" if o["cdf"] else ""
        return f"A tiled scan kernel in {blk}: each block stores the {what} of {row}{pre}{cdf}."
    if v == "compact":
        return (f"A prefix-sum stream compaction in {blk}: each thread flags its element of the row against a "
                f"threshold, the flags become a tile (wp.tile), an {o['scan']} scan (wp.tile_scan_{o['scan']}) "
                f"gives each kept element its output slot (wp.untile), and the kept values are written densely.")
    if v == "block_matrix":
        what = {"transpose": "transposes it (wp.tile_transpose) into the mirrored block",
                "symmetrize": "averages it with the transpose of the mirrored block (a symmetric part)",
                "shift": "adds a diagonal on the diagonal blocks (wp.tile_diag_add)",
                "shift_transpose": "adds a diagonal on the diagonal blocks (wp.tile_diag_add) and stores the "
                                   "transpose (wp.tile_transpose)"}[o["mode"]]
        return (f"A tiled block-matrix kernel in {blk} over a 2-D grid of {w}x{w} blocks: each block loads its "
                f"square tile of the matrix and {what}.")
    if v == "sort":
        vals = "its original column indices (wp.tile_arange)" if o["vals"] == "arange" else "a row of values"
        order = "descending" if o["desc"] else "ascending"
        return (f"A per-row sort in {blk}: each block sorts {row} as keys in {order} order together with {vals} "
                f"(wp.tile_sort on shared tiles) and stores the permuted values.")
    if v == "argmax":
        return (f"A per-row {o['op']} kernel in {blk}: each block loads {row} and stores the index of its "
                f"{'largest' if o['op'] == 'argmax' else 'smallest'} entry (wp.tile_{o['op']})"
                f"{' and that value (wp.tile_extract)' if a.get('val') else ''}.")
    if v == "reduce":
        op = f"wp.{o['op']}" if o["builtin"] else f"the @wp.func `{a.get('op')}` ({o['op']})"
        where = "a whole row" if o["axis"] is None else f"a {o['rows']}x{w} tile along axis {o['axis']}"
        return f"A tiled reduction in {blk}: each block reduces {where} with wp.tile_reduce and {op}, and stores it."
    if v == "combine":
        what = {"map": f"combines two rows elementwise with the @wp.func `{a.get('fn')}` (wp.tile_map)",
                "axpy": "accumulates alpha * a + b with wp.tile_axpy", "dot": "stores their dot product "
                "(wp.tile_dot)"}[o["mode"]]
        return f"A two-input tile kernel in {blk}: each block loads a row of each input and {what}."
    if v == "block_thread":
        what = {"center": "subtracts the block mean", "scale_max": "divides by the block maximum",
                "pivot": "subtracts lane 0's value (wp.tile_from_thread)",
                "share": "scales by the last lane's value (wp.tile_from_thread) and adds the block sum"}[o["mode"]]
        return (f"A block-cooperative kernel in {blk}: each thread's element becomes part of a tile (wp.tile), the "
                f"block reduces it, and each thread gets the block value back (wp.untile) and {what}.")
    if v == "gather":
        what = {"load": "gathers the indexed rows (wp.tile_load_indexed) and stores them as a block",
                "store": "scatters a block of rows to the indexed rows (wp.tile_store_indexed)",
                "atomic": "adds a block of rows into the indexed rows (wp.tile_atomic_add_indexed)"}[o["mode"]]
        return f"An indexed tile kernel in {blk}: each block loads {o['rows']} row indices and {what}."
    if v == "histogram":
        if o["mode"] == "masked":
            return (f"A shared-tile scatter in {blk}: each thread writes its value into a reversed slot of a shared "
                    f"tile when it passes a threshold (wp.tile_scatter_masked), and the tile is stored.")
        return (f"A per-block histogram in {blk}: each thread bins its value and adds "
                f"{'one' if o['mode'] == 'add' else 'its value'} to a shared tile (wp.tile_scatter_add), which "
                f"is stored per row{' and added to a global histogram (wp.tile_atomic_add)' if a.get('glob') else ''}.")
    if v == "stack":
        part = (", then the stack is cleared (wp.tile_stack_clear) and refilled with the rest, written from the "
                "row's end (a partition)") if o["partition"] else ""
        return (f"A block stack compaction in {blk}: threads push the values passing a threshold onto a shared "
                f"wp.tile_stack, the count is read with wp.tile_stack_count, and popped values "
                f"(wp.tile_stack_pop) are written to their slots{part}.")
    if v == "spd_solve":
        build = "M M^T (wp.tile_matmul with wp.tile_transpose)" if o["build"] == "gram" else "(M + M^T) / 2"
        solve = {"chol": "wp.tile_cholesky and wp.tile_cholesky_solve",
                 "tri": "wp.tile_cholesky, then wp.tile_lower_solve and wp.tile_upper_solve with the transposed factor",
                 "inplace": "wp.tile_cholesky_inplace and wp.tile_cholesky_solve_inplace",
                 "inplace_tri": "wp.tile_cholesky_inplace, then wp.tile_lower_solve_inplace and "
                                "wp.tile_upper_solve_inplace"}[o["solve"]]
        res = " and the residual A x - b" if a.get("res") else ""
        return (f"A batched SPD solve in {blk}, one {o['n']}x{o['n']} system per block: it builds A = {build} "
                f"shifted by its order on the diagonal (wp.tile_diag_add), solves A x = b with {solve} and stores "
                f"x{' and the factor' if a.get('L_out') else ''}{res}.")
    if v == "whiten":
        cen = "centred " if o["center"] else ""
        what = {"mahalanobis": "the squared Mahalanobis distance z.z", "whiten": "the whitened vector z",
                "loglik": "the Gaussian log-likelihood -z.z/2 - log det L (the factor's diagonal)"}[o["out"]]
        return (f"A Gaussian whitening kernel in {blk}: each block forms the {cen}covariance of {o['n']} "
                f"features over {o['k']} samples (wp.tile_matmul), factors it with wp.tile_cholesky"
                f"{' (upper fill)' if o['upper'] else ''}, whitens its residual z = L^-1 r (wp.tile_lower_solve) "
                f"and stores {what}.")
    if v == "lstsq":
        solve = {"chol": "wp.tile_cholesky_solve", "inplace": "wp.tile_cholesky_inplace and "
                 "wp.tile_cholesky_solve_inplace", "tri": "wp.tile_lower_solve and wp.tile_upper_solve"}[o["solve"]]
        return (f"A batched ridge regression in {blk}: each block solves the normal equations (X^T X + lam I) w = "
                f"X^T y of its {o['m']}x{o['k']} design matrix (wp.tile_matmul, wp.tile_diag_add) with {solve}"
                f"{' and stores the residual y - X w' if a.get('res') else ''}.")
    if v == "gemm":
        loop = {"const": "accumulating over a fixed number of K tiles", "dynamic": "accumulating over the K "
                "tiles of the input's width", "single": "over the whole K extent"}[o["loop"]]
        epi = " plus a bias row (wp.tile_broadcast)" if a.get("bias") else ""
        epi += f" through a {o['act']} activation (wp.tile_map)" if o["act"] else ""
        return (f"A tiled GEMM in {blk} over a 2-D grid of output tiles: each block multiplies its row and "
                f"column blocks with wp.tile_matmul, {loop}, and stores the product{epi}.")
    if v == "embed":
        what = "rows of an embedding table by token ids" if o["axis"] == 0 else "selected feature columns"
        act = f" and a {o['act']} activation" if o["act"] else ""
        return (f"A gather-and-project kernel in {blk}: each block gathers {what} with wp.tile_load_indexed "
                f"and projects them with wp.tile_matmul{' plus a bias' if a.get('bias') else ''}{act}"
                f"{', scattered back to the same rows (wp.tile_store_indexed)' if o['scatter'] else ''}.")
    if v == "fft":
        what = {"lowpass": "scales each frequency bin by a gain (wp.tile_map) and transforms back (wp.tile_ifft)",
                "conv": "multiplies it by the spectrum of a filter row (a circular convolution) and transforms "
                        "back (wp.tile_ifft)", "power": "stores its power spectrum |X|^2"}[o["mode"]]
        return (f"A spectral kernel in {blk}: each block loads {o['n']}-point complex rows, takes their FFT "
                f"(wp.tile_fft), {what}, and stores the result scaled by 1/{o['n']}.")
    return (f"A tile-assembly kernel in {blk}: each block builds a {o['deg']}x{w} tile of the powers of its row "
            f"(wp.tile_{o['init']}, wp.tile_assign of reshaped rows), sums it along axis 0 with wp.tile_reduce and "
            f"stores the polynomial values.")
