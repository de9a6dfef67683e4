"""``synth verify``: re-derive records' IR independently, with Warp's public API only.

For each record, a fresh child process (scrubbed environment, own cache) writes
``python_source`` to ``kernel.py``, imports it, runs ``wp.compile_aot_module`` for the CPU and
for CUDA (PTX), and checks that the record's forward and backward text for both backends is
found verbatim in the generated ``.cpp`` / ``.cu``.  It shares no code with the extraction
engine, so it checks the engine rather than repeating it.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from warp_synth.extract.executors.supervisor import ChildFolder, isolated_environment, run_child
from warp_synth.shards import find_shards, iter_records

_CHILD = r"""
import glob, importlib.util, json, os, sys
import warp as wp
wp.config.quiet = True
rec = json.load(sys.stdin)
path = os.path.join(os.getcwd(), "kernel.py")
with open(path, "w") as f:
    f.write(rec["python_source"])
spec = importlib.util.spec_from_file_location("kernel", path)
m = importlib.util.module_from_spec(spec); sys.modules["kernel"] = m; spec.loader.exec_module(m)
out = os.path.join(os.getcwd(), "aot")
wp.compile_aot_module(wp.get_module("kernel"), device="cpu", arch=[75], module_dir=out, use_ptx=True)
cpp = open(glob.glob(os.path.join(out, "*.cpp"))[0]).read()
cu = open(glob.glob(os.path.join(out, "*.cu"))[0]).read()
missing = []
for dev, text in (("cpu", cpp), ("cuda", cu)):
    for part in ("forward", "backward"):
        if rec["ir"][dev][part] not in text:
            missing.append(f"{dev}.{part}")
print(json.dumps({"missing": missing}))
"""


@dataclass(slots=True)
class VerifyResult:
    id: str
    ok: bool
    detail: str = ""


def verify_record(record: dict[str, Any], timeout: float = 300.0) -> VerifyResult:
    folder = ChildFolder("wsynth-verify-")
    try:
        env = isolated_environment(folder.path, mem_limit_mb=0)
        payload = json.dumps({"python_source": record["python_source"], "ir": record["ir"]}).encode()
        proc = run_child([sys.executable, "-c", _CHILD], workdir=folder.path, env=env, input=payload,
                         timeout=timeout)
        if proc.timed_out:
            return VerifyResult(record["id"], False, f"timed out after {timeout:.0f} s")
        if proc.returncode != 0:
            stderr = proc.stderr.decode("utf-8", "replace")
            tail = stderr.strip().splitlines()[-1:] or [f"exit status {proc.returncode}"]
            return VerifyResult(record["id"], False, f"re-derivation failed: {tail[0]}")
        missing = json.loads(proc.stdout.decode("utf-8", "replace").strip().splitlines()[-1])["missing"]
        if missing:
            return VerifyResult(record["id"], False, "not found in Warp's output: " + ", ".join(missing))
        return VerifyResult(record["id"], True)
    finally:
        folder.remove()


def verify_records(records: list[dict[str, Any]], workers: int = 2) -> list[VerifyResult]:
    with ThreadPoolExecutor(max_workers=max(1, workers)) as ex:
        return list(ex.map(verify_record, records))


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("dir", type=Path, metavar="DIR", help="dataset folder holding shard-*.jsonl files")
    p.add_argument("--sample", type=int, default=0, metavar="N",
                   help="verify a random sample of N records (default: all)")
    p.add_argument("--seed", type=int, default=0, help="seed of the sample (default: 0)")
    p.add_argument("--workers", type=int, default=2, help="parallel re-derivations (default: 2)")


def run(args: argparse.Namespace) -> int:
    shards = find_shards([args.dir])
    if args.sample:  # reservoir sample: one pass, memory bounded by the sample size
        rng = random.Random(args.seed)
        records: list[dict[str, Any]] = []
        for n, rec in enumerate(iter_records(shards)):
            if n < args.sample:
                records.append(rec.to_json_dict())
            elif (j := rng.randrange(n + 1)) < args.sample:
                records[j] = rec.to_json_dict()
    else:
        records = [rec.to_json_dict() for rec in iter_records(shards)]
    results = verify_records(records, args.workers)
    bad = [r for r in results if not r.ok]
    for r in bad:
        print(f"MISMATCH {r.id}: {r.detail}")
    print(f"verified {len(results) - len(bad)} of {len(results)} records: IR re-derived by Warp's public API")
    return 1 if bad else 0
