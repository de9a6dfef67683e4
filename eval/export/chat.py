"""``synth export --format chat``: JSONL of chat conversations for supervised fine-tuning.

Each line is ``{"messages": [system, user, assistant], "metadata": {...}}``:

* **system** says what to produce: the C++ (CPU) or CUDA code Warp generates, forward and/or
  backward pass.
* **user** is the seed report's recommended pair layout up to the IR:
  ``"### Python Kernel:\\n{python_source}\\n\\n### Generated IR:"`` (trailing newlines of the
  source dropped), so ``user + "\\n" + assistant`` is exactly the seed's training text.
* **assistant** is the chosen IR verbatim; with ``--pass both`` it is
  ``"### Forward:\\n{forward}\\n\\n### Backward:\\n{backward}"``.
* **metadata** (``id``, ``kernel_name``, ``kernel_type``, ``origin``, ``device``, ``pass``) lets
  a line be traced to its record; chat trainers read only ``messages`` (drop it with
  ``--no-metadata``).

Records whose chosen IR is empty are skipped and counted, as the seed report advises.
Files: ``OUT/<split>.jsonl`` (``train.jsonl`` without ``--split``), which
``load_dataset("json", data_dir=OUT)`` reads split by split.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from warp_synth.eval.export.tasks import RepairLinks, implement_line, repair_line
from warp_synth.records import Record

_DEVICE_TEXT = {"cpu": "the C++ code Warp generates for the CPU", "cuda": "the CUDA code Warp generates for the GPU"}
_PASS_TEXT = {
    "forward": "the kernel's forward function",
    "backward": "the kernel's backward (adjoint) function, which computes gradients",
    "both": "the kernel's forward function, then its backward (adjoint) function, under the headings "
            "'### Forward:' and '### Backward:'",
}


def system_prompt(device: str, ir_pass: str) -> str:
    return (
        "You are the code generator of NVIDIA Warp. Given a Warp kernel written in Python, reply with "
        f"{_DEVICE_TEXT[device]}: {_PASS_TEXT[ir_pass]}, exactly as Warp emits it, and nothing else."
    )


def user_prompt(python_source: str) -> str:
    return f"### Python Kernel:\n{python_source.rstrip(chr(10))}\n\n### Generated IR:"


def assistant_reply(rec: Record, device: str, ir_pass: str) -> str:
    ir = rec.ir[device]
    if ir_pass == "both":
        return f"### Forward:\n{ir['forward']}\n\n### Backward:\n{ir['backward']}"
    return ir[ir_pass]


def chat_line(rec: Record, device: str, ir_pass: str, with_metadata: bool) -> dict[str, Any] | None:
    """One conversation, or None when the chosen IR is empty."""
    ir = rec.ir[device]
    parts = ("forward", "backward") if ir_pass == "both" else (ir_pass,)
    if any(not ir[p].strip() for p in parts):
        return None
    line: dict[str, Any] = {
        "messages": [
            {"role": "system", "content": system_prompt(device, ir_pass)},
            {"role": "user", "content": user_prompt(rec.python_source)},
            {"role": "assistant", "content": assistant_reply(rec, device, ir_pass)},
        ]
    }
    if with_metadata:
        line["metadata"] = {"id": rec.id, "kernel_name": rec.kernel_name, "kernel_type": rec.kernel_type,
                            "origin": rec.origin, "device": device, "pass": ir_pass}
    return line


@dataclass(slots=True)
class ChatSink:
    root: Path
    split_names: list[str]
    device: str
    ir_pass: str
    with_metadata: bool = True
    task: str = "translate"  # or implement, repair (``tasks.py``)
    links: RepairLinks | None = None  # repair: the kept rejects each record fixes
    lines: dict[str, int] = field(default_factory=dict)
    empty_ir: int = 0
    skipped: Counter[str] = field(default_factory=Counter)  # records without a row, by why
    _files: dict[str, IO[str]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        for s in self.split_names:
            self._files[s] = open(self.root / f"{s}.jsonl", "w", encoding="utf-8")  # noqa: SIM115
            self.lines[s] = 0

    def _rows(self, rec: Record) -> list[dict[str, Any]]:
        if self.task == "implement":
            row, why = implement_line(rec, self.with_metadata)
            if row is None:
                self.skipped[why] += 1
            return [row] if row else []
        if self.task == "repair":
            broken = self.links.broken_versions(rec.id, rec.metadata) if self.links else []
            if not broken:
                self.skipped["no_broken_version"] += 1
            return [repair_line(rec, kind, rej, self.with_metadata) for kind, rej in broken]
        row = chat_line(rec, self.device, self.ir_pass, self.with_metadata)
        if row is None:
            self.empty_ir += 1
            self.skipped["empty_ir"] += 1
        return [row] if row else []

    def add(self, rec: Record, split: str) -> bool:
        """Write the record's rows of this task; False when it has none (skipped, and counted why)."""
        rows = self._rows(rec)
        for row in rows:
            self._files[split].write(json.dumps(row, ensure_ascii=False) + "\n")
        self.lines[split] += len(rows)
        return bool(rows)

    def finish(self) -> dict[str, str]:
        """Split -> its file; an empty split's file is removed, like an empty Parquet split."""
        files = {}
        for s, f in self._files.items():
            f.close()
            if self.lines[s]:
                files[s] = f"{s}.jsonl"
            else:
                (self.root / f"{s}.jsonl").unlink()
        return files

    def close(self) -> None:
        for f in self._files.values():
            f.close()
