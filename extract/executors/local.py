"""Isolated, killable extraction workers.

Each worker is ``python -m warp_synth.extract.worker`` started with ``subprocess`` and an *explicit*
environment: ``PATH``, locale, and paths into its own temporary directory (``HOME``,
``TMPDIR``, ``WARP_CACHE_PATH``) and nothing else, so no API key or other secret of the parent
ever reaches code loaded there.  (``multiprocessing`` and pool libraries inherit the parent's
environment, which is why this is a small hand-written pool.)  The worker limits its own
address space, runs in its own session (so a kill takes its compiler threads with it), and is
recycled after ``max_batches`` requests so memory and cache disk stay flat; its directory is
deleted whenever it exits.  A folder records the pids of the processes that own it
(``*.pid``); should both the parent and the worker die without cleaning up, the next pool
started on the machine removes it (``supervisor.sweep_stale_folders``).  Starting, isolating and
killing processes is ``executors.supervisor``'s job; this module speaks the worker protocol.

A request that exceeds its wall-clock deadline, a worker that dies (segfault, OOM kill) or that
answers garbage is killed and replaced; the batch is split in halves and retried so the
offending unit is isolated and reported as ``timeout`` or ``crash``, never taking its
neighbours or the parent with it.
"""

from __future__ import annotations

import json
import math
import os
import queue
import selectors
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from warp_synth.counters import Counters
from warp_synth.extract import lto_cache
from warp_synth.extract.executors.supervisor import (
    ChildFolder,
    close_streams,
    exit_text,
    isolated_environment,
    kill_group,
    spawn,
    sweep_stale_folders,
)
from warp_synth.reasons import Reason
from warp_synth.records import Accepted, BackendIR, KernelIR, Outcome, Rejected, Unit


@dataclass(slots=True)
class PoolOptions:
    workers: int = 2
    mem_limit_mb: int = 4096  # address-space limit of each worker
    startup_timeout: float = 120.0  # seconds for a worker to import and initialise Warp
    timeout_base: float = 60.0  # seconds per request, plus ...
    timeout_per_unit: float = 10.0  # ... seconds per unit in the request
    max_batches: int = 40  # requests served before a worker is recycled
    with_ptx: bool = False
    max_ir_kb: int = 128  # larger generated modules are rejected as too_large (0: no limit)
    sandbox: bool = True  # every batch in a fresh sandboxed process (False: in the worker itself)
    isolate_units: bool = True  # each unit loaded in a process of its own inside the batch's sandbox
    cuda_check: str = "frontend"  # how far the CUDA unit is compiled: "frontend" or "ptx" (with_ptx implies ptx)
    execute: bool = True  # run every compiled kernel (extract.execute)
    seed_ltos: bool = False  # workers copy the machine's MathDx LTO store into their cache (extract.lto_cache)

    @property
    def cuda_level(self) -> str:
        return "ptx" if self.with_ptx else self.cuda_check


# CPU seconds the workers report spending, summed over workers: starting (import + init Warp),
# importing units and running Warp's codegen, in each compiler (failed attempts included), and
# executing compiled kernels (extract.execute: the units' own processes included)
PHASES = ("startup_s", "codegen_s", "cpu_compile_s", "cuda_compile_s", "execute_s")


@dataclass(slots=True)
class PoolStats(Counters):
    batches: int = 0
    worker_starts: int = 0
    worker_restarts: int = 0  # replacements after a timeout, crash or protocol error
    timeouts: int = 0
    crashes: int = 0
    startup_s: float = 0.0
    codegen_s: float = 0.0
    cpu_compile_s: float = 0.0
    cuda_compile_s: float = 0.0
    execute_s: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)


def reported_seconds(raw: object, limit: float) -> dict[str, float]:
    """The phase timings of a worker reply, kept only if well-formed (the worker is not trusted;
    a bad value costs the statistics, never the batch)."""
    if not isinstance(raw, dict):
        return {}
    out: dict[str, float] = {}
    for k, v in raw.items():
        name = f"{k}_s"
        if name in PHASES and isinstance(v, (int, float)) and math.isfinite(v) and 0 <= v <= limit:
            out[name] = float(v)
    return out


class WorkerStartError(RuntimeError):
    """No worker could be started at all: fatal for the run, not a property of any kernel."""


