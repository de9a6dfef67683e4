"""The record and outcome types every other module speaks.

A *unit* is the source text of one Python module that defines exactly the kernel(s) to extract
plus the ``@wp.func``/``@wp.struct``/constants they use.  Extraction turns a unit into either an
``Accepted`` outcome (one ``KernelIR`` per kernel it defines) or a ``Rejected`` outcome with a
typed reason.  ``Record`` is the JSONL row written to disk.

Everything here is plain data: picklable, JSON-serialisable, no Warp import.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from warp_synth.reasons import Reason

Origin = Literal["template", "mutation", "llm", "llm-repair", "mined"]
ORIGINS: tuple[str, ...] = ("template", "mutation", "llm", "llm-repair", "mined")

# Category names of the seed report, in its order.
SEED_CATEGORIES: tuple[str, ...] = (
    "arithmetic",
    "conditional",
    "loop",
    "math",
    "vector",
    "atomic",
    "nested",
    "multi_cond",
    "combined",
    "scalar_param",
)
# Every category: the seed's, then the rest of Warp (rigid-body and spatial math, small dense linear
# algebra, random numbers and sampling, integer and bitwise work).
CATEGORIES: tuple[str, ...] = (*SEED_CATEGORIES, "spatial", "linalg", "random", "bitwise", "geometry", "structs",
                               "functions", "tiles", "volumes")
# Names ``--category`` accepts for a group of categories.
CATEGORY_GROUPS: dict[str, tuple[str, ...]] = {"all": CATEGORIES, "seed": SEED_CATEGORIES}


def parse_categories(spec: str) -> tuple[str, ...]:
    """The categories a ``--category`` value names: one category, ``all``, ``seed`` (the seed report's
    ten) or a comma-separated list of those, in the order given, each once. ValueError on a bad name."""
    out: list[str] = []
    for part in spec.split(","):
        name = part.strip()
        if name in CATEGORY_GROUPS:
            names: tuple[str, ...] = CATEGORY_GROUPS[name]
        elif name in CATEGORIES:
            names = (name,)
        else:
            raise ValueError(f"unknown category {name!r}; choose from {', '.join(CATEGORIES)}, "
                             f"'seed' (the seed's ten), 'all', or a comma-separated list of these")
        out.extend(c for c in names if c not in out)
    return tuple(out)


@dataclass(slots=True, frozen=True)
class Unit:
    """One module's worth of kernel source submitted for extraction."""

    key: str  # caller's handle; returned unchanged in the outcome
    source: str
    # mined from the user's own files: skip the static screen; a runtime failure is recorded in the
    # record's execution, not a rejection (our drawn inputs need not meet the user's contract)
    trusted: bool = False
    replay: dict[str, Any] | None = None  # stored test vectors to run instead of a fresh draw (synth verify)


@dataclass(slots=True, frozen=True)
class Candidate:
    """A generated kernel module on its way to extraction, with its provenance.

    ``source`` defines exactly one ``@wp.kernel`` (plus helpers/structs/constants it uses).
    ``provenance`` records how it was made (template family and variant, mutation operators,
    LLM model and usage, ...) and is copied into the record's ``metadata``.
    """

    source: str
    kernel_type: str  # one of CATEGORIES (or "mined")
    origin: str  # one of ORIGINS
    parent_id: str | None = None
    provenance: dict[str, Any] = field(default_factory=dict)
    metadata: dict[str, Any] = field(default_factory=dict)  # more record metadata (LLM model, usage, ...)
    # what the kernel computes, in one to three sentences, and who wrote it: ``{"by": "template" |
    # "mutation" | "llm" | "docstring", "approximate": bool, ...}`` (README: the record schema)
    description: str | None = None
    description_by: dict[str, Any] | None = None


@dataclass(slots=True)
class BackendIR:
    """Generated code of one kernel for one backend."""

    forward: str
    backward: str
    helpers: str = ""  # generated code of the @wp.func / @wp.struct the kernel uses
    ptx: str | None = None  # CUDA only, optional third level of IR


