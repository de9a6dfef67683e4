"""The extraction engine: screen, batch, compile in isolated workers, return outcomes.

    with Extractor(ExtractOptions(workers=2)) as ex:
        outcomes = ex.extract([Unit("k1", source), ...])   # one Outcome per unit, in order

Untrusted units (``Unit.trusted`` false) pass the static screen first; a unit that fails it is
rejected as ``unsafe``/``syntax`` here and never reaches a worker.  Admitted units are grouped
into batches of ``batch_size`` and compiled by the worker pool (see ``extract.executors.local``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass

from warp_synth.extract.executors.local import PoolOptions, WorkerPool
from warp_synth.extract.screen import screen
from warp_synth.reasons import Reason
from warp_synth.records import Outcome, Rejected, Unit

# How far each CUDA translation unit is compiled.  "frontend": NVRTC's front end only (parse, semantic
# analysis, template instantiation; ``--fdevice-syntax-only``), the NVRTC of the nvidia-cuda-nvrtc wheel
# with Warp's own options; "ptx": Warp's full compile to PTX.  The CPU unit is always compiled to an
# object.  (Mirrors ``warp_adapter.CUDA_CHECKS``; this module must not import Warp.)
CUDA_CHECKS = ("frontend", "ptx")


@dataclass(slots=True)
class ExtractOptions:
    workers: int = 2
    batch_size: int = 32
    with_ptx: bool = False
    mem_limit_mb: int = 4096
    timeout_base: float = 60.0
    timeout_per_unit: float = 10.0
    max_batches_per_worker: int = 40
    max_ir_kb: int = 128  # reject units whose generated module exceeds this (0: no limit)
    executor: str = "local"  # "local": worker processes on this machine; "ray": worker actors on a Ray cluster
    ray_address: str | None = None  # None: start (or join) a local Ray instance
    sandbox: bool = True  # every batch in a fresh sandboxed process (extract.sandbox); False: in the worker
    # each unit loaded in a process of its own inside its batch's sandbox, so a unit that got past
    # the screen cannot change its neighbours' code either (costs ~10 ms of CPU per unit)
    isolate_units: bool = True
    # how far each CUDA translation unit is compiled (see CUDA_CHECKS); with_ptx implies "ptx"
    cuda_check: str = "frontend"
    # run every compiled kernel on the CPU with seeded test vectors and check its adjoint (extract.execute)
    execute: bool = True
    # workers copy the machine's MathDx LTO store into their caches at start (~1 s per 200 MB): for
    # runs that draw tile_matmul & co. (extract.lto_cache; synth run sets it when tiles is asked for)
    seed_ltos: bool = False

    def __post_init__(self) -> None:
        if self.cuda_check not in CUDA_CHECKS:
            raise ValueError(f"unknown cuda_check {self.cuda_check!r} (expected one of {', '.join(CUDA_CHECKS)})")

    @property
    def cuda_level(self) -> str:
        return "ptx" if self.with_ptx else self.cuda_check

    def pool_options(self) -> PoolOptions:
        return PoolOptions(
            workers=self.workers, mem_limit_mb=self.mem_limit_mb, timeout_base=self.timeout_base,
            timeout_per_unit=self.timeout_per_unit, max_batches=self.max_batches_per_worker,
            with_ptx=self.with_ptx, max_ir_kb=self.max_ir_kb, sandbox=self.sandbox, cuda_check=self.cuda_check,
            isolate_units=self.isolate_units, execute=self.execute, seed_ltos=self.seed_ltos,
        )


def verified_by(cuda_check: str, execute: bool = True) -> dict[str, str]:
    """What the compilers proved of an accepted kernel at this check level, for a record's
    ``metadata.verified``: ``{"cpu": "clang -O0 object (array bounds checked)", "cuda": "nvrtc 13.4.92
    front end, sm_75"}`` (``"clang -O0 object"`` without execution)
    (or ``"nvrtc 13.4 ptx, sm_75"``: Warp's own NVRTC).  Loads the compiler that will run, so a missing
    or mismatched NVRTC is a ``UserError`` (one line) here, at run start; imports Warp."""
    from warp_synth.extract import warp_adapter

    if cuda_check not in CUDA_CHECKS:
        raise ValueError(f"unknown cuda_check {cuda_check!r} (expected one of {', '.join(CUDA_CHECKS)})")
    cpu = warp_adapter.CPU_CHECK_BOUNDS if execute else warp_adapter.CPU_CHECK
    return {"cpu": cpu, "cuda": warp_adapter.cuda_check_description(cuda_check)}


MAX_SOURCE_BYTES = 64 * 1024  # an untrusted unit larger than this is not screened or loaded at all


def screen_unit(unit: Unit) -> Rejected | None:
    if unit.trusted:
        return None
    size = len(unit.source.encode("utf-8", "surrogatepass"))
    if size > MAX_SOURCE_BYTES:
        return Rejected(unit.key, Reason.UNSAFE, f"the source is {size // 1024} KB; an LLM kernel module may be at "
                        f"most {MAX_SOURCE_BYTES // 1024} KB", None)
    r = screen(unit.source)
    return None if r.ok else Rejected(unit.key, r.reason, r.message, r.line)


class Extractor:
    def __init__(self, options: ExtractOptions | None = None) -> None:
        self.options = options or ExtractOptions()
        # what every accepted kernel was checked with; a missing or mismatched NVRTC fails here, in one line
        self.verified = verified_by(self.options.cuda_level, self.options.execute)
        if self.options.executor == "ray":
            from warp_synth.extract.executors.ray import RayWorkerPool  # optional extra: warp-synth[ray]

            self.pool = RayWorkerPool(self.options.pool_options(), address=self.options.ray_address)
        elif self.options.executor == "local":
            self.pool = WorkerPool(self.options.pool_options())
        else:
            raise ValueError(f"unknown executor {self.options.executor!r} (expected 'local' or 'ray')")

    def __enter__(self) -> Extractor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.pool.close()

    def submit_batch(self, units: Sequence[Unit],
                     on_done: Callable[[list[Outcome]], None] | None = None) -> Future[list[Outcome]]:
        """Screen ``units`` and compile the admitted ones as one batch; outcomes in input order."""
        screened = {u.key: screen_unit(u) for u in units}
        admitted = [u for u in units if screened[u.key] is None]
        inner: Future[list[Outcome]] = self.pool.submit(admitted)
        outer: Future[list[Outcome]] = Future()

        def finish(f: Future[list[Outcome]]) -> None:
            if outer.cancelled():
                return
            if f.cancelled():  # the pool shut down before this batch ran
                outer.cancel()
                return
            exc = f.exception()
            if exc is not None:
                outer.set_exception(exc)
                return
            by_key = {o.key: o for o in f.result()}
            result: list[Outcome] = [screened[u.key] or by_key[u.key] for u in units]  # type: ignore[misc]
            outer.set_result(result)
            if on_done is not None:
                on_done(result)

        inner.add_done_callback(finish)
        return outer

    def extract(self, units: Sequence[Unit]) -> list[Outcome]:
        size = max(1, self.options.batch_size)
        futures = [self.submit_batch(units[i : i + size]) for i in range(0, len(units), size)]
        out: list[Outcome] = []
        for f in futures:
            out.extend(f.result())
        return out

    @property
    def stats(self) -> dict[str, float]:
        return self.pool.stats.to_dict()


def check_sources(sources: Sequence[str], *, trusted: bool = False, **options: object) -> list[Outcome]:
    """Extract a list of module sources once (convenience for tests and scripts)."""
    units = [Unit(str(i), s, trusted) for i, s in enumerate(sources)]
    with Extractor(ExtractOptions(**options)) as ex:  # type: ignore[arg-type]
        return ex.extract(units)


class MicroBatcher:
    """Collects single units submitted from many threads into batches for the engine.

    ``submit(unit)`` returns a future of that unit's outcome.  A batch is sent when
    ``batch_size`` units are waiting or ``linger`` seconds after the first one arrived, so
    units that trickle in (LLM replies) still share translation units.
    """

    def __init__(self, extractor: Extractor, batch_size: int, linger: float = 0.25) -> None:
        import threading

        self.extractor = extractor
        self.batch_size = max(1, batch_size)
        self.linger = linger
        self._lock = threading.Condition()
        self._pending: list[tuple[Unit, Future[Outcome]]] = []
        self._closed = False
        self._thread = threading.Thread(target=self._loop, name="wsynth-microbatch", daemon=True)
        self._thread.start()

    def submit(self, unit: Unit) -> Future[Outcome]:
        fut: Future[Outcome] = Future()
        with self._lock:
            if self._closed:
                raise RuntimeError("micro-batcher is closed")
            self._pending.append((unit, fut))
            self._lock.notify()
        return fut

    def _loop(self) -> None:
        import time

        while True:
            with self._lock:
                while not self._pending and not self._closed:
                    self._lock.wait()
                if self._closed and not self._pending:
                    return
                deadline = time.monotonic() + self.linger
                while len(self._pending) < self.batch_size and not self._closed:
                    left = deadline - time.monotonic()
                    if left <= 0:
                        break
                    self._lock.wait(left)
                batch, self._pending = self._pending[: self.batch_size], self._pending[self.batch_size :]
            self._send(batch)

    def _send(self, batch: list[tuple[Unit, Future[Outcome]]]) -> None:
        units = [u for u, _ in batch]

        def done(f: Future[list[Outcome]]) -> None:
            exc = f.exception()
            for i, (_, fut) in enumerate(batch):
                if exc is not None:
                    fut.set_exception(exc)
                else:
                    fut.set_result(f.result()[i])

        self.extractor.submit_batch(units).add_done_callback(done)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            self._lock.notify_all()
        self._thread.join(timeout=5)
