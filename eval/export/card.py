"""The dataset card (``OUT/README.md``) of a Parquet export: YAML front matter + prose.

The front matter follows the Hugging Face dataset-card metadata: ``license``,
``task_categories``, ``tags``, ``size_categories``, ``configs`` (split -> file glob, read by
``load_dataset(OUT)``) and ``dataset_info`` (features and per-split ``num_examples``).  What
the Hub has no field for (Warp version, kernel categories, generation settings) sits under one
``warp_synth`` key.  The YAML is written by a tiny emitter: every string is a JSON-quoted
scalar, which YAML reads back unchanged.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from warp_synth.eval.export.parquet import COLUMNS

_PLAIN_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_PLAIN_VALUE = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]*$")
_YAML_WORDS = frozenset({"y", "n", "yes", "no", "true", "false", "on", "off", "null"})
_SIZE_BUCKETS = ((1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K"), (1_000_000, "100K<n<1M"),
                 (10_000_000, "1M<n<10M"), (100_000_000, "10M<n<100M"))
TAGS = ("code", "nvidia-warp", "python", "cpp", "cuda", "compilers", "synthetic")

_COLUMN_DOC = {
    "id": "16 hex digits: hash of the normalised Python source",
    "kernel_name": "the kernel's Python name",
    "kernel_type": "category (arithmetic, conditional, loop, ...; `mined` for mined kernels)",
    "python_source": "self-contained Python module defining the `@wp.kernel`",
    "ir_cpu_forward": "forward function in Warp's generated C++",
    "ir_cpu_backward": "adjoint (backward) function in Warp's generated C++",
    "ir_cpu_helpers": "generated C++ of the `@wp.func`/`@wp.struct` it uses (null if none)",
    "ir_cuda_forward": "forward `__global__` kernel in Warp's generated CUDA",
    "ir_cuda_backward": "backward `__global__` kernel in Warp's generated CUDA",
    "ir_cuda_helpers": "generated CUDA of the helpers it uses (null if none)",
    "ir_cuda_ptx": "PTX `.entry` blocks for `sm_75` (null unless generated with `--with-ptx`)",
    "origin": "`template`, `mutation`, `llm`, `llm-repair` or `mined`",
    "generated_at": "UTC ISO-8601 time the pair was made",
    "parent_id": "id of the kernel this one was derived from, else null",
    "num_params": "number of kernel parameters (from `metadata`)",
    "num_lines": "lines of `python_source` (from `metadata`)",
    "module_id": "Warp module identifier of the source loaded as `kernel.py` (from `metadata`)",
    "warp_version": "Warp version that generated the IR (from `metadata`)",
    "builtins": "Warp builtins the kernel and its helpers call (from `metadata`)",
    "metadata": "the record's whole `metadata` object as JSON text (keys vary by origin)",
    "execution_status": "`passed` (ran on the CPU, passed every check) or `not_executed` (from `execution`)",
    "grad_status": "adjoint check: `passed`, `failed`, `not_differentiable` or `skipped` (from `execution`)",
    "execution": "the record's whole `execution` object as JSON text: seed, launch dim, input and output "
                 "vectors, adjoint check (null if the record has none)",
}


def size_category(n: int) -> str:
    for bound, label in _SIZE_BUCKETS:
        if n < bound:
            return label
    return "n>100M"


def _scalar(v: Any) -> str:
    if isinstance(v, str) and _PLAIN_VALUE.match(v) and v.lower() not in _YAML_WORDS:
        return v
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return json.dumps(v)
    return json.dumps(str(v))


def to_yaml(value: Any, indent: int = 0) -> list[str]:
    """Block-style YAML lines for nested dicts/lists of scalars."""
    pad = " " * indent
    lines: list[str] = []
    if isinstance(value, dict):
        for k, v in value.items():
            key = k if _PLAIN_KEY.match(str(k)) else json.dumps(str(k))
            if isinstance(v, (dict, list)) and v:
                lines.append(f"{pad}{key}:")
                lines.extend(to_yaml(v, indent + 2))
            else:
                lines.append(f"{pad}{key}: {_empty_or_scalar(v)}")
    elif isinstance(value, list):
        for v in value:
            if isinstance(v, (dict, list)) and v:
                sub = to_yaml(v, indent + 2)
                lines.append(f"{pad}- {sub[0].lstrip()}")
                lines.extend(sub[1:])
            else:
                lines.append(f"{pad}- {_empty_or_scalar(v)}")
    else:
        lines.append(pad + _scalar(value))
    return lines


def _empty_or_scalar(v: Any) -> str:
    if isinstance(v, dict):
        return "{}"
    if isinstance(v, list):
        return "[]"
    return _scalar(v)


def _features() -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for name, t in COLUMNS:
        out.append({"name": name, "sequence": "string"} if t == "list<string>" else {"name": name, "dtype": t})
    return out


@dataclass(frozen=True, slots=True)
class CardFacts:
    """What an export measured, for its dataset card."""

    split_sizes: dict[str, int]
    split_bytes: dict[str, int]
    split_files: dict[str, list[str]]
    categories: dict[str, dict[str, int]]
    warp_versions: dict[str, int]
    sources: list[dict[str, Any]]
    export_settings: dict[str, Any]
    read_counts: dict[str, Any]
    license_id: str
    download_size: int


def card_text(facts: CardFacts) -> str:
    total = sum(facts.split_sizes.values())
    written = [s for s in facts.split_sizes if s in facts.split_files]  # empty splits have no files
    versions = sorted(facts.warp_versions)
    front: dict[str, Any] = {
        "license": facts.license_id,
        "pretty_name": "warp-synth: NVIDIA Warp kernels and their generated C++/CUDA",
        "task_categories": ["text-generation"],
        "tags": list(TAGS),
        "size_categories": [size_category(total)],
        "configs": [{
            "config_name": "default",
            "data_files": [{"split": s, "path": f"data/{s}-*"} for s in written],
        }],
        "dataset_info": {
            "features": _features(),
            "splits": [{"name": s, "num_bytes": facts.split_bytes[s], "num_examples": facts.split_sizes[s]}
                       for s in written],
            "download_size": facts.download_size,
            "dataset_size": sum(facts.split_bytes.values()),
        },
        "warp_synth": {
            "warp_version": versions[0] if len(versions) == 1 else versions,
            "categories": {c: sum(v.values()) for c, v in facts.categories.items()},
            "export": facts.export_settings,
            "generation": [{"source": s["path"], "settings": s["settings"]} for s in facts.sources],
        },
    }
    lines = ["---", *to_yaml(front), "---", ""]
    lines += _prose(facts)
    return "\n".join(lines) + "\n"


def _prose(facts: CardFacts) -> list[str]:
    split_sizes, split_files, categories = facts.split_sizes, facts.split_files, facts.categories
    warp_versions, sources = facts.warp_versions, facts.sources
    export_settings, read_counts = facts.export_settings, facts.read_counts
    total = sum(split_sizes.values())
    versions = ", ".join(f"{v} ({n} pairs)" for v, n in sorted(warp_versions.items())) or "unknown"
    out = [
        "# warp-synth: NVIDIA Warp kernel → generated C++/CUDA pairs",
        "",
        f"{total} pairs of an [NVIDIA Warp](https://github.com/NVIDIA/warp) kernel written in Python and the "
        "code Warp's JIT generates from it: CPU C++ and CUDA, forward and backward (adjoint) passes. "
        "Every pair was compiled with Warp's CPU compiler and with NVRTC when it was made; "
        "no two pairs share a normalised source.",
        "",
        f"**Warp version:** {versions}.",
        "",
        "## Loading",
        "",
        "```python",
        "from datasets import load_dataset",
        "",
        'ds = load_dataset("parquet", data_dir="PATH/TO/THIS/FOLDER")   # or load_dataset("PATH/TO/THIS/FOLDER")',
        f'print(ds)  # splits: {", ".join(split_files)}',
        "",
        "import json, pyarrow.parquet as pq",
        'table = pq.read_table("PATH/TO/THIS/FOLDER/data")  # every split (or one data/<split>-*.parquet file)',
        'meta = json.loads(table.column("metadata")[0].as_py())  # the full metadata object',
        "```",
        "",
        "## Splits",
        "",
    ]
    names = list(split_sizes)
    if export_settings.get("split"):
        out += [
            f"Split `{export_settings['split']}` with seed {export_settings.get('seed', 0)}, stratified by "
            "`kernel_type`. Records sharing a normalised source or a skeleton (source with names and "
            "literal values abstracted) are kept in one split, so no kernel shape leaks between splits; "
            "sizes therefore approximate the ratios.",
            "",
        ]
    out += ["| kernel_type | " + " | ".join(names) + " | total |", "| --- |" + " ---: |" * (len(names) + 1)]
    for cat in sorted(categories):
        row = categories[cat]
        out.append(f"| {cat} | " + " | ".join(str(row.get(n, 0)) for n in names) + f" | {sum(row.values())} |")
    out.append("| **all** | " + " | ".join(str(split_sizes[n]) for n in names) + f" | {total} |")
    out += ["", "## Columns", "", "| column | type | meaning |", "| --- | --- | --- |"]
    out += [f"| `{name}` | {t} | {_COLUMN_DOC[name]} |" for name, t in COLUMNS]
    out += [
        "",
        "## Execution",
        "",
        "A pair whose `execution_status` is `passed` was run on the CPU when it was made, from a bounds-checked "
        "build, on seeded inputs drawn from its signature: two launches gave the same outputs, no output is NaN or "
        "infinite, and the kernel writes something that depends on its inputs. `execution` holds those inputs "
        "and outputs (`{\"dtype\", \"shape\", \"data\"}` per array, `data` flat in Warp's memory order, "
        "`getattr(wp, dtype)` the Warp type), so a launch on `\"cpu\"` with `dim` replays it; `grad` is the "
        "adjoint checked against central finite differences. Passing says nothing about other inputs, other "
        "devices (CUDA was compiled, not run) or numerical accuracy beyond the stated tolerances.",
        "",
        "```python",
        'ex = json.loads(table.column("execution")[0].as_py())  # None for a pair without one',
        "```",
        "",
        "## Generation settings",
        "",
        "Exported with `synth export` from the folders below (their `settings.json`; a few figures of their "
        "`stats.json`).",
        "",
    ]
    for s in sources:
        stats = s.get("stats") if isinstance(s.get("stats"), dict) else {}
        brief = {k: stats[k] for k in ("accepted", "attempts", "rejected", "execution", "elapsed_s", "pairs_per_s")
                 if k in stats}
        out += [f"* `{s['path']}`", "", "  ```json",
                *("  " + ln for ln in json.dumps({"settings": s.get("settings"), "stats": brief},
                                                 indent=2, sort_keys=True).splitlines()),
                "  ```", ""]
    out += [
        f"Input lines read: {read_counts['lines']}; corrupt lines skipped: {read_counts['corrupt_lines']}; "
        f"duplicate ids skipped: {read_counts['duplicate_ids']}.",
        "",
        "## License",
        "",
        f"Released under `{export_settings.get('license', 'apache-2.0')}`. The generated C++/CUDA is the output "
        "of NVIDIA Warp (Apache-2.0) and refers to its runtime headers.",
    ]
    return out
