"""The worker pool on a Ray cluster: ``synth run --executor ray [--ray-address ADDR]``.

    with RayWorkerPool(PoolOptions(workers=8), address="auto") as pool:
        outcomes = pool.submit(units).result()      # same interface as extract.pool.WorkerPool

One Ray actor per slot (``num_cpus=1``, ``workers`` actors in all, placed anywhere on the
cluster).  An actor is only a courier: it owns one ``extract.executors.local.WorkerProcess`` on its node
and runs batches on it with the same bisect-on-timeout/crash logic as the local pool
(``extract.executors.local.run_on_worker``).  So untrusted kernel source is still loaded and compiled only
in an isolated ``python -m warp_synth.extract.worker`` subprocess with an explicit, secret-free
environment, an address-space limit and a killable wall-clock timeout, on every node.  Ray
workers do inherit their raylet's environment (for a local instance: the driver's, API keys
included); nothing of it reaches the worker subprocess, and the actors are given no
environment variables of ours (no ``runtime_env``).

Batches and outcomes cross the Ray boundary as picklable dataclasses (``Unit``, ``Outcome``);
deduplication, the store and resume stay in the driver (``synth.run``), so a Ray run keeps
every guarantee of a local one.  An actor that dies (node lost, process killed) is restarted
by Ray (``max_restarts=-1``) and the batch it held is resubmitted to the next free actor, up to
``ACTOR_RETRIES`` times, so a batch is never lost: after that the run stops with an error and
resumes from its last commit when started again.
"""

from __future__ import annotations

import logging
import os
import queue
import shutil
import signal
import socket
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from warp_synth.errors import UserError
from warp_synth.extract.executors.local import (
    PoolOptions,
    PoolStats,
    ThreadFedPool,
    WorkerProcess,
    WorkerStartError,
    run_on_worker,
)
from warp_synth.extract.executors.supervisor import sweep_stale_folders
from warp_synth.records import Outcome, Unit

RAY_MISSING = "--executor ray needs the 'ray' extra: pip install 'warp-synth[ray]'"
ACTOR_RETRIES = 5  # resubmissions of one batch after the actor running it died
LOCAL_OBJECT_STORE_MB = 256  # outcomes are small; keep a local instance light on a shared machine


class RayExecutorError(UserError):
    """Ray is missing, unreachable or too small for ``--workers``: one line, exit status 2."""


@dataclass(slots=True)
class SlotReply:
    """What an actor sends back for one batch: outcomes (or a fatal start error) and its counters."""

    outcomes: list[Outcome] = field(default_factory=list)
    stats: dict[str, float] = field(default_factory=dict)  # increments since the previous reply
    error: str | None = None  # the worker process could not start at all (WorkerStartError)
    node: str = ""


class _SlotWorker(WorkerProcess):
    """A worker process that leaves its pid in the slot folder, for a restarted actor to clean up."""

    pid_file = ""

    def start(self) -> None:
        if self.pid_file:  # the slot folder, again after a stop()
            os.makedirs(os.path.dirname(self.pid_file), exist_ok=True)
        super().start()
        if self.proc is not None and self.pid_file:
            Path(self.pid_file).write_text(str(self.proc.pid))


