"""How much of the Warp its own tests and examples use a dataset covers (issue 15's count).

    python benchmarks/warp_coverage.py data/all [more dataset folders]

Counts the ``wp.<name>`` references inside ``@wp.kernel`` / ``@wp.func`` definitions (the shared
``warp_synth.usage.scan`` vocabulary: builtins in Warp's registry, dtypes) of the installed warp
package's ``tests/`` and ``examples/``, and of the datasets' records, and prints the share of the
reference's builtins and types the datasets use, and the names still missing.  Static only: nothing
is imported or run.
"""

from __future__ import annotations

import argparse
import ast
import json
from collections.abc import Iterable, Iterator
from pathlib import Path

import warp

from warp_synth.extract import kernel_builtin_names
from warp_synth.usage import scan

_DECORATORS = ("kernel", "func", "func_grad", "func_replay", "func_native")


def kernel_defs(tree: ast.AST) -> Iterator[ast.FunctionDef]:
    """``@wp.kernel`` / ``@wp.func`` (and ``@wp.kernel(...)``) definitions anywhere in ``tree``."""
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef):
            for d in node.decorator_list:
                d = d.func if isinstance(d, ast.Call) else d
                if isinstance(d, ast.Attribute) and d.attr in _DECORATORS:
                    yield node
                    break


def usage(sources: Iterable[str], registry: set[str]) -> tuple[set[str], set[str]]:
    builtins: set[str] = set()
    types: set[str] = set()
    for src in sources:
        try:
            tree = ast.parse(src)
        except (SyntaxError, ValueError):
            continue
        for fn in kernel_defs(tree):
            u = scan(fn)
            builtins |= set(u.builtins) & registry
            types |= set(u.dtypes)
    return builtins, types


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("datasets", nargs="+", type=Path, help="dataset folders with shard-*.jsonl")
    args = ap.parse_args()
    registry = set(kernel_builtin_names())
    root = Path(warp.__file__).parent
    files = sorted([*root.glob("tests/**/*.py"), *root.glob("examples/**/*.py")])
    ref_b, ref_t = usage((f.read_text(encoding="utf-8", errors="replace") for f in files), registry)
    records = [json.loads(line)["python_source"] for d in args.datasets for shard in sorted(d.glob("shard-*.jsonl"))
               for line in shard.read_text(encoding="utf-8").splitlines() if line.strip()]
    our_b, our_t = usage(records, registry)
    print(f"reference (warp {warp.__version__} tests/ and examples/): {len(files)} files, "
          f"{len(ref_b)} builtins, {len(ref_t)} types")
    print(f"datasets: {len(records)} records; builtins {len(our_b & ref_b)}/{len(ref_b)} = "
          f"{100 * len(our_b & ref_b) / max(1, len(ref_b)):.0f}%, types {len(our_t & ref_t)}/{len(ref_t)} = "
          f"{100 * len(our_t & ref_t) / max(1, len(ref_t)):.0f}%")
    print(f"types missing ({len(ref_t - our_t)}): {' '.join(sorted(ref_t - our_t))}")
    print(f"builtins missing ({len(ref_b - our_b)}): {' '.join(sorted(ref_b - our_b))}")


if __name__ == "__main__":
    main()
