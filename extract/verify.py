"""``synth verify``: re-derive records' IR independently, with Warp's public API only.

Records are code: a record's ``python_source`` passes the static screen (``--no-screen`` skips it
for records mined from code you trust), then a fresh child process (scrubbed environment, own
cache) initialises Warp and enters the sandbox (``extract.sandbox``) before it writes the source
to ``kernel.py``, imports it, runs ``wp.compile_aot_module`` for the CPU and for CUDA (PTX), and
checks that the record's forward and backward text for both backends is found verbatim in the
generated ``.cpp`` / ``.cu``.  It shares no code with the extraction engine, so it checks the
engine rather than repeating it.
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

from warp_synth.errors import UserError
from warp_synth.extract import sandbox
from warp_synth.extract.executors.supervisor import ChildFolder, isolated_environment, run_child
from warp_synth.extract.screen import screen
from warp_synth.shards import find_shards, iter_records

_CHILD = r"""
import glob, importlib.util, json, os, sys
import warp as wp
from warp_synth.extract import sandbox
wp.config.quiet = True
wp.init()
rec = json.load(sys.stdin)
workdir = os.getcwd()

def rederive():
    path = os.path.join(workdir, "kernel.py")
    with open(path, "w") as f:
        f.write(rec["python_source"])
    spec = importlib.util.spec_from_file_location("kernel", path)
    m = importlib.util.module_from_spec(spec); sys.modules["kernel"] = m; spec.loader.exec_module(m)
    out = os.path.join(workdir, "aot")
    wp.compile_aot_module(wp.get_module("kernel"), device="cpu", arch=[75], module_dir=out, use_ptx=True)
    cpp = open(glob.glob(os.path.join(out, "*.cpp"))[0]).read()
    cu = open(glob.glob(os.path.join(out, "*.cu"))[0]).read()
    missing = []
    for dev, text in (("cpu", cpp), ("cuda", cu)):
        for part in ("forward", "backward"):
            if not rec["ir"][dev][part].strip() or rec["ir"][dev][part] not in text:
                missing.append(f"{dev}.{part}")
    print(json.dumps({"missing": missing}), flush=True)
    return 0

required = tuple(filter(None, os.environ.get("WSYNTH_SANDBOX_REQUIRED", "").split(",")))
policy = sandbox.Policy(workdir=workdir, readable=sandbox.default_readable(), mem_limit_mb=4096,
                        cpu_seconds=int(os.environ.get("WSYNTH_CPU_SECONDS", "300")), required=required)
_, status = os.waitpid(sandbox.run_sandboxed(rederive, policy), 0)
code = os.waitstatus_to_exitcode(status)
sys.exit(code if code >= 0 else 128 - code)
"""


@dataclass(slots=True)
class VerifyResult:
    id: str
    ok: bool
    detail: str = ""


def verify_record(record: dict[str, Any], timeout: float = 300.0, *, screened: bool = True,
                  required: tuple[str, ...] = ()) -> VerifyResult:
    """Re-derive one record in a sandboxed child; ``required`` names the sandbox layers it must get."""
    if screened:
        verdict = screen(record["python_source"])
        if not verdict.ok:
            where = f"line {verdict.line}: " if verdict.line else ""
            return VerifyResult(record["id"], False, f"{verdict.reason}: {where}{verdict.message}")
    folder = ChildFolder("wsynth-verify-")
    try:
        env = isolated_environment(folder.path, mem_limit_mb=0)
        env.update(WSYNTH_SANDBOX_REQUIRED=",".join(required), WSYNTH_CPU_SECONDS=str(int(timeout)))
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


def verify_records(records: list[dict[str, Any]], workers: int = 2, *, screened: bool = True,
                   required: tuple[str, ...] = ()) -> list[VerifyResult]:
    with ThreadPoolExecutor(max_workers=max(1, workers)) as ex:
        return list(ex.map(lambda r: verify_record(r, screened=screened, required=required), records))


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("dir", type=Path, metavar="DIR", help="dataset folder holding shard-*.jsonl files")
    p.add_argument("--sample", type=int, default=0, metavar="N",
                   help="verify a random sample of N records (default: all)")
    p.add_argument("--seed", type=int, default=0, help="seed of the sample (default: 0)")
    p.add_argument("--workers", type=int, default=2, help="parallel re-derivations (default: 2)")
    p.add_argument("--no-screen", action="store_true",
                   help="skip the static screen (records mined from code you trust; the sandbox still applies)")
    p.add_argument("--allow-weak-sandbox", action="store_true",
                   help="re-derive on a machine that lacks a sandbox layer (the run names the missing ones)")


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
    layers = sandbox.probe()
    missing = sandbox.missing_layers(layers)
    if missing and not args.allow_weak_sandbox:
        raise UserError(f"this machine lacks sandbox layer(s) {', '.join(missing)}; records are code and are "
                        "re-derived in the sandbox (pass --allow-weak-sandbox to accept a weaker one)")
    required = tuple(layer for layer, v in layers.items() if v)
    results = verify_records(records, args.workers, screened=not args.no_screen, required=required)
    bad = [r for r in results if not r.ok]
    for r in bad:
        print(f"MISMATCH {r.id}: {r.detail}")
    print(f"verified {len(results) - len(bad)} of {len(results)} records: IR re-derived by Warp's public API")
    return 1 if bad else 0