class ExtractionSlot:
    """The body of one Ray actor: a slot owning one isolated extraction worker process on its node.

    Its worker folders live under ``<tmp>/wsynth-ray-<actor id>``.  When Ray restarts a dead
    actor, the new incarnation first kills the worker its predecessor left behind (it may be
    stuck on a hanging kernel) and deletes that folder, so actor deaths leak neither processes
    nor disk.
    """

    def __init__(self, options: PoolOptions) -> None:
        self.options = options
        self.stats = PoolStats()
        self.node = socket.gethostname()
        self.root = self._fresh_root()
        self.worker = _SlotWorker(options, self.stats)
        self.worker.pid_file = str(self.root / "worker.pid")
        self._reported = self.stats.to_dict()

    @staticmethod
    def _fresh_root() -> Path:
        try:
            import ray

            ident = ray.get_runtime_context().get_actor_id() or f"pid{os.getpid()}"
        except Exception:
            ident = f"pid{os.getpid()}"
        sweep_stale_folders("wsynth-ray-")  # slots of runs whose actors and workers all died (kill -9)
        root = Path(tempfile.gettempdir()) / f"wsynth-ray-{ident[:24]}"
        pid_file = root / "worker.pid"
        try:
            pid = int(pid_file.read_text())
            if os.readlink(f"/proc/{pid}/cwd").startswith(str(root)):  # still our predecessor's worker
                os.killpg(pid, signal.SIGKILL)
        except (OSError, ValueError):
            pass
        shutil.rmtree(root, ignore_errors=True)
        root.mkdir(parents=True)
        (root / "actor.pid").write_text(str(os.getpid()))  # with worker.pid: see sweep_stale_folders
        tempfile.tempdir = str(root)  # WorkerProcess makes its folders here (this process is the actor's)
        return root

    def _reply(self, outcomes: list[Outcome] | None = None, error: str | None = None) -> SlotReply:
        now = self.stats.to_dict()
        delta = {k: v - self._reported[k] for k, v in now.items() if v != self._reported[k]}
        self._reported = now
        return SlotReply(outcomes or [], delta, error, self.node)

    def start(self) -> SlotReply:
        """Start the worker process now, so that every slot initialises Warp in parallel."""
        try:
            if self.worker.proc is None:
                self.worker.start()
        except WorkerStartError as e:
            return self._reply(error=f"{e} (on Ray node {self.node})")
        return self._reply()

    def run(self, units: list[Unit]) -> SlotReply:
        try:
            return self._reply(run_on_worker(self.worker, units, self.options, self.stats))
        except WorkerStartError as e:
            return self._reply(error=f"{e} (on Ray node {self.node})")

    def stop(self) -> None:
        self.worker.stop()
        shutil.rmtree(self.root, ignore_errors=True)


def _unreachable(address: str) -> str | None:
    """Why ``host:port`` (or ``ray://host:port``) refuses a TCP connection, else None.

    Ray retries an unreachable address for minutes; this answers in seconds.
    """
    host, sep, port = address.removeprefix("ray://").rpartition(":")
    if not sep or not port.isdigit():
        return None  # "auto" and the like: Ray resolves them
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=10):
            return None
    except OSError as e:
        return e.strerror or str(e) or type(e).__name__


def _first_line(e: BaseException) -> str:
    text = str(e).strip() or type(e).__name__
    return text.splitlines()[0][:300]


