"""``synth run``: produce exactly N accepted, unique, verified records.

This module is the command: its flags, their checks, and the wiring of one ``Runner``
(``warp_synth.synth.loop``) to a source: offline (templates + mutator, ``synth.offline``) or
the LLM (``synth.llm.source``).  Flow per piece of work: candidates -> dedup against everything
written or in flight -> screen + isolated batched extraction -> one commit (records appended
and fsynced, resume cursor and stats replaced atomically).  Offline work is committed in
submission order and every candidate is a pure function of (seed, category, index), so the same
seed gives the same kernels whatever the worker count, and a killed run resumes where its last
commit ended.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from warp_synth.extract import CUDA_CHECKS, ExtractOptions, Extractor, WorkerStartError, sandbox, verified_by
from warp_synth.records import CATEGORIES, parse_categories
from warp_synth.synth.loop import RunError, Runner
from warp_synth.synth.offline import OfflineCandidates, OfflineSource


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--category", default="all", metavar="CAT",
                   help=f"one of {', '.join(CATEGORIES)}; 'seed' (the seed report's ten), 'all', or a "
                        "comma-separated list of these: N is split evenly between them (default: all)")
    p.add_argument("--n", type=int, required=True, metavar="N", help="accepted unique records to produce")
    p.add_argument("--out", type=Path, default=None, metavar="DIR",
                   help="output folder (default: data/<category>); an interrupted run resumes from it")
    p.add_argument("--seed", type=int, default=0, help="generation seed: the same seed gives the same kernels")
    p.add_argument("--workers", type=int, default=2, metavar="W", help="extraction worker processes (default: 2)")
    p.add_argument("--batch-size", type=int, default=64, metavar="B",
                   help="kernels compiled per translation unit (default: 64)")
    p.add_argument("--offline", action="store_true", help="templates + mutator only, never an LLM")
    p.add_argument("--mutation-rate", type=float, default=0.5, metavar="P",
                   help="share of candidates diversified by the mutator; in LLM mode, share of accepted LLM "
                        "kernels mutated further (default: 0.5)")
    p.add_argument("--with-ptx", action="store_true",
                   help="also store each kernel's PTX (ir.cuda.ptx); implies --cuda-check ptx")
    p.add_argument("--cuda-check", choices=CUDA_CHECKS, default=None,
                   help="how far each CUDA translation unit is compiled: 'frontend' runs NVRTC's front end only "
                        "(parse, types, template instantiation: every C++ error; no optimizer, no PTX), 'ptx' "
                        "Warp's full compile to PTX for sm_75 (default: frontend; ptx with --with-ptx)")
    p.add_argument("--no-execute", dest="execute", action="store_false",
                   help="compile-only pairs: do not run kernels on the CPU (records say execution.status "
                        "'not_executed', reason '--no-execute'; the CPU object is built in release mode)")
    p.add_argument("--require-grad", action="store_true",
                   help="keep only kernels whose adjoint check passed (execution.grad.status 'passed'); the others "
                        "are counted as 'grad_not_passed' and --n still means N records")
    p.add_argument("--keep-rejects", action="store_true",
                   help="also keep rejected candidates (source, reason, message, line; LLM repair chains) in "
                        "OUT/rejects/ for repair data (`synth export --task repair`); never in the accepted shards")
    p.add_argument("--exclude", type=Path, default=None, metavar="REF",
                   help="drop candidates matching a reference (a dataset folder, a folder of .py files or a "
                        ".jsonl) by skeleton or MinHash Jaccard >= 0.8: hold a benchmark out (needs the eval extra)")
    p.add_argument("--shard-records", type=int, default=10_000, metavar="K",
                   help="records per JSONL shard (default: 10000)")
    p.add_argument("--timeout", type=float, default=60.0, metavar="S",
                   help="base wall-clock limit per batch in seconds, plus 10 s per kernel (default: 60)")
    p.add_argument("--mem-limit-mb", type=int, default=4096, metavar="MB",
                   help="address-space limit of each worker (default: 4096)")
    p.add_argument("--executor", choices=("local", "ray"), default="local",
                   help="where extraction runs: local worker processes, or worker actors on a Ray cluster")
    p.add_argument("--ray-address", default=None, metavar="ADDR",
                   help="Ray cluster to join, e.g. ray://head:10001 or 'auto' (default: a local Ray instance)")
    p.add_argument("--warm-ltos", choices=("auto", "always", "never"), default="auto",
                   help="build the MathDx LTOs of the tiles templates into the machine's LTO store before the "
                        f"run (README: the extraction engine); auto: when the run asks for >= {WARM_MIN_TILES} "
                        "tiles kernels (default: auto)")
    p.add_argument("--max-ir-kb", type=int, default=128, metavar="KB",
                   help="reject kernels whose generated module exceeds KB per backend (default: 128; 0: no limit)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--allow-weak-sandbox", action="store_true",
                   help="let LLM mode run on a machine that lacks a sandbox layer (the run names the missing ones)")
    p.add_argument("--no-sandbox", action="store_true",
                   help="compile batches in the worker itself, without the OS sandbox (offline only; for "
                        "benchmarks and machines without namespaces)")
    g = p.add_argument_group("LLM mode (an endpoint given means LLM mode; --offline always wins)")
    g.add_argument("--llm-base-url", default=None, metavar="URL",
                   help="OpenAI-compatible endpoint, e.g. https://api.openai.com/v1 (env SYNTH_LLM_BASE_URL)")
    g.add_argument("--model", default=None, metavar="NAME", help="model name (env SYNTH_LLM_MODEL)")
    g.add_argument("--config", type=Path, default=None, metavar="FILE",
                   help="TOML file with an [llm] table (base_url, model, timeout, max_retries, ...)")
    g.add_argument("--concurrency", type=int, default=8, metavar="K", help="LLM requests in flight (default: 8)")
    g.add_argument("--repair-rounds", type=int, default=2, metavar="R",
                   help="repair requests per failing candidate (default: 2)")
    g.add_argument("--max-llm-calls", type=int, default=None, metavar="C",
                   help="stop cleanly after C LLM requests (default: unlimited)")
    g.add_argument("--temperature", type=float, default=None, help="sampling temperature (default: 0.8)")


def _extract_options(args: argparse.Namespace) -> ExtractOptions:
    return ExtractOptions(workers=args.workers, batch_size=args.batch_size, with_ptx=args.with_ptx,
                          mem_limit_mb=args.mem_limit_mb, timeout_base=args.timeout, max_ir_kb=args.max_ir_kb,
                          executor=args.executor, ray_address=args.ray_address, sandbox=not args.no_sandbox,
                          cuda_check=args.cuda_check, execute=args.execute,
                          # LLM replies are hostile: each in a process of its own; offline candidates
                          # are our own templates and mutants, and share their batch's sandbox
                          isolate_units=args.llm_config is not None,
                          # the LTO store is for the tile families' MathDx kernels; other runs skip the copy
                          seed_ltos="tiles" in parse_categories(args.category))


def sandbox_in_force(args: argparse.Namespace) -> dict[str, object]:
    """The sandbox this run's batches get, checked before anything starts.  LLM replies are hostile:
    LLM mode refuses a weaker sandbox unless the user accepts it by name."""
    llm = args.llm_config is not None
    if args.no_sandbox:
        if llm:
            raise RunError("--no-sandbox is for offline runs: LLM replies are untrusted code")
        return {"mode": "off", "layers": dict.fromkeys(sandbox.LAYERS, "")}
    layers = sandbox.probe()
    missing = sandbox.missing_layers(layers)
    if missing:
        if llm and not args.allow_weak_sandbox:
            raise RunError(f"this machine lacks sandbox layer(s) {', '.join(missing)}; LLM mode runs untrusted "
                           "code and needs them all (pass --allow-weak-sandbox to accept a weaker sandbox)")
        print(f"synth run: sandbox: this machine lacks {', '.join(missing)}; batches run without "
              f"{'them' if len(missing) > 1 else 'it'}", file=sys.stderr)
    return {"mode": "weak" if missing else "full", "layers": layers}


def _announce(runner: Runner) -> bool:
    """Say what a resumed or finished folder holds; False when there is nothing left to do."""
    args, store = runner.args, runner.store
    left = runner.total_remaining()
    if left == 0:
        print(f"synth run: {args.out} already holds the {args.n} records of this run; nothing to do",
              file=sys.stderr)
        return False
    if store.repaired_bytes:
        print(f"synth run: repaired a torn last line ({store.repaired_bytes} bytes cut)", file=sys.stderr)
    if store.count:
        print(f"synth run: resuming {args.out}: {store.count} records kept, {left} to go", file=sys.stderr)
    return True


WARM_MIN_TILES = 50  # tiles kernels in a run from which --warm-ltos auto builds the store


def _warm_ltos(args: argparse.Namespace) -> None:
    """Build the MathDx LTOs the run's tile templates need into the machine's store, once (a few
    seconds per configuration the first time, a cache check after); a failure only costs speed."""
    if args.warm_ltos == "never" or (args.executor == "ray" and args.ray_address):
        return  # (a cluster's workers do not see this machine's store)
    categories = parse_categories(args.category)
    if args.warm_ltos == "auto" and categories.count("tiles") * args.n / len(categories) < WARM_MIN_TILES:
        return  # a few tiles kernels build their own LTOs sooner than the store would be built
    from warp_synth.extract import lto_cache
    from warp_synth.synth.templates import lto_warm_sources

    sources = lto_warm_sources(categories)
    if not sources:
        return
    report = lto_cache.warm(sources, progress=lambda m: print(f"synth run: {m}", file=sys.stderr))
    if report.built:
        print(f"synth run: built {report.built} LTO files in {report.seconds:.0f} s", file=sys.stderr)
    for e in report.errors[:3]:
        print(f"synth run: warning: {e}; batches build what is missing themselves", file=sys.stderr)


def validate(args: argparse.Namespace) -> None:
    try:
        parse_categories(args.category)
    except ValueError as e:
        raise RunError(str(e)) from None
    if args.n <= 0:
        raise RunError(f"--n must be a positive number of records, got {args.n}")
    if args.workers <= 0 or args.batch_size <= 0 or args.shard_records <= 0:
        raise RunError("--workers, --batch-size and --shard-records must be positive")
    if not 0.0 <= args.mutation_rate <= 1.0:
        raise RunError(f"--mutation-rate must be between 0 and 1, got {args.mutation_rate}")
    if args.out is None:
        args.out = Path("data") / args.category
    if args.max_ir_kb < 0:
        raise RunError(f"--max-ir-kb must be >= 0, got {args.max_ir_kb}")
    if args.with_ptx and args.cuda_check == "frontend":
        raise RunError("--with-ptx stores the PTX of a full CUDA compile: it needs --cuda-check ptx, not frontend")
    if args.cuda_check is None:
        args.cuda_check = "ptx" if args.with_ptx else "frontend"
    if args.require_grad and not args.execute:
        raise RunError("--require-grad keeps kernels whose adjoint check passed: it needs execution (drop --no-execute)")
    if args.concurrency <= 0 or args.repair_rounds < 0:
        raise RunError("--concurrency must be positive and --repair-rounds non-negative")
    if args.max_llm_calls is not None and args.max_llm_calls < 0:
        raise RunError(f"--max-llm-calls must be >= 0, got {args.max_llm_calls}")
    if args.exclude is not None and not args.exclude.exists():
        raise RunError(f"--exclude {args.exclude}: no such reference (a dataset folder, a folder of .py files or a "
                       ".jsonl)")
    if args.config is not None and not args.config.is_file():
        raise RunError(f"config file {args.config} does not exist")
    from warp_synth.synth.llm.config import LLMConfig, LLMConfigError  # noqa: I001  (lazy: offline runs skip synth.llm)

    cli = {"llm_base_url": args.llm_base_url, "model": args.model, "temperature": args.temperature,
           "offline": args.offline or None}
    try:
        args.llm_config = LLMConfig.resolve(cli, os.environ, args.config)
    except LLMConfigError as e:
        raise RunError(str(e)) from None
    if args.out.exists() and not os.access(args.out, os.W_OK):
        raise RunError(f"cannot write to {args.out}: permission denied")


def run(args: argparse.Namespace) -> int:
    validate(args)
    box = sandbox_in_force(args)
    verified = verified_by(args.cuda_check, args.execute)  # before the folder is touched: no usable NVRTC is one line
    runner = Runner(args)
    runner.sandbox = box
    runner.verified = verified
    if not _announce(runner):
        return 0
    _warm_ltos(args)
    try:
        with Extractor(_extract_options(args)) as ex:
            if args.llm_config is None:
                source = OfflineSource(OfflineCandidates(args.seed, mutation_rate=args.mutation_rate), ex,
                                       runner.dedup, batch_size=args.batch_size, workers=args.workers,
                                       next_index=runner.next_index())
                runner.run(source, lambda: ex.stats)
            else:
                from warp_synth.synth.llm.source import LLMSource

                with LLMSource.open(args, runner, ex) as source:
                    runner.run(source, lambda: ex.stats)
    except WorkerStartError as e:
        raise RunError(str(e)) from None
    return 0