class WorkerFailure(Exception):
    def __init__(self, kind: str, detail: str, *, alive: bool = False) -> None:
        super().__init__(f"{kind}: {detail}")
        self.kind = kind  # "timeout" | "crash"
        self.detail = detail
        self.alive = alive  # the batch's process failed, the worker itself answered: keep it


class UnitTimeout(Exception):
    """The worker blamed one unit of the batch for the batch's timeout (it hung while loading)."""

    def __init__(self, index: int) -> None:
        super().__init__(f"unit {index} timed out")
        self.index = index


# seconds between the deadline the worker enforces on a batch and the one the pool enforces on the worker
DEADLINE_MARGIN_S = 10.0
MAX_REPLY_LINE_BYTES = 512 << 20  # a worker's reply line longer than this is a crash, not a reply


class WorkerProcess:
    """One live worker; not thread-safe (a pool slot owns it)."""

    def __init__(self, options: PoolOptions, stats: PoolStats) -> None:
        self.options = options
        self.stats = stats
        self.proc: subprocess.Popen[bytes] | None = None
        self.workdir = ""
        self.served = 0
        self._buf = bytearray()
        self._next_id = 0

    # -- lifecycle
    def start(self) -> None:
        self.folder = ChildFolder("wsynth-worker-")
        self.workdir = self.folder.path
        self._log = open(os.path.join(self.workdir, "worker.log"), "wb")  # noqa: SIM115
        env = isolated_environment(self.workdir, self.options.mem_limit_mb)
        if not self.options.sandbox:
            env["WSYNTH_SANDBOX"] = "off"
        env["WSYNTH_CUDA_CHECK"] = self.options.cuda_level  # the zygote loads (and warms up) that compiler
        env["WSYNTH_EXECUTE"] = "1" if self.options.execute else "0"
        if not self.options.seed_ltos:
            env.pop(lto_cache.STORE_ENV, None)
        self.proc = spawn([sys.executable, "-m", "warp_synth.extract.worker"], workdir=self.workdir, env=env,
                          stderr=self._log)
        self._buf = bytearray()
        self.served = 0
        self.stats.add(worker_starts=1)
        self.folder.record_owners(self.proc.pid)  # see sweep_stale_folders
        try:
            hello = self._read_line(time.monotonic() + self.options.startup_timeout)
        except WorkerFailure as e:
            tail = self.log_tail(1000)
            self.stop(kill=True)
            raise WorkerStartError(f"extraction worker failed to start ({e.kind}): {tail or e.detail}") from None
        if not hello.get("ready"):
            self.stop(kill=True)
            raise WorkerStartError("extraction worker failed to start: no ready message")
        self.stats.add(**reported_seconds({"startup": hello.get("startup_s")}, self.options.startup_timeout))

    def log_tail(self, n: int = 2000) -> str:
        try:
            with open(os.path.join(self.workdir, "worker.log"), "rb") as f:
                f.seek(0, os.SEEK_END)
                f.seek(max(0, f.tell() - n))
                return f.read().decode("utf-8", "replace").strip()
        except OSError:
            return ""

    def stop(self, *, kill: bool = False) -> None:
        proc, self.proc = self.proc, None
        if proc is not None:
            if not kill and proc.poll() is None:
                try:
                    proc.stdin.write(b'{"op": "exit"}\n')  # type: ignore[union-attr]
                    proc.stdin.flush()  # type: ignore[union-attr]
                    proc.wait(timeout=5)
                except (OSError, subprocess.TimeoutExpired):
                    kill = True
            if proc.poll() is None or kill:
                kill_group(proc)
            close_streams(proc.stdin, proc.stdout)
        if getattr(self, "_log", None) is not None:
            self._log.close()
        if self.workdir:
            self.folder.remove()
            self.workdir = ""

    # -- protocol
    def _read_line(self, deadline: float) -> dict[str, Any]:
        assert self.proc is not None and self.proc.stdout is not None
        fd = self.proc.stdout.fileno()
        with selectors.DefaultSelector() as sel:
            sel.register(fd, selectors.EVENT_READ)
            scan = 0  # what is left from the previous reply has not been looked at yet
            while (end := self._buf.find(b"\n", scan)) == -1:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise WorkerFailure("timeout", "no answer before the deadline")
                if not sel.select(remaining):
                    continue
                chunk = os.read(fd, 1 << 20)
                if len(self._buf) + len(chunk) > MAX_REPLY_LINE_BYTES:
                    raise WorkerFailure("crash", f"reply from worker exceeds {MAX_REPLY_LINE_BYTES >> 20} MB")
                if not chunk:
                    code = self.proc.wait()
                    raise WorkerFailure("crash", f"worker died ({exit_text(code)}): {self.log_tail(600)}")
                scan = len(self._buf)  # the bytes before it hold no newline: look only at the new ones
                self._buf += chunk
        line = bytes(self._buf[:end])
        del self._buf[:end + 1]
        try:
            msg = json.loads(line)
        except ValueError as e:
            raise WorkerFailure("crash", f"unreadable reply from worker: {e}") from None
        if not isinstance(msg, dict):
            raise WorkerFailure("crash", "unreadable reply from worker")
        return msg

    def request(self, units: list[Unit], timeout: float) -> list[dict[str, Any]]:
        if self.proc is None:
            self.start()
        assert self.proc is not None and self.proc.stdin is not None
        self._next_id += 1
        req = {"id": self._next_id, "with_ptx": self.options.with_ptx, "cuda_check": self.options.cuda_level,
               "max_ir_kb": self.options.max_ir_kb,
               "deadline_s": timeout, "unit_deadline_s": self.options.timeout_base,
               "isolate_units": self.options.isolate_units,
               "units": [{"key": u.key, "source": u.source, **({"replay": u.replay} if u.replay else {}),
                          **({"lenient": True} if u.trusted else {})} for u in units]}
        try:
            self.proc.stdin.write((json.dumps(req) + "\n").encode("utf-8"))
            self.proc.stdin.flush()
        except OSError as e:
            raise WorkerFailure("crash", f"worker pipe closed: {e}") from None
        reply = self._read_line(time.monotonic() + timeout + DEADLINE_MARGIN_S)
        self.served += 1
        if reply.get("id") != self._next_id:
            raise WorkerFailure("crash", "reply out of order")
        self.stats.add(**reported_seconds(reply.get("seconds"), timeout))
        culprit = reply.get("timeout_unit")
        if isinstance(culprit, int) and not isinstance(culprit, bool) and 0 <= culprit < len(units):
            raise UnitTimeout(culprit)
        if "error" in reply:
            kind = "timeout" if reply.get("timed_out") is True else "crash"
            raise WorkerFailure(kind, str(reply["error"])[:600], alive=True)
        outcomes = reply.get("outcomes")
        if not isinstance(outcomes, list) or len(outcomes) != len(units):
            raise WorkerFailure("crash", "malformed reply from worker")
        return outcomes