class RayWorkerPool(ThreadFedPool):
    """``workers`` extraction slots as Ray actors, fed by driver threads; ``WorkerPool``'s interface."""

    def __init__(self, options: PoolOptions | None = None, *, address: str | None = None) -> None:
        try:
            import ray
            import ray.exceptions as rex
        except ImportError:
            raise RayExecutorError(RAY_MISSING) from None
        self._ray = ray
        self.options = options or PoolOptions()
        self.stats = PoolStats()
        self.address = address
        self._closed = False
        self._owns_ray = False
        # the actor (or its node) died or the result went with it: the batch is resubmitted
        self._retryable: tuple[type[BaseException], ...] = (
            rex.RayActorError, rex.WorkerCrashedError, rex.NodeDiedError, rex.ObjectLostError,
            rex.OutOfMemoryError, rex.LocalRayletDiedError,
        )
        if not ray.is_initialized():
            self._init_ray()
        self._actors: list[Any] = []
        try:
            self._start_actors()
        except BaseException:
            self.close()
            raise
        self._idle: queue.Queue[Any] = queue.Queue()
        for a in self._actors:
            self._idle.put(a)
        self._executor = ThreadPoolExecutor(max_workers=self.options.workers, thread_name_prefix="wsynth-ray")

    # ------------------------------------------------------------------ cluster and actors
    def _init_ray(self) -> None:
        ray = self._ray
        kwargs: dict[str, Any] = dict(include_dashboard=False, log_to_driver=False,
                                      logging_level=logging.ERROR)
        if self.address is None:  # a local instance just for this run: one CPU per worker (the
            # actors import the installed warp_synth package, like the driver)
            kwargs.update(num_cpus=self.options.workers, object_store_memory=LOCAL_OBJECT_STORE_MB << 20)
        where = f"the Ray cluster at {self.address}" if self.address else "a local Ray instance"
        why = _unreachable(self.address) if self.address else None
        if why:
            raise RayExecutorError(f"cannot start or join {where}: {why}")
        try:  # "local": always a fresh instance owned by this run, never a stray `ray start` cluster
            ray.init(address=self.address or "local", **kwargs)
        except Exception as e:
            raise RayExecutorError(f"cannot start or join {where}: {_first_line(e)}") from None
        self._owns_ray = True

    def _start_actors(self) -> None:
        ray = self._ray
        cpus = float(ray.cluster_resources().get("CPU", 0))
        if cpus < self.options.workers:
            raise RayExecutorError(f"the Ray cluster has {cpus:g} CPUs but --workers {self.options.workers} "
                                   "needs one per worker; lower --workers or add nodes")
        # no runtime_env: the actors need no environment variable of ours (and get no secret)
        actor_cls = ray.remote(num_cpus=1, max_restarts=-1, max_task_retries=0)(ExtractionSlot)
        self._actors = [actor_cls.remote(self.options) for _ in range(self.options.workers)]
        refs = [a.start.remote() for a in self._actors]
        try:
            replies: list[SlotReply] = ray.get(refs, timeout=self.options.startup_timeout + 120)
        except self._ray.exceptions.GetTimeoutError:
            raise WorkerStartError(f"the Ray extraction actors did not start within "
                                   f"{self.options.startup_timeout + 120:.0f} s") from None
        except Exception as e:  # e.g. the nodes cannot import warp-synth
            raise WorkerStartError(f"the Ray extraction actors failed to start: {_first_line(e)} "
                                   "(is warp-synth installed on every node?)") from None
        for r in replies:
            self.stats.add(**r.stats)
        errors = [r.error for r in replies if r.error]
        if errors:
            raise WorkerStartError(errors[0])

    # ------------------------------------------------------------------ the WorkerPool interface
    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        executor = getattr(self, "_executor", None)
        if executor is not None:
            executor.shutdown(wait=True, cancel_futures=True)
        ray = self._ray
        if self._actors:
            try:  # stop the worker processes cleanly (their folders are deleted), then the actors
                ray.get([a.stop.remote() for a in self._actors], timeout=30)
            except Exception:
                pass
            for a in self._actors:
                try:
                    ray.kill(a)
                except Exception:
                    pass
            self._actors = []
        if self._owns_ray:
            ray.shutdown()
            self._owns_ray = False

    def _run(self, units: list[Unit]) -> list[Outcome]:
        if not units:
            return []
        last: BaseException | None = None
        for attempt in range(ACTOR_RETRIES + 1):
            if attempt:
                time.sleep(min(10.0, 0.5 * 2 ** attempt))  # give Ray time to restart or move the actor
            actor = self._idle.get()
            try:
                reply: SlotReply = self._ray.get(actor.run.remote(units))
            except self._retryable as e:
                last = e
                self.stats.add(worker_restarts=1)
                continue
            finally:
                self._idle.put(actor)
            self.stats.add(**reply.stats)
            if reply.error:
                raise WorkerStartError(reply.error)
            return reply.outcomes
        assert last is not None
        raise WorkerStartError(f"a batch of {len(units)} kernels was lost with {ACTOR_RETRIES + 1} Ray actors "
                               f"in a row (last: {_first_line(last)}); start the run again to resume it")
