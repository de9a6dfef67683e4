"""The tasks ``synth export --format chat --task`` writes, besides translation (``chat.py``).

* ``implement``: a description of what the kernel computes, its signature and a few of its stored
  input/output examples -> the kernel's Python source.  Only records with a ``description`` and
  ``execution.status == "passed"`` (stored test vectors) make rows; the others are counted.  The
  user message shows the launch's ``dim`` and the first ``SHOWN_VALUES`` values of every array the
  kernel reads and writes; the row's ``metadata.execution`` holds the full vectors (``dim``,
  ``inputs``, ``outputs``), so launching the kernel on ``inputs`` gives ``outputs`` (``synth
  verify --execute`` does exactly that).
* ``repair``: a broken kernel and the error Warp gave it (typed reason, message, line) -> the fixed
  kernel, a record of the dataset.  Pairs come from the rejected candidates ``synth run
  --keep-rejects`` kept in ``DIR/rejects/``: an LLM repair chain's rejected rounds are paired with
  the record that ends the chain (``metadata.chain.id``), and a rejected mutant with its parent
  when the parent is a record (``parent_id``: undoing the mutation repairs it).  Hostile
  candidates (``unsafe``) never make rows.

Splits stay leak-free across tasks: ``repair_links`` gives each record the broken sources paired
with it, and the split plan groups them with the record (``splits.plan_split``), so no normalised
source or skeleton of any task's rows is in two splits when every task is exported with the same
``--split`` and ``--seed``.
"""

from __future__ import annotations

import ast
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from warp_synth.reasons import Reason
from warp_synth.records import Record, RejectRecord

TASKS = ("translate", "implement", "repair")
SHOWN_VALUES = 8
NOT_REPAIRABLE = frozenset({Reason.UNSAFE})

IMPLEMENT_SYSTEM = (
    "You write NVIDIA Warp kernels in Python. Given what a kernel computes, its signature and example "
    "inputs and outputs of one launch, reply with the complete Python module (import warp as wp, any "
    "helper @wp.func and constants, and the @wp.kernel) and nothing else."
)
REPAIR_SYSTEM = (
    "You fix NVIDIA Warp kernels written in Python. Given a kernel module and the error Warp reported "
    "for it, reply with the whole corrected module, keeping what it computes, and nothing else."
)


def kernel_signature(source: str, kernel_name: str) -> str | None:
    """The decorator and ``def`` line(s) of the kernel ``kernel_name`` in ``source`` (up to its colon)."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError, RecursionError):
        return None
    lines = source.splitlines()
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name == kernel_name and node.body:
            start = min([d.lineno for d in node.decorator_list] + [node.lineno]) - 1
            first_body = node.body[0]
            # the header ends on the line before the body (a one-line ``def f(): pass`` is its own header)
            end = max(node.lineno, first_body.lineno - 1)
            header = lines[start:end]
            # drop a docstring's or comment's lines that sit between the colon and the body
            while header and not header[-1].rstrip().endswith(":"):
                header.pop()
            return "\n".join(header) if header else None
    return None


def _shown(value: dict[str, Any]) -> str:
    """One stored value as the prompt shows it: an array's dtype, shape and first values."""
    if "data" in value:
        data = value["data"]
        more = f", ... ({len(data)} values)" if len(data) > SHOWN_VALUES else ""
        head = ", ".join(json.dumps(v) for v in data[:SHOWN_VALUES])
        return f"array(dtype={value.get('dtype')}, shape={value.get('shape')}): [{head}{more}]"
    if "value" in value:
        return f"{value.get('dtype')}: {json.dumps(value['value'])}"
    return json.dumps(value, sort_keys=True)[:200]


def implement_prompt(rec: Record, signature: str) -> str:
    ex = rec.execution or {}
    inputs, outputs = ex.get("inputs") or {}, ex.get("outputs") or {}
    lines = ["### Task:", (rec.description or "").strip(), "", "### Signature:", "```python", signature, "```", "",
             f"### Example launch: wp.launch(kernel, dim={json.dumps(ex.get('dim'))}, inputs=[...])", "Inputs:"]
    lines += [f"- {name}: {_shown(v)}" for name, v in inputs.items() if isinstance(v, dict)]
    lines.append("Outputs (the arrays after the launch):")
    lines += [f"- {name}: {_shown(v)}" for name, v in outputs.items() if isinstance(v, dict)]
    return "\n".join(lines)