@dataclass(slots=True)
class KernelIR:
    """Everything extraction learned about one kernel (one overload of a generic kernel)."""

    kernel_name: str
    mangled_name: str
    cpu: BackendIR
    cuda: BackendIR
    num_params: int
    arg_types: dict[str, str]
    builtins: list[str]  # Warp builtins the kernel (and its helpers) call, sorted
    module_id: str
    execution: dict[str, Any] | None = None  # extract.execute: test vectors, checks, adjoint (README)


@dataclass(slots=True)
class Accepted:
    key: str
    kernels: list[KernelIR]
    status: Literal["accepted"] = "accepted"


@dataclass(slots=True)
class Rejected:
    key: str
    reason: Reason
    message: str  # trimmed compiler/screen message: what a repair prompt needs
    line: int | None = None  # 1-based line in the unit source, when known
    status: Literal["rejected"] = "rejected"


Outcome = Accepted | Rejected


@dataclass(slots=True)
class Attempt:
    """One candidate's way through the pipeline: what was tried, under which record id, and what
    came of it.  Every source (templates, mutator, LLM, mining) hands these to the run's commit.
    A candidate found to be a duplicate before extraction carries ``Rejected(DUPLICATE)``."""

    candidate: Candidate
    record_id: str
    outcome: Outcome


def utc_now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat()


@dataclass(slots=True)
class Record:
    """One training pair: a JSON object per line in ``DIR/*.jsonl``.

    Seed-report fields: ``id``, ``kernel_name``, ``kernel_type``, ``python_source``,
    ``generated_at``, ``metadata`` (``num_params``, ``num_lines``, ``module_id``).  The seed's
    ``ir_forward``/``ir_backward``/``device`` are carried, for both devices at once, by ``ir``;
    ``synth export --format seed`` writes them back out per device.
    """

    id: str
    kernel_name: str
    kernel_type: str
    python_source: str
    ir: dict[str, dict[str, str]]
    origin: str
    generated_at: str
    metadata: dict[str, Any] = field(default_factory=dict)
    parent_id: str | None = None
    execution: dict[str, Any] | None = None  # the kernel's CPU run: status, seed, dim, inputs, outputs, grad
    description: str | None = None  # what the kernel computes (metadata.description_by says who wrote it)

    def to_json_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json_dict(cls, d: dict[str, Any]) -> Record:
        missing = [k for k in ("id", "kernel_name", "kernel_type", "python_source", "ir", "origin") if k not in d]
        if missing:
            raise ValueError(f"record lacks field(s): {', '.join(missing)}")
        return cls(
            id=d["id"],
            kernel_name=d["kernel_name"],
            kernel_type=d["kernel_type"],
            python_source=d["python_source"],
            ir=d["ir"],
            origin=d["origin"],
            generated_at=d.get("generated_at", ""),
            metadata=d.get("metadata", {}),
            parent_id=d.get("parent_id"),
            execution=d.get("execution"),
            description=d.get("description"),
        )


# Rejections ``--keep-rejects`` does not keep: the candidate was a good kernel (another copy of one
# already written, or one the category no longer needed), there was no kernel at all, or it matches
# a held-out reference (kept, it would carry the benchmark into the repair data).
NOT_KEPT_REASONS: frozenset[str] = frozenset({Reason.DUPLICATE, Reason.SURPLUS, Reason.NO_CODE, Reason.EXCLUDED})