def outcome_from_dict(d: dict[str, Any], key: str) -> Outcome:
    """Rebuild a typed outcome from a worker's JSON, checking shape (the worker is not trusted)."""
    if d.get("key") != key:
        raise ValueError("outcome for the wrong unit")
    if d.get("status") == "rejected":
        line = d.get("line")
        return Rejected(key, Reason.parse(d["reason"]), str(d.get("message", "")),
                        line if isinstance(line, int) else None)
    if d.get("status") != "accepted":
        raise ValueError("unknown outcome status")
    kernels = []
    for k in d["kernels"]:
        def backend(b: dict[str, Any]) -> BackendIR:
            return BackendIR(str(b["forward"]), str(b["backward"]), str(b.get("helpers", "")),
                             None if b.get("ptx") is None else str(b["ptx"]))
        kernels.append(KernelIR(
            kernel_name=str(k["kernel_name"]), mangled_name=str(k["mangled_name"]),
            cpu=backend(k["cpu"]), cuda=backend(k["cuda"]), num_params=int(k["num_params"]),
            arg_types={str(a): str(t) for a, t in dict(k["arg_types"]).items()},
            builtins=[str(b) for b in k["builtins"]], module_id=str(k["module_id"]),
            execution=_execution(k.get("execution")),
        ))
    return Accepted(key, kernels)


def _execution(d: Any) -> dict[str, Any] | None:
    """A worker's ``execution`` object: a JSON object with a string status (or nothing)."""
    if d is None:
        return None
    if not isinstance(d, dict) or not isinstance(d.get("status"), str):
        raise ValueError("malformed execution result")
    return d


