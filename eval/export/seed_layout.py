"""``synth export --format seed``: the seed pipeline's layout, field for field.

``OUT/cpu/<id>.json`` and ``OUT/cuda/<id>.json``, one pretty-printed JSON object per pair with
exactly the seed report's fields (``id``, ``kernel_name``, ``kernel_type``, ``python_source``,
``ir_forward``, ``ir_backward``, ``device``, ``generated_at``, ``metadata``), plus a
``stats.json`` in each folder, as the seed had.

``metadata`` starts with the seed's ``num_params``, ``num_lines``, ``module_id`` and carries the
rest of the record's metadata; what the seed had no field for is kept there under ``origin``,
``parent_id``, ``ir_helpers`` (when the kernel uses helpers), ``ir_ptx`` (CUDA, when made) and
``execution`` (when the record has one), so ``read_seed`` rebuilds every record exactly.

Like the seed's, ``stats.json`` sits next to the pairs, so the seed's loading snippet
(``Path(...).glob("*.json")``) loads it too: it is the one object without an ``id``.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from warp_synth.records import Record, utc_now

DEVICES = ("cpu", "cuda")
SEED_FIELDS = ("id", "kernel_name", "kernel_type", "python_source", "ir_forward", "ir_backward", "device",
               "generated_at", "metadata")
_SEED_META = ("num_params", "num_lines", "module_id")
# record fields the seed layout has no place for -> metadata key
_EXTRA_META = {"origin": "origin", "parent_id": "parent_id"}
_IR_META = {"helpers": "ir_helpers", "ptx": "ir_ptx"}


def seed_pair(rec: Record, device: str) -> dict[str, Any]:
    """The seed-layout object of one record for one device."""
    meta: dict[str, Any] = {k: rec.metadata[k] for k in _SEED_META if k in rec.metadata}
    meta.update((k, v) for k, v in rec.metadata.items() if k not in meta)
    meta["origin"] = rec.origin
    meta["parent_id"] = rec.parent_id
    if rec.execution is not None:
        meta["execution"] = rec.execution
    ir = rec.ir[device]
    for key, meta_key in _IR_META.items():
        if key in ir:
            meta[meta_key] = ir[key]
    return {
        "id": rec.id,
        "kernel_name": rec.kernel_name,
        "kernel_type": rec.kernel_type,
        "python_source": rec.python_source,
        "ir_forward": ir["forward"],
        "ir_backward": ir["backward"],
        "device": device,
        "generated_at": rec.generated_at,
        "metadata": meta,
    }


@dataclass(slots=True)
class SeedSink:
    root: Path
    pairs: int = 0
    by_kernel_type: Counter[str] = field(default_factory=Counter)
    by_origin: Counter[str] = field(default_factory=Counter)
    warp_versions: Counter[str] = field(default_factory=Counter)
    bytes_by_device: dict[str, int] = field(default_factory=lambda: dict.fromkeys(DEVICES, 0))

    def __post_init__(self) -> None:
        for device in DEVICES:
            (self.root / device).mkdir(parents=True, exist_ok=True)

    def add(self, rec: Record) -> None:
        for device in DEVICES:
            data = json.dumps(seed_pair(rec, device), indent=2, ensure_ascii=False) + "\n"
            path = self.root / device / f"{rec.id}.json"
            path.write_text(data, encoding="utf-8")
            self.bytes_by_device[device] += len(data.encode("utf-8"))
        self.pairs += 1
        self.by_kernel_type[rec.kernel_type] += 1
        self.by_origin[rec.origin] += 1
        wv = rec.metadata.get("warp_version")
        self.warp_versions[wv if isinstance(wv, str) else "unknown"] += 1

    def finish(self, sources: list[str]) -> dict[str, Any]:
        """Write ``<device>/stats.json``; return the CPU one (they differ only in device and size)."""
        first: dict[str, Any] = {}
        for device in DEVICES:
            stats = {
                "device": device,
                "total_pairs": self.pairs,
                "total_size_mb": round(self.bytes_by_device[device] / 1e6, 3),
                "by_kernel_type": dict(sorted(self.by_kernel_type.items())),
                "by_origin": dict(sorted(self.by_origin.items())),
                "warp_versions": dict(sorted(self.warp_versions.items())),
                "exported_at": utc_now(),
                "sources": sources,
            }
            with open(self.root / device / "stats.json", "w", encoding="utf-8") as f:
                json.dump(stats, f, indent=2)
                f.write("\n")
                f.flush()
                os.fsync(f.fileno())
            first = first or stats
        return first


def record_from_seed(cpu: dict[str, Any], cuda: dict[str, Any]) -> dict[str, Any]:
    """The record (as its JSON dict) that a pair of seed files was made from."""
    irs: dict[str, dict[str, str]] = {}
    for device, pair in (("cpu", cpu), ("cuda", cuda)):
        ir = {"forward": pair["ir_forward"], "backward": pair["ir_backward"]}
        for key, meta_key in _IR_META.items():
            if meta_key in pair["metadata"]:
                ir[key] = pair["metadata"][meta_key]
        irs[device] = ir
    meta = {k: v for k, v in cpu["metadata"].items()
            if k not in _EXTRA_META and k not in _IR_META.values() and k != "execution"}
    out = {
        "id": cpu["id"],
        "kernel_name": cpu["kernel_name"],
        "kernel_type": cpu["kernel_type"],
        "python_source": cpu["python_source"],
        "ir": irs,
        "origin": cpu["metadata"]["origin"],
        "generated_at": cpu["generated_at"],
        "metadata": meta,
        "parent_id": cpu["metadata"]["parent_id"],
    }
    if "execution" in cpu["metadata"]:
        out["execution"] = cpu["metadata"]["execution"]
    return out


def read_seed(root: Path) -> Iterator[dict[str, Any]]:
    """Every record of a seed-format export (stats.json skipped), rebuilt from its two files."""
    for path in sorted((root / "cpu").glob("*.json")):
        if path.name == "stats.json":
            continue
        cpu = json.loads(path.read_text(encoding="utf-8"))
        cuda = json.loads((root / "cuda" / path.name).read_text(encoding="utf-8"))
        yield record_from_seed(cpu, cuda)
