"""``synth export``: turn dataset folders into files other tools read.

* ``--format parquet`` (default): ``OUT/data/<split>-NNNNN-of-MMMMM.parquet`` + a dataset card
  ``OUT/README.md`` (``synth/export_parquet.py``, ``synth/export_card.py``).
* ``--format seed``: the seed pipeline's ``OUT/cpu/*.json`` + ``OUT/cuda/*.json`` layout
  (``synth/export_seed.py``).
* ``--format chat``: ``OUT/<split>.jsonl`` chat conversations for fine-tuning
  (``synth/export_chat.py``).

Records are streamed from every ``DIR/shard-*.jsonl`` (first occurrence of an id wins; corrupt
lines are counted, not fatal).  ``--split`` (parquet, chat) first reads the records once to
group them (``synth/export_split.py``), then writes them in a second pass.  Everything is
written to a hidden staging folder next to ``OUT`` and moved into place at the end, so ``OUT``
is never left half-written; ``OUT`` must be new, empty, or (with ``--force``) a previous export
of the same format.  ``OUT/export.json`` records what was exported and marks the folder as an
export.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from warp_synth.eval.export.source import ExportError, source_info
from warp_synth.eval.export.splits import SplitPlan, parse_split_spec, plan_split
from warp_synth.eval.export.tasks import TASKS, RepairLinks
from warp_synth.records import utc_now
from warp_synth.shards import ReadCounts, find_shards, iter_records, iter_rejects

FORMATS = ("parquet", "seed", "chat")
MANIFEST = "export.json"
TOOL = "warp-synth export"
HELP = "export datasets as Parquet + dataset card, the seed's JSON layout, or chat JSONL"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("dirs", nargs="+", metavar="DIR", help="dataset folder(s) holding shard-*.jsonl")
    p.add_argument("--format", choices=FORMATS, default="parquet", help="output format (default: parquet)")
    p.add_argument("--out", required=True, metavar="OUT", help="output folder (new, empty, or a previous export)")
    p.add_argument("--split", metavar="SPEC", default=None,
                   help="parquet/chat: e.g. train=0.9,val=0.05,test=0.05; stratified by kernel_type, "
                        "no normalised source or skeleton in two splits (default: one 'train' split)")
    p.add_argument("--seed", type=int, default=0, help="seed of the split assignment (default: 0)")
    p.add_argument("--shard-rows", type=int, default=50_000, metavar="N",
                   help="parquet: rows per Parquet file (default: 50000)")
    p.add_argument("--license", default="apache-2.0", metavar="ID",
                   help="parquet: license id written in the dataset card (default: apache-2.0)")
    p.add_argument("--device", choices=("cpu", "cuda"), default=None, help="chat: whose IR to answer with (default: cpu)")
    p.add_argument("--pass", dest="ir_pass", choices=("forward", "backward", "both"), default=None,
                   help="chat: which pass to answer with (default: forward)")
    p.add_argument("--no-metadata", action="store_true", help="chat: omit the per-line 'metadata' object")
    p.add_argument("--task", choices=TASKS, default=None,
                   help="chat: translate (Python -> generated IR, the default), implement (description + "
                        "signature + stored examples -> kernel) or repair (broken kernel + error -> fixed "
                        "kernel; needs DIR/rejects from `synth run --keep-rejects`)")
    p.add_argument("--exclude", type=Path, default=None, metavar="REF",
                   help="leave out records (and, for --task repair, broken versions) matching a reference: a "
                        "dataset folder, a folder of .py files or a .jsonl; by normalised source, skeleton or "
                        "MinHash Jaccard >= 0.8 (docs/decontamination.md)")
    p.add_argument("--workers", type=int, default=0, metavar="W",
                   help="processes that normalise sources for --split (default: by input size)")
    p.add_argument("--force", action="store_true", help="replace OUT if it holds a previous export of this format")


def _check_options(args: argparse.Namespace) -> list[tuple[str, float]] | None:
    fmt = args.format
    if fmt != "chat":
        for flag, value in (("--device", args.device), ("--pass", args.ir_pass), ("--no-metadata", args.no_metadata),
                            ("--task", args.task)):
            if value:
                raise ExportError(f"{flag} applies to --format chat only")
    if fmt == "seed" and args.split:
        raise ExportError("--split does not apply to --format seed (the seed layout has no splits)")
    if args.task in ("implement", "repair") and (args.device or args.ir_pass):
        raise ExportError(f"--device and --pass apply to --task translate only, not {args.task}")
    if args.shard_rows < 1:
        raise ExportError(f"--shard-rows must be at least 1, got {args.shard_rows}")
    if args.workers < 0:
        raise ExportError(f"--workers must be 0 (auto) or more, got {args.workers}")
    return parse_split_spec(args.split) if args.split is not None else None


def check_out(out: Path, fmt: str, force: bool) -> None:
    """Refuse an ``OUT`` that holds anything but a previous export of ``fmt`` (that needs --force)."""
    if not out.exists():
        return
    if not out.is_dir():
        raise ExportError(f"{out} exists and is not a folder; use a new --out")
    entries = sorted(p.name for p in out.iterdir())
    if not entries:
        return
    manifest: Any = None
    try:
        manifest = json.loads((out / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        pass
    if not (isinstance(manifest, dict) and manifest.get("tool") == TOOL):
        raise ExportError(f"{out} is not empty and is not a synth export (found {entries[0]!r}); "
                          "use an empty or new --out")
    if manifest.get("format") != fmt:
        raise ExportError(f"{out} holds a {manifest.get('format')} export, not {fmt}; use another --out")
    if not force:
        raise ExportError(f"{out} holds a previous {fmt} export; add --force to replace it")


def _auto_workers(shards: list[Path]) -> int:
    size = sum(p.stat().st_size for p in shards)
    return max(1, min(os.cpu_count() or 1, 8)) if size > 50_000_000 else 1


def _plan(shards: list[Path], ratios: list[tuple[str, float]], seed: int, workers: int,
          links: RepairLinks, excluded: Excluded) -> SplitPlan:
    """The split plan; a record is grouped with the broken versions it repairs (whatever the task, so
    the tasks' exports of one dataset with one seed share their splits)."""
    items = ((r.id, r.kernel_type, (r.python_source, *links.sources_of(r.id, r.metadata)))
             for r in iter_records(shards, ReadCounts()) if r.id not in excluded.ids)
    return plan_split(items, ratios, seed=seed, workers=workers)


@dataclass(slots=True)
class Excluded:
    """What ``--exclude REF`` leaves out: record ids, and the kept rejects no repair row may show."""

    reference: dict[str, Any] | None = None
    ids: set[str] = field(default_factory=set)
    broken: int = 0
    examples: list[dict[str, Any]] = field(default_factory=list)

    @classmethod
    def find(cls, path: Path | None, shards: list[Path], links: RepairLinks) -> Excluded:
        if path is None:
            return cls()
        try:
            from warp_synth.eval.decontam import Reference
        except ImportError:
            raise ExportError("--exclude needs the eval extra (datasketch): pip install 'warp-synth[eval]'") from None
        ref = Reference.from_path(path)
        out = cls(reference=ref.describe())
        for r in iter_records(shards, ReadCounts()):
            m = ref.match(r.python_source)
            if m is not None:
                out.ids.add(r.id)
                if len(out.examples) < 5:
                    out.examples.append({"id": r.id, "ref_id": m.ref_id, "kind": m.kind, "jaccard": round(m.jaccard, 3)})
        out.broken = links.drop(lambda rej: ref.match(rej.python_source) is not None)
        return out

    def to_json(self) -> dict[str, Any] | None:
        if self.reference is None:
            return None
        return {"reference": self.reference, "records": len(self.ids), "broken_versions": self.broken,
                "examples": self.examples}


def _write(args: argparse.Namespace, stage: Path, shards: list[Path], plan: SplitPlan | None,
           counts: ReadCounts, sources: list[dict[str, Any]], links: RepairLinks, excluded: Excluded) -> dict[str, Any]:
    """Write the export into ``stage``; return the manifest's format-specific part."""
    names = plan.names if plan else ["train"]
    per_cat: dict[str, Counter[str]] = {}
    versions: Counter[str] = Counter()
    records = (r for r in iter_records(shards, counts) if r.id not in excluded.ids)
    if args.format == "seed":
        from warp_synth.eval.export.seed_layout import SeedSink

        seed_sink = SeedSink(stage)
        for rec in records:
            seed_sink.add(rec)
            per_cat.setdefault(rec.kernel_type, Counter())["all"] += 1
        _require_records(counts)
        stats = seed_sink.finish([str(d) for d in args.dirs])
        return {"files": ["cpu/*.json", "cuda/*.json", "cpu/stats.json", "cuda/stats.json"],
                "pairs": seed_sink.pairs, "by_kernel_type": stats["by_kernel_type"]}

    sink: Any
    if args.format == "chat":
        from warp_synth.eval.export.chat import ChatSink

        sink = ChatSink(stage, names, args.device or "cpu", args.ir_pass or "forward", not args.no_metadata,
                        task=args.task or "translate", links=links)
    else:
        from warp_synth.eval.export.parquet import ParquetSink

        sink = ParquetSink(stage, names, shard_rows=args.shard_rows)
    try:
        for rec in records:
            split = plan.split_of(rec.id) if plan else "train"
            if sink.add(rec, split) is False:  # chat: empty IR, skipped
                continue
            per_cat.setdefault(rec.kernel_type, Counter())[split] += 1
            wv = rec.metadata.get("warp_version")
            versions[wv if isinstance(wv, str) else "unknown"] += 1
        _require_records(counts)
        files = sink.finish()
    except BaseException:
        if args.format == "chat":
            sink.close()
        raise
    categories = {c: {n: per_cat[c].get(n, 0) for n in names} for c in sorted(per_cat)}
    if args.format == "chat":
        task = {"task": sink.task, "skipped": dict(sorted(sink.skipped.items()))}
        if sink.task == "translate":
            task.update(skipped_empty_ir=sink.empty_ir, device=sink.device, **{"pass": sink.ir_pass})
        if sink.task == "repair" and not links.by_chain and not links.by_parent:
            raise ExportError("no kept rejected candidates to pair (--task repair needs DIR/rejects/ from "
                              "`synth run --keep-rejects`)")
        return {"files": files, "lines": dict(sink.lines), "with_metadata": sink.with_metadata,
                "by_category": categories, **task}

    from warp_synth.eval.export.card import CardFacts, card_text

    sizes = {n: sink.splits[n].rows for n in names}
    download = sum((stage / f).stat().st_size for fs in files.values() for f in fs)
    card = card_text(CardFacts(
        split_sizes=sizes, split_bytes={n: sink.splits[n].nbytes for n in names}, split_files=files,
        categories=categories, warp_versions=dict(versions), sources=sources, export_settings=_settings(args),
        read_counts=counts.to_json(), license_id=args.license, download_size=download,
    ))
    (stage / "README.md").write_text(card, encoding="utf-8")
    return {"files": files, "rows": sizes, "by_category": categories, "warp_versions": dict(versions)}


def _require_records(counts: ReadCounts) -> None:
    if counts.records == 0:
        raise ExportError(f"no valid records to export ({counts.lines} line(s) read, {counts.corrupt} corrupt)")


def _settings(args: argparse.Namespace) -> dict[str, Any]:
    s: dict[str, Any] = {"format": args.format, "split": args.split, "seed": args.seed}
    if args.exclude is not None:
        s["exclude"] = str(args.exclude)
    if args.format == "parquet":
        s.update(shard_rows=args.shard_rows, license=args.license)
    if args.format == "chat":
        s.update(task=args.task or "translate", metadata=not args.no_metadata)
        if (args.task or "translate") == "translate":
            s.update(device=args.device or "cpu", ir_pass=args.ir_pass or "forward")
    return s


def _swap_into_place(stage: Path, out: Path) -> None:
    if out.exists():
        old = out.parent / f".{out.name}.export-{os.getpid()}.old"
        out.rename(old)
        stage.rename(out)
        shutil.rmtree(old, ignore_errors=True)
    else:
        stage.rename(out)


def run(args: argparse.Namespace) -> int:
    ratios = _check_options(args)
    if args.format == "parquet":
        try:
            import pyarrow  # noqa: F401
        except ImportError:
            raise ExportError("--format parquet needs pyarrow: pip install 'warp-synth[export]'") from None
    dirs = [Path(d) for d in args.dirs]
    shards = find_shards(dirs)
    out = Path(args.out)
    check_out(out, args.format, args.force)
    if any(out.resolve() == d.resolve() for d in dirs):
        raise ExportError(f"--out {out} is an input folder")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        stage = out.parent / f".{out.name}.export-{os.getpid()}.tmp"
        if stage.exists():
            shutil.rmtree(stage)
        stage.mkdir()
    except OSError as e:
        raise ExportError(f"cannot write next to {out}: {e.strerror or e}") from None

    try:
        workers = args.workers or _auto_workers(shards)
        reject_counts = ReadCounts()
        links = RepairLinks.of(iter_rejects(dirs, reject_counts))
        excluded = Excluded.find(args.exclude, shards, links)
        plan = _plan(shards, ratios, args.seed, workers, links, excluded) if ratios else None
        counts = ReadCounts()
        sources = source_info(dirs)
        result = _write(args, stage, shards, plan, counts, sources, links, excluded)
        manifest = {
            "tool": TOOL,
            "format": args.format,
            "exported_at": utc_now(),
            "sources": [str(d) for d in dirs],
            "settings": _settings(args),
            "records": counts.records,
            "read": counts.to_json(),
            "rejects_read": reject_counts.to_json(),
            "excluded": excluded.to_json(),
            "split": plan.to_json() if plan else None,
            **result,
        }
        with open(stage / MANIFEST, "w", encoding="utf-8") as f:
            json.dump(manifest, f, indent=2)
            f.write("\n")
        _swap_into_place(stage, out)
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        raise
    _print_summary(out, args.format, counts, result, plan)
    return 0


def _print_summary(out: Path, fmt: str, counts: ReadCounts, result: dict[str, Any], plan: SplitPlan | None) -> None:
    dropped = []
    if counts.corrupt:
        dropped.append(f"{counts.corrupt} corrupt line(s) skipped")
    if counts.duplicate_ids:
        dropped.append(f"{counts.duplicate_ids} duplicate id(s) skipped")
    if result.get("skipped_empty_ir"):
        dropped.append(f"{result['skipped_empty_ir']} with empty IR skipped")
    sizes = result.get("rows") or result.get("lines")
    where = ", ".join(f"{s} {n}" for s, n in sizes.items()) if sizes else f"{result.get('pairs', 0)} pairs per device"
    extra = f" ({'; '.join(dropped)})" if dropped else ""
    print(f"synth export: {counts.records} records{extra} -> {out} [{fmt}]: {where}")
    for example in counts.corrupt_examples:
        print(f"  corrupt: {example}", file=sys.stderr)
    if plan:
        print(f"  split: {plan.groups} source/skeleton groups (largest {plan.largest_group}); "
              + ", ".join(f"{s} {n / max(1, counts.records):.3f}" for s, n in plan.sizes.items()))
        for s, n in plan.sizes.items():
            if n == 0:
                print(f"synth export: warning: split {s!r} is empty: too few source/skeleton groups for its ratio",
                      file=sys.stderr)
