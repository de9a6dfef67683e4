"""``synth extract PATH...``: mine the kernels of existing Warp programs into records.

    synth extract examples/core examples/tile --out data/mined

Flow: ``mine_files.discover`` lists the ``.py`` files that mention ``wp.kernel``;
``mine_files.slice_files`` imports them in child processes and cuts every kernel (every
declared overload of a generic kernel) into a self-contained unit source
(``extract.mining.kernel_source``); the units compile through the ``Extractor`` like any other (trusted,
so without the static screen); accepted ones become ``kind="mined"`` records appended to
``--out`` (ids already there are skipped) together with ``stats.json``.

Every kernel is accounted for: printed per file as mined or skipped with its reason.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import os
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from warp_synth.extract.engine import ExtractOptions, Extractor
from warp_synth.extract.mining.child import FileSlices
from warp_synth.extract.mining.files import MinePathError, SourceFile, discover, slice_files
from warp_synth.identity import record_id
from warp_synth.records import Accepted, Record, Unit, make_record

SHARD_PREFIX = "mined-"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "paths", nargs="+", metavar="PATH", help="Warp source files or folders (searched recursively)"
    )
    parser.add_argument(
        "--out",
        default="data/mined",
        metavar="DIR",
        help="dataset folder: records are appended as DIR/mined-NNNNN.jsonl (default: %(default)s)",
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


@dataclass(slots=True)
class KernelResult:
    name: str
    mined: bool
    reason: str = ""
    message: str = ""
    record_id: str | None = None


@dataclass(slots=True)
class FileReport:
    file: SourceFile
    error: str | None = None
    message: str = ""
    kernels: list[KernelResult] = field(default_factory=list)

    @property
    def mined(self) -> int:
        return sum(k.mined for k in self.kernels)

    def line(self) -> str:
        n = len(self.kernels)
        plural = "s" if n != 1 else ""
        head = f"{self.file.display}: {n} kernel{plural}, {self.mined} mined, {n - self.mined} skipped"
        if self.error:
            head += f" ({'import failed' if self.error == 'import_error' else self.error}: {self.message})"
        return head


def _first_line(text: str) -> str:
    text = text.strip()
    return text.splitlines()[0] if text else ""


def warp_version() -> str:
    try:
        return importlib.metadata.version("warp-lang")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def existing_ids(out: Path) -> set[str]:
    ids: set[str] = set()
    for shard in sorted(out.glob("*.jsonl")):
        with shard.open(encoding="utf-8") as f:
            for line in f:
                line = line.strip()
                if line:
                    try:
                        ids.add(json.loads(line)["id"])
                    except (ValueError, KeyError, TypeError):
                        continue
    return ids


def next_shard(out: Path) -> Path:
    n = 0
    for p in out.glob(f"{SHARD_PREFIX}*.jsonl"):
        stem = p.stem[len(SHARD_PREFIX) :]
        if stem.isdigit():
            n = max(n, int(stem) + 1)
    return out / f"{SHARD_PREFIX}{n:05d}.jsonl"


def _progress(total: int, desc: str) -> Any:
    try:
        from tqdm import tqdm
    except ImportError:  # progress is a nicety
        return None
    return tqdm(
        total=total,
        desc=desc,
        unit="file" if desc.startswith("import") else "kernel",
        file=sys.stderr,
        leave=False,
        disable=None,
    )


def mine(
    files: list[SourceFile], *, out: Path, options: ExtractOptions, timeout: float
) -> tuple[list[FileReport], list[Record], dict[str, Any]]:
    """Slice and extract ``files``; returns per-file reports, the new records and run counters."""
    bar = _progress(len(files), "importing")
    slices = slice_files(files, timeout, on_file=(lambda _fs: bar.update(1)) if bar is not None else None)
    if bar is not None:
        bar.close()

    reports: list[FileReport] = []
    units: list[Unit] = []
    pending: dict[str, tuple[FileReport, KernelResult, str]] = {}  # unit key -> where its outcome goes
    for sf in files:
        fs: FileSlices = slices[sf.path]
        rep = FileReport(sf, fs.error, fs.message)
        reports.append(rep)
        for ks in fs.kernels:
            kr = KernelResult(ks.name, mined=False, reason=ks.reason or "", message=ks.message)
            rep.kernels.append(kr)
            if ks.source is not None:
                key = f"u{len(units)}"
                units.append(Unit(key, ks.source, trusted=True))
                pending[key] = (rep, kr, ks.source)

    bar = _progress(len(units), "compiling")
    outcomes = []
    if units:
        with Extractor(options) as ex:
            size = max(1, options.batch_size)
            futures = [
                ex.submit_batch(
                    units[i : i + size], on_done=(lambda r: bar.update(len(r))) if bar is not None else None
                )
                for i in range(0, len(units), size)
            ]
            for f in futures:
                outcomes.extend(f.result())
            pool_stats = ex.stats
    else:
        pool_stats = {}
    if bar is not None:
        bar.close()

    version = warp_version()
    known = existing_ids(out)
    records: list[Record] = []
    duplicates = 0
    for outcome in outcomes:
        rep, kr, source = pending[outcome.key]
        if not isinstance(outcome, Accepted):
            kr.reason, kr.message = outcome.reason, outcome.message
            continue
        kr.mined = True
        kr.reason = kr.message = ""
        rid = record_id(source)
        kr.record_id = rid
        if rid in known:
            duplicates += 1
            continue
        known.add(rid)
        for kir in outcome.kernels:
            records.append(
                make_record(
                    source,
                    kir,
                    record_id=rid,
                    kernel_type="mined",
                    origin="mined",
                    warp_version=version,
                    extra_metadata={"source_file": rep.file.relative, "source_kernel": kr.name},
                )
            )
    run = {"units": len(units), "duplicates": duplicates, "pool": pool_stats}
    return reports, records, run


def write_output(
    out: Path, records: list[Record], reports: list[FileReport], run: dict[str, Any], passed_over: int
) -> Path | None:
    out.mkdir(parents=True, exist_ok=True)
    shard = None
    if records:
        shard = next_shard(out)
        with shard.open("x", encoding="utf-8") as f:
            for r in records:
                f.write(json.dumps(r.to_json_dict(), ensure_ascii=False) + "\n")
    stats = run_stats(reports, records, run, passed_over, shard)
    stats_path = out / "stats.json"
    previous: dict[str, Any] = {}
    if stats_path.exists():
        try:
            previous = json.loads(stats_path.read_text(encoding="utf-8"))
        except ValueError:
            previous = {}
    runs = [*previous.get("runs", []), stats] if isinstance(previous.get("runs"), list) else [stats]
    total = len(existing_ids(out))
    tmp = stats_path.with_suffix(".json.tmp")
    tmp.write_text(
        json.dumps({"kind": "mined", "records": total, "last_run": stats, "runs": runs}, indent=2) + "\n",
        encoding="utf-8",
    )
    os.replace(tmp, stats_path)
    return shard


def run_stats(
    reports: list[FileReport],
    records: list[Record],
    run: dict[str, Any],
    passed_over: int,
    shard: Path | None,
) -> dict[str, Any]:
    reasons = Counter(k.reason for rep in reports for k in rep.kernels if not k.mined)
    return {
        "files": len(reports),
        "files_without_kernels_passed_over": passed_over,
        "files_not_importable": sum(1 for r in reports if r.error),
        "kernels": sum(len(r.kernels) for r in reports),
        "mined": sum(r.mined for r in reports),
        "skipped": sum(len(r.kernels) - r.mined for r in reports),
        "records_written": len(records),
        "duplicates": run["duplicates"],
        "shard": shard.name if shard else None,
        "skipped_by_reason": dict(sorted(reasons.items())),
        "by_file": {
            r.file.relative: {
                "kernels": len(r.kernels),
                "mined": r.mined,
                "skipped": len(r.kernels) - r.mined,
                **({"error": r.error, "message": r.message} if r.error else {}),
            }
            for r in reports
        },
        "pool": run["pool"],
    }


def print_report(
    reports: list[FileReport],
    records: list[Record],
    run: dict[str, Any],
    passed_over: int,
    out: Path,
    shard: Path | None,
) -> None:
    for rep in reports:
        print(rep.line())
        for k in rep.kernels:
            if not k.mined:
                print(f"  skipped {k.name}: {k.reason}: {_first_line(k.message)}")
    kernels = sum(len(r.kernels) for r in reports)
    mined = sum(r.mined for r in reports)
    print(
        f"total: {len(reports)} files, {kernels} kernels, {mined} mined, {kernels - mined} skipped; "
        f"{len(records)} new records ({run['duplicates']} duplicates skipped) -> "
        f"{shard if shard else out}"
        + (f"; {passed_over} files without kernels passed over" if passed_over else "")
    )


def mining_options(workers: int = 2, batch_size: int = 32, with_ptx: bool = False) -> ExtractOptions:
    """Real programs' kernels (tile GEMMs, MLPs) compile far longer than generated ones: give
    each batch 5 minutes plus 30 s per unit before the worker is deemed hung.  No size cap: every
    kernel Warp can compile is mined, however large its generated code."""
    return ExtractOptions(
        workers=workers, batch_size=batch_size, with_ptx=with_ptx, timeout_base=300.0, timeout_per_unit=30.0,
        max_ir_kb=0,
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
    options = mining_options(args.workers, args.batch_size, args.with_ptx)
    reports, records, stats = mine(files, out=out, options=options, timeout=args.timeout)
    shard = write_output(out, records, reports, stats, passed_over)
    print_report(reports, records, stats, passed_over, out, shard)
    return 0
