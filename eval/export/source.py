"""Read the records of one or more dataset folders for ``synth export``.

Records are streamed line by line from ``DIR/shard-*.jsonl`` (folders in the order given,
shards in name order).  A line that is not a JSON object with the record's fields is counted
as corrupt (with a few ``file:line: reason`` examples) and skipped; a record whose ``id`` was
already seen (in this folder or an earlier one) is counted as a duplicate and skipped, so the
first occurrence wins.  Nothing is held in memory but the set of ids seen.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from warp_synth.errors import UserError
from warp_synth.records import Record

MAX_CORRUPT_EXAMPLES = 5
_BACKENDS = ("cpu", "cuda")
_PASSES = ("forward", "backward")
_SAFE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")


class ExportError(UserError):
    """An expected, user-facing problem (printed as one line, exit status 2)."""


@dataclass(slots=True)
class ReadCounts:
    """What reading the inputs kept and dropped, and why."""

    lines: int = 0  # non-blank lines read
    records: int = 0  # records yielded (unique ids)
    corrupt: int = 0
    duplicate_ids: int = 0
    corrupt_examples: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "lines": self.lines,
            "records": self.records,
            "corrupt_lines": self.corrupt,
            "duplicate_ids": self.duplicate_ids,
            "corrupt_examples": list(self.corrupt_examples),
        }


def find_shards(dirs: list[Path]) -> list[Path]:
    """Every ``shard-*.jsonl`` of ``dirs``; a missing folder or one without shards is an error."""
    shards: list[Path] = []
    for d in dirs:
        if not d.is_dir():
            raise ExportError(f"{d}: no such dataset folder")
        found = sorted(p for p in d.glob("shard-*.jsonl") if p.is_file())
        if not found:
            raise ExportError(f"{d}: no shard-*.jsonl files (is it a 'synth run' output folder?)")
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


def parse_line(line: str) -> Record:
    """The record on one JSONL line; ``ValueError`` with a short reason otherwise."""
    try:
        d = json.loads(line)
    except ValueError as e:
        raise ValueError(f"not JSON ({getattr(e, 'msg', e)})") from None
    if not isinstance(d, dict):
        raise ValueError("not a JSON object")
    rec = Record.from_json_dict(d)  # raises ValueError naming missing fields
    for name in ("id", "kernel_name", "kernel_type", "python_source", "origin", "generated_at"):
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
    return rec


def iter_records(shards: list[Path], counts: ReadCounts) -> Iterator[Record]:
    """Unique, well-formed records of ``shards`` in order; ``counts`` is updated as they go."""
    seen: set[str] = set()
    for shard in shards:
        with shard.open("rb") as f:
            for lineno, raw in enumerate(f, 1):
                if not raw.strip():
                    continue
                counts.lines += 1
                try:
                    rec = parse_line(raw.decode("utf-8"))  # UnicodeDecodeError is a ValueError
                except ValueError as e:
                    counts.corrupt += 1
                    if len(counts.corrupt_examples) < MAX_CORRUPT_EXAMPLES:
                        counts.corrupt_examples.append(f"{shard.parent.name}/{shard.name}:{lineno}: {e}")
                    continue
                if rec.id in seen:
                    counts.duplicate_ids += 1
                    continue
                seen.add(rec.id)
                counts.records += 1
                yield rec


def read_json_or_none(path: Path) -> Any:
    """A folder's ``settings.json`` / ``stats.json``: optional, and never fatal when unreadable."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def source_info(dirs: list[Path]) -> list[dict[str, Any]]:
    """What each input folder says about how it was made (for the card and the manifest)."""
    out: list[dict[str, Any]] = []
    for d in dirs:
        out.append({
            "path": str(d),
            "settings": read_json_or_none(d / "settings.json"),
            "stats": read_json_or_none(d / "stats.json"),
        })
    return out
