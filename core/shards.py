"""The on-disk format of a dataset, and its one reader and validator.

A dataset folder holds records as JSON lines in ``shard-NNNNN.jsonl`` files (written only by
``warp_synth.store.Store``, by ``synth run`` and ``synth mine`` alike), next to
``settings.json`` (what made it), ``state.json`` (a run's resume cursor) and ``stats.json``.
Every reader (``synth verify``, ``synth eval``, ``synth export``, the benchmarks) finds shards
with ``find_shards`` and checks each line with ``parse_line``, so a line one command accepts no
other refuses.

* ``parse_line``: the record on one line, or ``ValueError`` with a short reason (not JSON, not
  an object, a missing field, a field of the wrong type, an id that is not a plain name, an IR
  that is not ``{cpu, cuda} x {forward, backward}`` text).
* ``iter_records``: unique, well-formed records in folder, shard and line order; corrupt lines
  and repeated ids are counted in a ``ReadCounts`` (with a few ``DIR/SHARD:LINE: reason``
  examples) and skipped, the first occurrence of an id wins.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from warp_synth.errors import UserError
from warp_synth.records import Record, RejectRecord

SHARD_PREFIX = "shard-"
SHARD_GLOB = f"{SHARD_PREFIX}*.jsonl"
SETTINGS = "settings.json"
STATE = "state.json"
STATS = "stats.json"
REJECTS = "rejects"  # ``synth run --keep-rejects``: OUT/rejects/shard-NNNNN.jsonl of RejectRecord rows
MAX_CORRUPT_EXAMPLES = 5

_BACKENDS = ("cpu", "cuda")
_PASSES = ("forward", "backward")
_TEXT_FIELDS = ("id", "kernel_name", "kernel_type", "python_source", "origin", "generated_at")
T = TypeVar("T", Record, RejectRecord)
_SAFE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")


class DatasetError(UserError):
    """A folder that is not a readable dataset (missing, or without shards)."""


def shard_path(root: Path, index: int) -> Path:
    return root / f"{SHARD_PREFIX}{index:05d}.jsonl"


def shard_index(path: Path) -> int | None:
    """``N`` of ``shard-N.jsonl``; None for any other name."""
    stem = path.stem
    digits = stem[len(SHARD_PREFIX):] if stem.startswith(SHARD_PREFIX) else ""
    return int(digits) if digits.isdigit() else None


def folder_shards(root: Path) -> list[Path]:
    """The shards of one folder in index order (empty when there are none)."""
    found = [p for p in root.glob(SHARD_GLOB) if p.is_file() and shard_index(p) is not None]
    return sorted(found, key=lambda p: (shard_index(p), p.name))


def find_shards(dirs: Iterable[Path]) -> list[Path]:
    """Every shard of ``dirs``, folder by folder; a missing folder or one without shards is an error."""
    shards: list[Path] = []
    for d in dirs:
        if not d.is_dir():
            raise DatasetError(f"{d}: no such dataset folder")
        found = folder_shards(d)
        if not found:
            raise DatasetError(f"{d}: no {SHARD_GLOB} files (is it a 'synth run' or 'synth mine' output folder?)")
        shards.extend(found)
    return shards


def _check_ir(ir: Any) -> str | None:
    """Why ``ir`` is not a usable record IR, or None."""
    if not isinstance(ir, dict):
        return "ir is not an object"
    for backend in _BACKENDS:
        b = ir.get(backend)
        if not isinstance(b, dict):
            return f"ir lacks {backend}"
        for key in _PASSES:
            if not isinstance(b.get(key), str):
                return f"ir.{backend}.{key} is not text"
        for key in ("helpers", "ptx"):
            if key in b and b[key] is not None and not isinstance(b[key], str):
                return f"ir.{backend}.{key} is not text"
    return None


def parse_line(line: str | bytes) -> Record:
    """The record on one JSONL line; ``ValueError`` with a short reason otherwise."""
    try:
        d = json.loads(line)  # bytes that are not UTF-8 raise UnicodeDecodeError, a ValueError
    except UnicodeDecodeError:
        raise ValueError("not UTF-8 text") from None
    except ValueError as e:
        raise ValueError(f"not JSON ({getattr(e, 'msg', e)})") from None
    if not isinstance(d, dict):
        raise ValueError("not a JSON object")
    rec = Record.from_json_dict(d)  # raises ValueError naming missing fields
    for name in _TEXT_FIELDS:
        if not isinstance(getattr(rec, name), str):
            raise ValueError(f"{name} is not text")
    if not _SAFE_ID.match(rec.id) or rec.id == "stats":  # ids become file names in the seed layout
        raise ValueError(f"id {rec.id[:40]!r} is not a plain name")
    why = _check_ir(rec.ir)
    if why:
        raise ValueError(why)
    if not isinstance(rec.metadata, dict):
        raise ValueError("metadata is not an object")
    if rec.parent_id is not None and not isinstance(rec.parent_id, str):
        raise ValueError("parent_id is not text")
    if rec.description is not None and not isinstance(rec.description, str):
        raise ValueError("description is not text")
    return rec


def line_label(shard: Path, lineno: int) -> str:
    """How a line is named in messages: ``DIR/SHARD:LINE``."""
    return f"{shard.parent.name}/{shard.name}:{lineno}"


def iter_lines(shards: Iterable[Path]) -> Iterator[tuple[str, bytes]]:
    """``(label, raw line)`` of every non-blank line, for readers that parse in other processes."""
    for shard in shards:
        with shard.open("rb") as f:
            for lineno, raw in enumerate(f, 1):
                if raw.strip():
                    yield line_label(shard, lineno), raw


@dataclass(slots=True)
class ReadCounts:
    """What reading kept and dropped, and why."""

    lines: int = 0  # non-blank lines read
    records: int = 0  # records yielded (unique ids)
    corrupt: int = 0
    duplicate_ids: int = 0
    corrupt_examples: list[str] = field(default_factory=list)

    def corrupt_line(self, label: str, why: str) -> None:
        self.corrupt += 1
        if len(self.corrupt_examples) < MAX_CORRUPT_EXAMPLES:
            self.corrupt_examples.append(f"{label}: {why}")

    def to_json(self) -> dict[str, Any]:
        return {
            "lines": self.lines,
            "records": self.records,
            "corrupt_lines": self.corrupt,
            "duplicate_ids": self.duplicate_ids,
            "corrupt_examples": list(self.corrupt_examples),
        }


def _unique(lines: Iterable[tuple[str, bytes]], parse: Callable[[bytes], T], counts: ReadCounts) -> Iterator[T]:
    """The rows ``parse`` accepts, first occurrence of an id only; ``counts`` is updated as they go."""
    seen: set[str] = set()
    for label, raw in lines:
        counts.lines += 1
        try:
            row = parse(raw)
        except ValueError as e:
            counts.corrupt_line(label, str(e))
            continue
        if row.id in seen:  # type: ignore[attr-defined]
            counts.duplicate_ids += 1
            continue
        seen.add(row.id)  # type: ignore[attr-defined]
        counts.records += 1
        yield row


def iter_records(shards: Iterable[Path], counts: ReadCounts | None = None) -> Iterator[Record]:
    """Unique, well-formed records of ``shards`` in order; ``counts`` is updated as they go."""
    return _unique(iter_lines(shards), parse_line, counts if counts is not None else ReadCounts())


def read_json_or_none(path: Path) -> Any:
    """A folder's ``settings.json`` / ``stats.json``: optional, and never fatal when unreadable."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _parse_reject(raw: bytes) -> RejectRecord:
    obj = json.loads(raw)
    if not isinstance(obj, dict):
        raise ValueError("not a JSON object")
    return RejectRecord.from_json_dict(obj)


def iter_rejects(dirs: Iterable[Path], counts: ReadCounts | None = None) -> Iterator[RejectRecord]:
    """The rejected candidates ``--keep-rejects`` kept in ``DIR/rejects`` of each of ``dirs`` (none for a
    folder without them), in folder, shard and line order; corrupt lines are counted and skipped."""
    shards = [p for d in dirs for p in folder_shards(d / REJECTS)]
    return _unique(iter_lines(shards), _parse_reject, counts if counts is not None else ReadCounts())