@dataclass(slots=True)
class RejectRecord:
    """One rejected candidate, kept by ``synth run --keep-rejects`` in ``OUT/rejects/shard-NNNNN.jsonl``
    (never in the accepted shards): its source, why it was rejected and where, and how it was made.

    ``message`` is the screen's, compiler's or runtime's message as the repair prompt gets it, and
    ``line`` the 1-based line of ``python_source`` it points at (None when unknown).  ``chain`` ties
    the rounds of one LLM repair conversation together: ``{"id": ..., "round": r}``; round 0 is the
    first reply, and the record that ends an accepted chain carries the same ``metadata.chain.id``.
    """

    id: str  # the id the candidate would have had as a record (``identity.record_id``)
    kernel_type: str
    origin: str
    python_source: str
    reason: str  # a ``Reason`` value
    message: str
    line: int | None
    generated_at: str
    parent_id: str | None = None
    chain: dict[str, Any] | None = None
    metadata: dict[str, Any] = field(default_factory=dict)  # provenance, seed, LLM model

    def to_json_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json_dict(cls, d: dict[str, Any]) -> RejectRecord:
        missing = [k for k in ("id", "kernel_type", "origin", "python_source", "reason", "message") if k not in d]
        if missing:
            raise ValueError(f"rejected candidate lacks field(s): {', '.join(missing)}")
        line = d.get("line")
        return cls(id=str(d["id"]), kernel_type=str(d["kernel_type"]), origin=str(d["origin"]),
                   python_source=str(d["python_source"]), reason=str(d["reason"]), message=str(d["message"]),
                   line=line if isinstance(line, int) else None, generated_at=str(d.get("generated_at", "")),
                   parent_id=d.get("parent_id"), chain=d.get("chain") if isinstance(d.get("chain"), dict) else None,
                   metadata=d.get("metadata") if isinstance(d.get("metadata"), dict) else {})


def make_reject(a: Attempt, reason: str, extra_metadata: dict[str, Any]) -> RejectRecord:
    """The kept row of an attempt that did not become a record for ``reason``."""
    cand, out = a.candidate, a.outcome
    message, line = (out.message, out.line) if isinstance(out, Rejected) else ("", None)
    if reason == Reason.GRAD_NOT_PASSED and isinstance(out, Accepted):
        grad = (out.kernels[0].execution or {}).get("grad") or {}
        message = f"the adjoint check did not pass: {grad.get('status', 'unknown')}"
    elif reason == Reason.MULTIPLE_KERNELS and isinstance(out, Accepted):
        names = ", ".join(k.kernel_name for k in out.kernels)
        message = f"the module defines {len(out.kernels)} kernels ({names}); a record holds exactly one"
    chain = cand.metadata.get("chain")
    meta = {k: v for k, v in cand.metadata.items() if k != "chain"}
    return RejectRecord(id=a.record_id, kernel_type=cand.kernel_type, origin=cand.origin, python_source=cand.source,
                        reason=str(reason), message=message, line=line, generated_at=utc_now(),
                        parent_id=cand.parent_id, chain=dict(chain) if isinstance(chain, dict) else None,
                        metadata={**meta, "provenance": cand.provenance, **extra_metadata})


def backend_ir_dict(b: BackendIR) -> dict[str, str]:
    d = {"forward": b.forward, "backward": b.backward}
    if b.helpers:
        d["helpers"] = b.helpers
    if b.ptx is not None:
        d["ptx"] = b.ptx
    return d


def make_record(
    unit_source: str,
    k: KernelIR,
    *,
    record_id: str,
    kernel_type: str,
    origin: str,
    warp_version: str,
    parent_id: str | None = None,
    extra_metadata: dict[str, Any] | None = None,
    verified: dict[str, str] | None = None,
    description: str | None = None,
    description_by: dict[str, Any] | None = None,
) -> Record:
    """Build the on-disk record for one extracted kernel.  ``verified`` says what the compilers
    checked, per backend (``{"cpu": "clang -O0 object", "cuda": "nvrtc 13.4.92 front end, sm_75"}``,
    from ``extract.verified_by``); it becomes ``metadata.verified``."""
    meta: dict[str, Any] = {
        "num_params": k.num_params,
        "num_lines": unit_source.count("\n") + (0 if unit_source.endswith("\n") else 1),
        "module_id": k.module_id,
        "mangled_name": k.mangled_name,
        "arg_types": k.arg_types,
        "builtins": k.builtins,
        "warp_version": warp_version,
    }
    if verified:
        meta["verified"] = dict(verified)
    if extra_metadata:
        meta.update(extra_metadata)
    if description:
        meta["description_by"] = dict(description_by or {"by": "unknown", "approximate": True})
    return Record(
        id=record_id,
        kernel_name=k.kernel_name,
        kernel_type=kernel_type,
        python_source=unit_source,
        ir={"cpu": backend_ir_dict(k.cpu), "cuda": backend_ir_dict(k.cuda)},
        origin=origin,
        generated_at=utc_now(),
        metadata=meta,
        parent_id=parent_id,
        execution=k.execution,
        description=description or None,
    )
