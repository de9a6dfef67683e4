"""``synth export --format parquet``: records as Parquet shards named the Hugging Face way.

One row per record; ``ir`` is flattened into ``ir_<device>_<pass>`` columns (``helpers`` and
``ptx`` are null when a record has none), ``metadata`` is kept whole as a JSON string (its keys
vary by origin) and its stable scalars are promoted to typed columns; so is ``execution`` (the
kernel's CPU run: test vectors, outputs, adjoint check; null for a record without one), with
its ``status`` and ``grad.status`` promoted to ``execution_status`` / ``grad_status``.  Files are
``OUT/data/<split>-NNNNN-of-MMMMM.parquet``: ``datasets`` infers the splits from those names
(``load_dataset("parquet", data_dir=OUT)``), and the card's ``configs`` says the same for
``load_dataset(OUT)``.  Rows are written in batches by ``pyarrow.parquet.ParquetWriter``, so
memory does not grow with the dataset.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from warp_synth.records import Record

# column -> (arrow type name, YAML dtype for the card); order is the file's column order.
COLUMNS: tuple[tuple[str, str], ...] = (
    ("id", "string"),
    ("kernel_name", "string"),
    ("kernel_type", "string"),
    ("python_source", "string"),
    ("ir_cpu_forward", "string"),
    ("ir_cpu_backward", "string"),
    ("ir_cpu_helpers", "string"),
    ("ir_cuda_forward", "string"),
    ("ir_cuda_backward", "string"),
    ("ir_cuda_helpers", "string"),
    ("ir_cuda_ptx", "string"),
    ("origin", "string"),
    ("generated_at", "string"),
    ("parent_id", "string"),
    ("num_params", "int64"),
    ("num_lines", "int64"),
    ("module_id", "string"),
    ("warp_version", "string"),
    ("builtins", "list<string>"),
    ("metadata", "string"),
    ("execution_status", "string"),
    ("grad_status", "string"),
    ("execution", "string"),
)
# (column, device, key) of the optional IR parts: null in the column <=> key absent in ``ir``.
_OPTIONAL_IR = (("ir_cpu_helpers", "cpu", "helpers"), ("ir_cuda_helpers", "cuda", "helpers"),
                ("ir_cuda_ptx", "cuda", "ptx"))
BATCH_ROWS = 1000


def arrow_schema() -> Any:
    import pyarrow as pa

    types = {"string": pa.string(), "int64": pa.int64(), "list<string>": pa.list_(pa.string())}
    return pa.schema([pa.field(name, types[t]) for name, t in COLUMNS])


def _int_or_none(v: Any) -> int | None:
    return v if isinstance(v, int) and not isinstance(v, bool) and -(2**63) <= v < 2**63 else None


def _str_or_none(v: Any) -> str | None:
    return v if isinstance(v, str) else None


def _execution_columns(ex: Any) -> dict[str, Any]:
    if not isinstance(ex, dict):
        return {"execution_status": None, "grad_status": None, "execution": None}
    grad = ex.get("grad")
    return {"execution_status": _str_or_none(ex.get("status")),
            "grad_status": _str_or_none(grad.get("status")) if isinstance(grad, dict) else None,
            "execution": json.dumps(ex, ensure_ascii=False)}


def record_to_row(rec: Record) -> dict[str, Any]:
    meta = rec.metadata
    builtins = meta.get("builtins")
    row: dict[str, Any] = {
        "id": rec.id,
        "kernel_name": rec.kernel_name,
        "kernel_type": rec.kernel_type,
        "python_source": rec.python_source,
        "ir_cpu_forward": rec.ir["cpu"]["forward"],
        "ir_cpu_backward": rec.ir["cpu"]["backward"],
        "ir_cuda_forward": rec.ir["cuda"]["forward"],
        "ir_cuda_backward": rec.ir["cuda"]["backward"],
        "origin": rec.origin,
        "generated_at": rec.generated_at,
        "parent_id": rec.parent_id,
        "num_params": _int_or_none(meta.get("num_params")),
        "num_lines": _int_or_none(meta.get("num_lines")),
        "module_id": _str_or_none(meta.get("module_id")),
        "warp_version": _str_or_none(meta.get("warp_version")),
        "builtins": builtins if isinstance(builtins, list) and all(isinstance(b, str) for b in builtins) else None,
        "metadata": json.dumps(meta, ensure_ascii=False),
        **_execution_columns(rec.execution),
    }
    for column, device, key in _OPTIONAL_IR:
        row[column] = rec.ir[device].get(key)
    return row


def row_to_record(row: dict[str, Any]) -> dict[str, Any]:
    """The record (as its JSON dict) a Parquet row was made from: the inverse of ``record_to_row``."""
    ir: dict[str, dict[str, str]] = {
        "cpu": {"forward": row["ir_cpu_forward"], "backward": row["ir_cpu_backward"]},
        "cuda": {"forward": row["ir_cuda_forward"], "backward": row["ir_cuda_backward"]},
    }
    for column, device, key in _OPTIONAL_IR:
        if row.get(column) is not None:
            ir[device][key] = row[column]
    out = {
        "id": row["id"],
        "kernel_name": row["kernel_name"],
        "kernel_type": row["kernel_type"],
        "python_source": row["python_source"],
        "ir": ir,
        "origin": row["origin"],
        "generated_at": row["generated_at"],
        "metadata": json.loads(row["metadata"]),
        "parent_id": row["parent_id"],
    }
    if row.get("execution") is not None:
        out["execution"] = json.loads(row["execution"])
    return out


@dataclass(slots=True)
class _SplitShards:
    """The shards of one split: rows buffered in batches, a new file every ``shard_rows`` rows."""

    data_dir: Path
    split: str
    shard_rows: int
    rows: int = 0
    nbytes: int = 0  # Arrow in-memory size of the rows (the card's ``num_bytes``)
    files: list[Path] = field(default_factory=list)
    _buffer: list[dict[str, Any]] = field(default_factory=list)
    _writer: Any = None
    _in_file: int = 0

    def add(self, row: dict[str, Any], schema: Any) -> None:
        self._buffer.append(row)
        self.rows += 1
        if len(self._buffer) >= BATCH_ROWS or self._in_file + len(self._buffer) >= self.shard_rows:
            self._flush(schema)

    def _flush(self, schema: Any) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        while self._buffer:
            if self._writer is None:
                path = self.data_dir / f"{self.split}-{len(self.files):05d}.parquet.part"
                self._writer = pq.ParquetWriter(str(path), schema, compression="zstd")
                self.files.append(path)
                self._in_file = 0
            take = min(len(self._buffer), self.shard_rows - self._in_file)
            chunk, self._buffer = self._buffer[:take], self._buffer[take:]
            table = pa.Table.from_pylist(chunk, schema=schema)
            self.nbytes += table.nbytes
            self._writer.write_table(table)
            self._in_file += take
            if self._in_file >= self.shard_rows:
                self._writer.close()
                self._writer = None

    def finish(self, schema: Any) -> list[Path]:
        """Flush, close, and rename the files to ``<split>-NNNNN-of-MMMMM.parquet``."""
        self._flush(schema)
        if self._writer is not None:
            self._writer.close()
            self._writer = None
        # An empty split gets no file: `datasets` fails on a Parquet file without row groups.
        n = len(self.files)
        final = []
        for i, part in enumerate(self.files):
            dest = self.data_dir / f"{self.split}-{i:05d}-of-{n:05d}.parquet"
            part.rename(dest)
            final.append(dest)
        self.files = final
        return final


@dataclass(slots=True)
class ParquetSink:
    """Writes records to ``root/data/<split>-*.parquet``; one ``_SplitShards`` per split."""

    root: Path
    split_names: list[str]
    shard_rows: int = 50_000
    schema: Any = None
    splits: dict[str, _SplitShards] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.schema = arrow_schema()
        data_dir = self.root / "data"
        data_dir.mkdir(parents=True, exist_ok=True)
        self.splits = {s: _SplitShards(data_dir, s, self.shard_rows) for s in self.split_names}

    def add(self, rec: Record, split: str) -> None:
        self.splits[split].add(record_to_row(rec), self.schema)

    def finish(self) -> dict[str, list[str]]:
        """Split -> its files (relative to ``root``); empty splits are left out."""
        files = {s: [str(p.relative_to(self.root)) for p in shards.finish(self.schema)]
                 for s, shards in self.splits.items()}
        return {s: f for s, f in files.items() if f}
