"""The report's figures, each returned as a ``data:image/png;base64,...`` URI.

Figures are built with ``matplotlib.figure.Figure`` and the Agg canvas (no pyplot state, no
display), so the HTML report embeds them and needs no external file.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Sequence

import numpy as np
from matplotlib import colormaps
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import NullFormatter, ScalarFormatter

from warp_synth.eval.dataset import DatasetStats

_ORIGIN_METRICS = (("exact_dup_rate", "exact dup"), ("alpha_dup_rate", "alpha dup"),
                   ("near_dup_rate", "near dup"), ("skeleton_unique_ratio", "skeleton unique"),
                   ("distinct_4", "distinct-4"), ("builtin_ratio", "builtin cov."))


def _uri(fig: Figure) -> str:
    FigureCanvasAgg(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90, bbox_inches="tight")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def _legend(ax: Axes) -> None:
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=8)


def _width(n_groups: int) -> float:
    return 0.8 / max(n_groups, 1)


def category_mix(results: Sequence[dict]) -> str:
    cats = sorted({c for r in results for c in r["categories"]})
    fig = Figure(figsize=(10, 3.6))
    ax = fig.add_subplot()
    x = np.arange(len(cats))
    w = _width(len(results))
    for i, r in enumerate(results):
        n = r["records"] or 1
        ax.bar(x + i * w, [r["categories"].get(c, 0) / n for c in cats], w, label=r["name"])
    ax.set_xticks(x + w * (len(results) - 1) / 2, cats, rotation=30, ha="right")
    ax.set_ylabel("share of records")
    ax.set_title("Category mix")
    _legend(ax)
    return _uri(fig)


def builtin_usage(results: Sequence[dict], builtin_names: Sequence[str]) -> str:
    """Heat strip over Warp's whole builtin list (grey = unused) and the 30 most used builtins."""
    fig = Figure(figsize=(10, 2.0 + 0.35 * len(results) + 3.2))
    gs = fig.add_gridspec(2, 1, height_ratios=[0.6 + 0.35 * len(results), 3.2], hspace=0.6)
    ax = fig.add_subplot(gs[0])
    m = np.array([[r["builtin_coverage"]["records_using"].get(b, 0) for b in builtin_names] for r in results],
                 dtype=float)
    shown = np.ma.masked_equal(np.log10(np.where(m > 0, m, 1)) + (m > 0), 0)
    cm = colormaps["viridis"].with_extremes(bad="#dddddd")
    ax.imshow(shown, aspect="auto", cmap=cm, interpolation="nearest")
    ax.set_yticks(range(len(results)), [r["name"] for r in results], fontsize=8)
    ax.set_xticks([])
    ax.set_xlabel(f"all {len(builtin_names)} Warp kernel builtins, alphabetical (grey = never used)")
    ax.set_title("Builtin usage against Warp's builtin list")
    ax2 = fig.add_subplot(gs[1])
    total = m.sum(axis=0)
    top = [i for i in np.argsort(-total, kind="stable")[:30] if total[i] > 0]
    x = np.arange(len(top))
    w = _width(len(results))
    for i, r in enumerate(results):
        n = r["records"] or 1
        ax2.bar(x + i * w, m[i, top] / n, w, label=r["name"])
    ax2.set_xticks(x + w * (len(results) - 1) / 2, [builtin_names[i] for i in top], rotation=60, ha="right",
                   fontsize=7)
    ax2.set_ylabel("share of records using")
    _legend(ax2)
    return _uri(fig)


def length_distributions(stats: Sequence[DatasetStats]) -> str:
    fig = Figure(figsize=(10, 3.4))
    for k, (attr, label) in enumerate((("py_lines", "Python source lines"), ("ir_lines", "CPU IR lines (fwd + bwd)"))):
        ax = fig.add_subplot(1, 2, k + 1)
        for s in stats:
            v = np.asarray(getattr(s.total, attr))
            if len(v):
                ax.hist(v, bins=min(50, max(5, len(np.unique(v)))), histtype="step", linewidth=1.5, label=s.name)
        ax.set_xlabel(label)
        ax.set_ylabel("records")
        _legend(ax)
    fig.suptitle("Length distributions")
    return _uri(fig)


def skeleton_clusters(results: Sequence[dict]) -> str:
    fig = Figure(figsize=(10, 3.4))
    ax = fig.add_subplot()
    for r in results:
        sizes = {int(k): v for k, v in r["skeleton_cluster_sizes"].items()}
        if sizes:
            xs = sorted(sizes)
            ax.plot(xs, [sizes[x] * x for x in xs], marker="o", label=r["name"])
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.xaxis.set_major_formatter(ScalarFormatter())
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_xlabel("skeleton cluster size (records sharing one skeleton)")
    ax.set_ylabel("records in clusters of that size")
    ax.set_title("Skeleton cluster sizes")
    _legend(ax)
    return _uri(fig)


def metrics_per_origin(result: dict) -> str:
    origins = list(result["by_origin"])
    fig = Figure(figsize=(10, 3.4))
    ax = fig.add_subplot()
    x = np.arange(len(_ORIGIN_METRICS))
    w = _width(len(origins))
    for i, o in enumerate(origins):
        r = result["by_origin"][o]
        vals = {**r, "distinct_4": r["distinct_n"]["4"], "builtin_ratio": r["builtin_coverage"]["ratio"]}
        ax.bar(x + i * w, [vals[k] for k, _ in _ORIGIN_METRICS], w, label=f"{o} ({r['records']})")
    ax.set_xticks(x + w * (len(origins) - 1) / 2, [label for _, label in _ORIGIN_METRICS])
    ax.set_ylim(0, 1)
    ax.set_title(f"Metrics per origin: {result['name']}")
    _legend(ax)
    return _uri(fig)