class ThreadFedPool:
    """``submit``/``run`` over a thread pool whose threads each run ``self._run(units)``."""

    _executor: ThreadPoolExecutor

    def _run(self, units: list[Unit]) -> list[Outcome]:
        raise NotImplementedError

    def submit(self, units: list[Unit], on_done: Callable[[list[Outcome]], None] | None = None
               ) -> Future[list[Outcome]]:
        fut = self._executor.submit(self._run, list(units))
        if on_done is not None:
            fut.add_done_callback(lambda f: on_done(f.result()) if f.exception() is None else None)
        return fut

    def run(self, units: list[Unit]) -> list[Outcome]:
        return self.submit(units).result()

    def close(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> ThreadFedPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class WorkerPool(ThreadFedPool):
    """``workers`` slots, each owning one worker process, fed by a thread pool."""

    def __init__(self, options: PoolOptions | None = None) -> None:
        self.options = options or PoolOptions()
        self.stats = PoolStats()
        sweep_stale_folders("wsynth-worker-")  # left by runs whose parent and workers were both killed
        self._idle: queue.LifoQueue[WorkerProcess] = queue.LifoQueue()
        for _ in range(self.options.workers):
            self._idle.put(WorkerProcess(self.options, self.stats))
        self._all = list(self._idle.queue)
        self._executor = ThreadPoolExecutor(max_workers=self.options.workers, thread_name_prefix="wsynth-slot")
        self._closed = False

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._executor.shutdown(wait=True, cancel_futures=True)
        for w in self._all:
            w.stop()

    def _run(self, units: list[Unit]) -> list[Outcome]:
        worker = self._idle.get()
        try:
            return self._run_on(worker, units)
        finally:
            self._idle.put(worker)

    def _run_on(self, worker: WorkerProcess, units: list[Unit]) -> list[Outcome]:
        return run_on_worker(worker, units, self.options, self.stats)


def run_on_worker(worker: WorkerProcess, units: list[Unit], options: PoolOptions, stats: PoolStats
                  ) -> list[Outcome]:
    """Extract ``units`` on ``worker``: one outcome per unit, in order, never an exception for a kernel.

    A timeout, crash or garbled reply kills the worker (the next request starts a fresh one) and
    the batch is split in halves until the offending unit is alone and rejected as ``timeout`` or
    ``crash``.  Shared by the local pool and the Ray actors (``extract.executors.ray``).
    """
    if not units:
        return []
    timeout = options.timeout_base + options.timeout_per_unit * len(units)
    try:
        if worker.proc is not None and worker.served >= options.max_batches:
            worker.stop()  # recycle: flat memory and disk over long runs
        raw = worker.request(units, timeout)
        stats.add(batches=1)
        return [outcome_from_dict(d, u.key) for d, u in zip(raw, units, strict=True)]
    except UnitTimeout as e:  # one culprit: reject it alone and retry the rest as one batch
        stats.add(timeouts=1)
        msg = f"loading this kernel (Warp's codegen included) took longer than {options.timeout_base:.0f} s"
        rest = run_on_worker(worker, units[:e.index] + units[e.index + 1:], options, stats)
        return [*rest[:e.index], Rejected(units[e.index].key, Reason.TIMEOUT, msg), *rest[e.index:]]
    except (WorkerFailure, ValueError, KeyError, TypeError) as e:
        kind = e.kind if isinstance(e, WorkerFailure) else "crash"
        detail = e.detail if isinstance(e, WorkerFailure) else f"malformed outcome: {e}"
        if not (isinstance(e, WorkerFailure) and e.alive):
            worker.stop(kill=True)
            stats.add(worker_restarts=1)
        stats.add(**{("timeouts" if kind == "timeout" else "crashes"): 1})
        if len(units) == 1:
            msg = (f"extraction exceeded {timeout:.0f} s and the worker was killed" if kind == "timeout"
                   else f"the worker crashed while extracting this kernel: {detail}")
            return [Rejected(units[0].key, Reason.TIMEOUT if kind == "timeout" else Reason.CRASH, msg[:1200])]
        half = len(units) // 2
        return (run_on_worker(worker, units[:half], options, stats)
                + run_on_worker(worker, units[half:], options, stats))
