"""``synth eval DIR [DIR ...] [--reference REF] --out REPORT_DIR``: diversity reports.

Writes ``report.json`` (every figure), ``report.md`` (tables) and ``report.html`` (tables and
plots in one self-contained file).  With one DIR its metrics also sit at the top level of
``report.json``; every DIR's metrics are in ``datasets`` (in command-line order), the
reference's in ``reference``, and what the reference uses that each DIR lacks in
``reference_gaps``.  With ``--reference`` each DIR also gets a ``contamination`` section
(``warp_synth.eval.decontam_report``) and ``contamination_reference`` says what REF held.  REF
may be a dataset folder, a folder of ``.py`` files (a benchmark), a ``.py`` file or a ``.jsonl``
file (``warp_synth.eval.decontam``); only a dataset folder is also measured as a column of the
report (``reference``, ``reference_gaps``): for the other forms those are ``null`` and ``[]``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from warp_synth.errors import UserError
from warp_synth.records import utc_now
from warp_synth.shards import find_shards

if TYPE_CHECKING:
    from warp_synth.eval.dataset import DatasetStats

# The metric modules need the optional ``eval`` extra (datasketch, matplotlib): imported in
# ``evaluate`` so that ``synth``'s parser can import this module without them.

__all__ = ["EvalInputError", "add_arguments", "evaluate", "run"]


class EvalInputError(UserError):
    """Input that cannot be evaluated: a bad option or a missing optional dependency.

    A missing or empty dataset folder is ``warp_synth.shards.DatasetError``, as for every reader."""

SCHEMA_VERSION = 1


def _names(dirs: list[Path]) -> list[str]:
    names: list[str] = []
    for d in dirs:
        base = d.resolve().name or str(d)
        name, k = base, 2
        while name in names:
            name, k = f"{base}#{k}", k + 1
        names.append(name)
    return names


def _gap(ds: dict, ref: dict) -> dict:
    from warp_synth.usage import DTYPE_NAMES, FEATURES

    def missing(key: str, universe: tuple[str, ...] | None = None) -> list[str]:
        have = set(ds[key]["records_using"])
        want = ref[key]["records_using"]
        out = [k for k in want if k not in have]
        return [k for k in universe if k in out] if universe else sorted(out)

    return {"dataset": ds["name"], "builtins_missing": missing("builtin_coverage"),
            "dtypes_missing": missing("dtype_coverage", DTYPE_NAMES),
            "features_missing": missing("feature_coverage", FEATURES)}


def evaluate(
    dirs: list[Path],
    reference: Path | None,
    out: Path,
    *,
    vendi_sample: int = 1000,
    seed: int = 0,
    progress: bool = True,
    workers: int | None = None,
    builtin_names: list[str] | None = None,
) -> dict:
    """Evaluate ``dirs`` (and ``reference``), write the three report files to ``out``, return the JSON.

    ``builtin_names`` overrides Warp's builtin list (tests use a small known universe);
    ``workers`` defaults to the number of CPUs (at most 8).
    """
    dirs = [Path(d) for d in dirs]
    if not dirs:
        raise EvalInputError("no dataset directory given")
    for d in dirs:
        find_shards([d])  # fail before any work
    if vendi_sample < 1:
        raise EvalInputError(f"--vendi-sample must be >= 1, got {vendi_sample}")
    try:
        from warp_synth.eval import plots
        from warp_synth.eval.dataset import default_workers, scan_dataset
        from warp_synth.eval.decontam import Reference
        from warp_synth.eval.decontam_report import (
            BOILERPLATE_MIN_DOCS,
            BOILERPLATE_SHARE,
            NGRAM,
            dataset_contamination,
        )
        from warp_synth.eval.digest import NUM_PERM, SHINGLE
        from warp_synth.eval.metrics import NEAR_THRESHOLD
        from warp_synth.eval.render import build_sections, to_html, to_markdown
        from warp_synth.extract import kernel_builtin_names
    except ImportError as e:
        raise EvalInputError(
            f"missing optional dependency {e.name!r}; install it with: pip install 'warp-synth[eval]'"
        ) from e
    # REF in any of its forms, read (and checked: a one-line error) before any dataset is scanned
    decontam = Reference.from_path(Path(reference)) if reference is not None else None
    ref_dir = Path(reference) if decontam is not None and decontam.form == "dataset" else None
    names_list = sorted(builtin_names) if builtin_names is not None else kernel_builtin_names()
    names = frozenset(names_list)
    n_workers = workers if workers is not None else default_workers()

    def scan(d: Path, name: str) -> DatasetStats:
        return scan_dataset(d, names, name=name, vendi_sample=vendi_sample, seed=seed, workers=n_workers,
                            progress=progress)

    stats = [scan(d, n) for d, n in zip(dirs, _names(dirs), strict=True)]
    ref_stats = scan(ref_dir, _names([ref_dir])[0]) if ref_dir is not None else None

    results = [s.result(names_list) for s in stats]
    if decontam is not None:
        for r, d in zip(results, dirs, strict=True):
            r["contamination"] = dataset_contamination(decontam, d).to_json()
    ref_result = ref_stats.result(names_list) if ref_stats is not None else None
    report: dict = {
        "schema": SCHEMA_VERSION,
        "generated_at": utc_now(),
        "settings": {"vendi_sample": vendi_sample, "seed": seed, "near_dup_threshold": NEAR_THRESHOLD,
                     "shingle": SHINGLE, "num_perm": NUM_PERM, "warp_builtins": len(names_list)},
    }
    if len(results) == 1:
        report.update(results[0])
    report["datasets"] = results
    report["reference"] = ref_result
    report["reference_gaps"] = [_gap(r, ref_result) for r in results] if ref_result else []
    report["contamination_reference"] = None if decontam is None else {
        **decontam.describe(), "near_threshold": NEAR_THRESHOLD, "ngram": NGRAM,
        "boilerplate_share": BOILERPLATE_SHARE, "boilerplate_min_kernels": BOILERPLATE_MIN_DOCS}

    all_stats = stats + ([ref_stats] if ref_stats is not None else [])
    all_results = results + ([ref_result] if ref_result is not None else [])
    figs = {
        "category_mix": plots.category_mix(all_results),
        "builtins": plots.builtin_usage(all_results, names_list),
        "lengths": plots.length_distributions(all_stats),
        "skeletons": plots.skeleton_clusters(all_results),
    }
    for r in results:
        figs[f"origin:{r['name']}"] = plots.metrics_per_origin(r)

    out.mkdir(parents=True, exist_ok=True)
    title = "warp-synth diversity report: " + ", ".join(r["name"] for r in results)
    notes = [f"Generated {report['generated_at']}. Datasets: "
             + "; ".join(f"{r['name']} = {r['path']} ({r['records']} records)" for r in all_results)]
    sections = build_sections(report, figs)
    _write(out / "report.json", json.dumps(report, indent=2, sort_keys=False) + "\n")
    _write(out / "report.md", to_markdown(title, sections))
    _write(out / "report.html", to_html(title, sections, notes))
    return report


def _write(path: Path, text: str) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("dirs", metavar="DIR", nargs="+", type=Path, help="dataset directory with *.jsonl shards")
    parser.add_argument("--reference", metavar="REF", type=Path, default=None,
                        help="reference to compare against and to measure contamination by: a dataset folder "
                             "(e.g. kernels mined by `synth mine`), a folder of .py files (a benchmark's kernels), "
                             "a .py file or a .jsonl file of {python_source|code|source} objects")
    parser.add_argument("--out", metavar="REPORT_DIR", type=Path, required=True,
                        help="directory for report.html, report.md and report.json")
    parser.add_argument("--vendi-sample", type=int, default=1000,
                        help="records sampled (reservoir) for the Vendi score (default 1000)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the Vendi reservoir sample")


def run(args: argparse.Namespace) -> int:
    report = evaluate(list(args.dirs), args.reference, args.out, vendi_sample=args.vendi_sample,
                      seed=args.seed, progress=not getattr(args, "quiet", False))
    total = sum(d["records"] for d in report["datasets"])
    print(f"synth eval: {total} records -> {args.out / 'report.html'}", file=sys.stderr)
    return 0


if __name__ == "__main__":  # ``python -m warp_synth.eval.report ...`` works like ``synth eval ...``
    from warp_synth.synth.cli import main

    sys.exit(main(["eval", *sys.argv[1:]]))
