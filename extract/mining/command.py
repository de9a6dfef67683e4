"""``synth mine PATH...`` (alias ``synth extract``): mine the kernels of existing Warp programs.

    synth mine examples/core examples/tile --out data/mined

Flow: ``files.discover`` lists the ``.py`` files that mention ``wp.kernel``; ``pipeline.mine``
imports them in child processes, cuts every kernel (every declared overload of a generic kernel)
into a self-contained unit source (``kernel_source``), compiles the units through the
``Extractor`` like any other (trusted, so without the static screen) and appends the accepted
ones as ``kind="mined"`` records to ``--out`` through ``warp_synth.store.Store``: the same
``shard-NNNNN.jsonl`` shards, lock, fsync, torn-line repair and id dedup as ``synth run``, so
``synth eval``/``synth export``/``synth verify`` read a mined folder like any other.  Ids
already in the folder are skipped.  ``stats.json`` keeps every run's counts (``runs``).

Every kernel is accounted for: printed per file as mined or skipped with its reason; progress
goes to stderr as files finish (``progress``).
"""

from __future__ import annotations

import argparse
from collections import Counter
from pathlib import Path
from typing import Any

from warp_synth.extract.mining.files import MinePathError, discover
from warp_synth.extract.mining.pipeline import MineResult, mine, mining_options
from warp_synth.extract.mining.progress import FileProgress
from warp_synth.shards import STATS, folder_shards
from warp_synth.store import Store

# What makes a folder a mined dataset (``settings.json``; a ``synth run`` folder is refused).
MINED_SETTINGS: dict[str, Any] = {"schema": 1, "kind": "mined"}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "paths", nargs="+", metavar="PATH", help="Warp source files or folders (searched recursively)"
    )
    parser.add_argument(
        "--out",
        default="data/mined",
        metavar="DIR",
        help="dataset folder: records are appended as DIR/shard-NNNNN.jsonl (default: %(default)s)",
    )
    parser.add_argument(
        "--workers", type=int, default=2, help="extraction worker processes (default: %(default)s)"
    )
    parser.add_argument(
        "--batch-size", type=int, default=32, help="units compiled per batch (default: %(default)s)"
    )
    parser.add_argument("--with-ptx", action="store_true", help="also store each kernel's PTX")
    parser.add_argument(
        "--timeout",
        type=float,
        default=60.0,
        metavar="SECONDS",
        help="time limit for importing one file (default: %(default)s)",
    )
    parser.add_argument(
        "--no-progress",
        action="store_true",
        help="no progress on stderr (by default: a bar on a terminal, else one line per finished file)",
    )


def _first_line(text: str) -> str:
    text = text.strip()
    return text.splitlines()[0] if text else ""


def _shard_sizes(out: Path) -> dict[str, int]:
    return {p.name: p.stat().st_size for p in folder_shards(out)}


def written_shards(out: Path, before: dict[str, int]) -> list[str]:
    """Names of the shards that grew since ``before`` (``_shard_sizes``), in order."""
    return [name for name, size in _shard_sizes(out).items() if before.get(name) != size]


def run_stats(result: MineResult, passed_over: int, shards: list[str]) -> dict[str, Any]:
    reports = result.reports
    reasons = Counter(k.reason for rep in reports for k in rep.kernels if not k.mined)
    return {
        "files": len(reports),
        "files_without_kernels_passed_over": passed_over,
        "files_not_importable": sum(1 for r in reports if r.error),
        "kernels": sum(len(r.kernels) for r in reports),
        "mined": sum(r.mined for r in reports),
        "skipped": sum(r.skipped for r in reports),
        "records_written": result.records_written,
        "duplicates": result.duplicates,
        "shard": shards[0] if shards else None,
        "shards": shards,
        "skipped_by_reason": {str(reason): n for reason, n in sorted(reasons.items())},
        "by_file": {
            r.file.relative: {
                "kernels": len(r.kernels),
                "mined": r.mined,
                "skipped": r.skipped,
                **({"error": str(r.error), "message": r.message} if r.error else {}),
            }
            for r in reports
        },
        "pool": result.pool,
    }


def write_stats(store: Store, stats: dict[str, Any]) -> None:
    """``stats.json``: ``kind``, the folder's ``records``, this run as ``last_run``, every run."""
    previous = store.read_json(STATS) or {}
    runs = previous.get("runs")
    runs = [*runs, stats] if isinstance(runs, list) else [stats]
    store.write_json(STATS, {"kind": "mined", "records": store.count, "last_run": stats, "runs": runs})


def print_report(result: MineResult, passed_over: int, out: Path, shards: list[str]) -> None:
    reports = result.reports
    for rep in reports:
        print(rep.line())
        for k in rep.kernels:
            if not k.mined:
                print(f"  skipped {k.name}: {k.reason}: {_first_line(k.message)}")
    kernels = sum(len(r.kernels) for r in reports)
    mined = sum(r.mined for r in reports)
    where = out / shards[0] if shards else out
    if len(shards) > 1:
        where = f"{where} .. {shards[-1]}"
    print(
        f"total: {len(reports)} files, {kernels} kernels, {mined} mined, {kernels - mined} skipped; "
        f"{result.records_written} new records ({result.duplicates} duplicates skipped) -> {where}"
        + (f"; {passed_over} files without kernels passed over" if passed_over else "")
    )


def run(args: argparse.Namespace) -> int:
    files, passed_over = discover(args.paths)
    if not files:
        raise MinePathError(f"no Python file mentioning wp.kernel under {' '.join(args.paths)}")
    if args.workers < 1 or args.batch_size < 1 or args.timeout <= 0:
        raise MinePathError("--workers, --batch-size and --timeout must be positive")
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise MinePathError(f"--out {args.out} exists and is not a directory")
    store = Store.open(out, settings=MINED_SETTINGS)
    try:
        before = _shard_sizes(out)
        label = f"synth {getattr(args, 'command', None) or 'mine'}"
        progress = FileProgress(len(files), label=label, enabled=not args.no_progress)
        try:
            result = mine(
                files,
                options=mining_options(args.workers, args.batch_size, args.with_ptx),
                timeout=args.timeout,
                store=store,
                on_file=progress.file_finished,
            )
        finally:
            progress.close()
        shards = written_shards(out, before)
        write_stats(store, run_stats(result, passed_over, shards))
    finally:
        store.close()
    print_report(result, passed_over, out, shards)
    return 0