def implement_line(rec: Record, with_metadata: bool) -> tuple[dict[str, Any] | None, str]:
    """(the row, "") or (None, why it has none: ``no_description``, ``not_executed``, ``no_signature``)."""
    if not (rec.description or "").strip():
        return None, "no_description"
    ex = rec.execution
    if not (isinstance(ex, dict) and ex.get("status") == "passed" and ex.get("inputs") is not None):
        return None, "not_executed"
    signature = kernel_signature(rec.python_source, rec.kernel_name)
    if signature is None:
        return None, "no_signature"
    line: dict[str, Any] = {"messages": [
        {"role": "system", "content": IMPLEMENT_SYSTEM},
        {"role": "user", "content": implement_prompt(rec, signature)},
        {"role": "assistant", "content": rec.python_source.rstrip("\n")},
    ]}
    if with_metadata:
        line["metadata"] = {"id": rec.id, "kernel_name": rec.kernel_name, "kernel_type": rec.kernel_type,
                            "origin": rec.origin, "task": "implement", "signature": signature,
                            "description_by": rec.metadata.get("description_by"),
                            "execution": {"seed": ex.get("seed"), "dim": ex.get("dim"), "inputs": ex.get("inputs"),
                                          "outputs": ex.get("outputs")}}
    return line, ""


@dataclass(slots=True)
class RepairLinks:
    """The rejected candidates a dataset's records repair: record id -> its broken versions."""

    by_chain: dict[str, list[RejectRecord]] = field(default_factory=dict)
    by_parent: dict[str, list[RejectRecord]] = field(default_factory=dict)
    unusable: int = 0  # kept rejects that can never be repair rows (unsafe)

    @classmethod
    def of(cls, rejects: Iterable[RejectRecord]) -> RepairLinks:
        links = cls()
        for rej in rejects:
            if rej.reason in NOT_REPAIRABLE:
                links.unusable += 1
                continue
            chain = rej.chain.get("id") if rej.chain else None
            if isinstance(chain, str) and chain:
                links.by_chain.setdefault(chain, []).append(rej)
            elif rej.parent_id:
                links.by_parent.setdefault(rej.parent_id, []).append(rej)
        for group in (*links.by_chain.values(), *links.by_parent.values()):
            group.sort(key=lambda r: (int((r.chain or {}).get("round", 0) or 0), r.id))
        return links

    def drop(self, matches: Callable[[RejectRecord], bool]) -> int:
        """Forget the broken versions ``matches`` picks (``--exclude``); how many were dropped."""
        dropped = 0
        for table in (self.by_chain, self.by_parent):
            for key, group in list(table.items()):
                keep = [r for r in group if not matches(r)]
                dropped += len(group) - len(keep)
                table[key] = keep
        return dropped

    def broken_versions(self, rec_id: str, metadata: dict[str, Any]) -> list[tuple[str, RejectRecord]]:
        """``(kind, reject)`` of every broken version ``rec`` fixes: ``llm-chain`` rounds, then ``revert``."""
        chain = metadata.get("chain")
        chain_id = chain.get("id") if isinstance(chain, dict) else None
        out = [("llm-chain", r) for r in self.by_chain.get(chain_id, [])] if isinstance(chain_id, str) else []
        return out + [("revert", r) for r in self.by_parent.get(rec_id, [])]

    def sources_of(self, rec_id: str, metadata: dict[str, Any]) -> tuple[str, ...]:
        return tuple(r.python_source for _, r in self.broken_versions(rec_id, metadata))


def error_text(rej: RejectRecord) -> str:
    where = f" at line {rej.line}" if rej.line else ""
    line_text = ""
    if rej.line:
        lines = rej.python_source.splitlines()
        if 0 < rej.line <= len(lines):
            line_text = f": `{lines[rej.line - 1].strip()}`"
    return f"{rej.reason}{where}{line_text}\n{rej.message.strip()}"


def repair_prompt(rej: RejectRecord) -> str:
    return (f"### Broken kernel:\n```python\n{rej.python_source.rstrip(chr(10))}\n```\n\n"
            f"### Error:\n```text\n{error_text(rej)}\n```")


def repair_line(rec: Record, kind: str, rej: RejectRecord, with_metadata: bool) -> dict[str, Any]:
    line: dict[str, Any] = {"messages": [
        {"role": "system", "content": REPAIR_SYSTEM},
        {"role": "user", "content": repair_prompt(rej)},
        {"role": "assistant", "content": rec.python_source.rstrip("\n")},
    ]}
    if with_metadata:
        line["metadata"] = {"id": rec.id, "broken_id": rej.id, "kernel_name": rec.kernel_name,
                            "kernel_type": rec.kernel_type, "origin": rec.origin, "task": "repair", "kind": kind,
                            "reason": rej.reason, "message": rej.message, "line": rej.line,
                            "chain": rej.chain, "broken_origin": rej.origin}
    return line
