"""``synth verify``: re-derive records' IR independently, with Warp's public API only.

Records are code: a record's ``python_source`` passes the static screen (``--no-screen`` skips it
for records mined from code you trust), then a fresh child process (scrubbed environment, own
cache) initialises Warp and enters the sandbox (``extract.sandbox``) before it writes the source
to ``kernel.py``, imports it, runs ``wp.compile_aot_module`` for the CPU and for CUDA (PTX), and
checks that the record's forward and backward text for both backends is found verbatim in the
generated ``.cpp`` / ``.cu``.  It shares no code with the extraction engine, so it checks the
engine rather than repeating it.

``--execute`` also replays each record's stored test vectors (``execution.inputs``): the records
go back through the extraction engine as untrusted units (screened again, each in a process of
its own inside a sandboxed batch) with ``Unit.replay`` set, so the worker compiles the source,
launches the kernel once on the stored inputs and returns its outputs, which
``extract.vectors.compare`` checks against ``execution.outputs`` (integers exactly, floats within
``vectors.TOLERANCE``).  Records whose ``execution.status`` is not ``passed`` have no vectors to
replay and are counted as not replayable.
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
from warp_synth.records import Accepted, Unit
from warp_synth.shards import find_shards, iter_records

_CHILD = r"""
import glob, importlib.util, json, os, re, sys
import warp as wp
from warp_synth.extract import sandbox
wp.config.quiet = True
wp.init()
from warp_synth.extract import lto_cache
lto_cache.seed(wp.config.kernel_cache_dir)  # trusted MathDx LTOs, before the untrusted source is loaded
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
    # debug mode's #line directives name the unit's file: records name it kernel.py wherever it was built
    line = re.compile(r'^#line (\d+) "[^"\n]*\.py"$', re.M)
    cpp = line.sub(r'#line \1 "kernel.py"', open(glob.glob(os.path.join(out, "*.cpp"))[0]).read())
    cu = line.sub(r'#line \1 "kernel.py"', open(glob.glob(os.path.join(out, "*.cu"))[0]).read())
    missing = []
    for dev, text in (("cpu", cpp), ("cuda", cu)):
        for part in ("forward", "backward"):
            ir = rec["ir"][dev][part]
            if ir.strip():
                found = ir in text
            else:  # no backward (enable_backward=False): Warp must not generate one either
                found = part == "backward" and bool(rec["mangled"]) and f"{rec['mangled']}_{dev}_kernel_backward(" not in text
            if not found:
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
        mangled = (record.get("metadata") or {}).get("mangled_name") or ""
        payload = json.dumps({"python_source": record["python_source"], "ir": record["ir"], "mangled": mangled}).encode()
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


def replayable(record: dict[str, Any]) -> bool:
    """Whether a record carries test vectors to replay (``execution.status == "passed"``)."""
    ex = record.get("execution")
    return (isinstance(ex, dict) and ex.get("status") == "passed" and isinstance(ex.get("inputs"), dict)
            and isinstance(ex.get("outputs"), dict))


def _replay_result(record: dict[str, Any], outcome: Any) -> VerifyResult:
    from warp_synth.extract import vectors  # imports Warp (types only; no kernel runs in this process)

    rid = record["id"]
    if not isinstance(outcome, Accepted):
        first = (outcome.message.strip().splitlines() or [""])[0]
        return VerifyResult(rid, False, f"execution: the replay was rejected ({outcome.reason}): {first}")
    mangled = (record.get("metadata") or {}).get("mangled_name")
    kernels = [k for k in outcome.kernels if k.mangled_name == mangled] or outcome.kernels[:1]
    ex = kernels[0].execution if kernels else None
    if not isinstance(ex, dict) or ex.get("status") != "replayed":
        why = ex.get("reason", "") if isinstance(ex, dict) else "no execution result"
        return VerifyResult(rid, False, f"execution: not replayed: {why}")
    try:
        problems = vectors.compare(record["execution"]["outputs"], ex.get("outputs") or {})
    except (ValueError, TypeError, KeyError) as e:
        return VerifyResult(rid, False, f"execution: stored outputs unreadable: {e}")
    if problems:
        return VerifyResult(rid, False, "execution: outputs differ: " + "; ".join(problems))
    return VerifyResult(rid, True)


def replay_records(records: list[dict[str, Any]], workers: int = 2, *, screened: bool = True,
                   batch_size: int = 16) -> list[VerifyResult]:
    """Replay the stored test vectors of ``records`` (all ``replayable``) in the sandboxed worker and
    compare the outputs with the stored ones; one result per record, in order."""
    from warp_synth.extract.engine import ExtractOptions, Extractor

    if not records:
        return []
    units = [Unit(str(i), r["python_source"], trusted=not screened, replay={"inputs": r["execution"]["inputs"]})
             for i, r in enumerate(records)]
    options = ExtractOptions(workers=max(1, min(workers, len(units))), batch_size=batch_size, execute=True,
                             isolate_units=True, cuda_check="frontend")
    with Extractor(options) as ex:
        outcomes = ex.extract(units)
    return [_replay_result(r, o) for r, o in zip(records, outcomes, strict=True)]


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
    p.add_argument("--execute", action="store_true",
                   help="also replay each record's stored test vectors (execution.inputs) in the sandboxed "
                        "worker and compare the outputs with execution.outputs; records not executed are "
                        "counted as not replayable")


def run(args: argparse.Namespace) -> int:
    if args.sample < 0:
        raise UserError(f"--sample must be >= 0 (0: every record), got {args.sample}")
    if args.workers <= 0:
        raise UserError(f"--workers must be positive, got {args.workers}")
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
    if not getattr(args, "execute", False):
        return 1 if bad else 0
    todo = [r for r in records if replayable(r)]
    replays = replay_records(todo, args.workers, screened=not args.no_screen)
    bad_replays = [r for r in replays if not r.ok]
    for r in bad_replays:
        print(f"MISMATCH {r.id}: {r.detail}")
    print(f"replayed {len(replays) - len(bad_replays)} of {len(replays)} executed records: outputs match the "
          f"stored ones; {len(records) - len(todo)} not replayable (execution.status is not 'passed')")
    return 1 if bad or bad_replays else 0
