"""A fresh, sandboxed process per batch, forked from the warm worker (the zygote).

The worker process (``extract.worker``) initialises Warp, builds the compilers' precompiled
headers with a trusted warm-up kernel, and never loads untrusted code itself.  For every batch
it forks a child (``extract.sandbox.run_sandboxed``) that enters the sandbox, loads,
code-generates and compiles the batch's units, and reports back over a pipe.  So no unit can
touch a later batch: whatever it did to its process dies with it.

Protocol on the pipe (child -> worker), one line each: ``U <k>`` before unit ``k`` is loaded,
``C`` when compilation starts, then ``R <json>`` with the outcomes.  The worker enforces the
batch's deadline itself: a child still loading unit ``k`` at the deadline is killed and unit
``k`` alone is reported as the culprit (the rest of the batch is retried without it, instead
of a bisection that costs one timeout per level); a child that hangs while compiling is killed
and reported as a batch timeout (the pool then bisects).
"""

from __future__ import annotations

import gc
import json
import os
import selectors
import shutil
import signal
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from warp_synth.extract import sandbox
from warp_synth.extract.executors.supervisor import exit_text

if TYPE_CHECKING:
    from warp_synth.extract.worker import Worker

MAX_REPLY_BYTES = 256 << 20  # a child's reply larger than this is a crash, not a reply


@dataclass(slots=True)
class BatchResult:
    outcomes: list[dict[str, Any]] | None = None
    seconds: dict[str, float] = field(default_factory=dict)
    timeout_unit: int | None = None  # the unit being loaded when the deadline passed
    error: str = ""  # a crash, a compile-phase timeout, a malformed reply
    timed_out: bool = False


class _Channel:
    """The child's end of the pipe: progress marks and the final reply."""

    def __init__(self, fd: int) -> None:
        self.fd = fd

    def send(self, line: str) -> None:
        data = (line + "\n").encode("utf-8")
        while data:
            data = data[os.write(self.fd, data):]


class NullChannel:
    """A channel to nobody (a batch worked on in the worker itself)."""

    def send(self, line: str) -> None:
        pass


def run_batch(process: Callable[[_Channel, str], dict[str, Any]], policy: sandbox.Policy, deadline_s: float,
              unit_deadline_s: float | None = None) -> BatchResult:
    """Run ``process(channel, batch_dir)`` in a sandboxed child; its dict is the reply.  The batch
    may take ``deadline_s`` in all, and loading one unit at most ``unit_deadline_s``."""
    r, w = os.pipe()

    def task() -> int:
        os.close(r)
        channel = _Channel(w)
        tempfile.tempdir = policy.workdir
        os.environ["TMPDIR"] = policy.workdir
        reply = process(channel, policy.workdir)
        channel.send("R " + json.dumps(reply))
        return 0

    pid = sandbox.run_sandboxed(task, policy)
    os.close(w)
    result = BatchResult()
    current: int | None = None
    compiling = False
    buf = bytearray()
    received = 0
    deadline = time.monotonic() + deadline_s
    unit_deadline = deadline
    try:
        with selectors.DefaultSelector() as sel:
            sel.register(r, selectors.EVENT_READ)
            while True:
                left = min(deadline, unit_deadline) - time.monotonic()
                if left <= 0:
                    result.timed_out = True
                    break
                if not sel.select(left):
                    continue
                chunk = os.read(r, 1 << 20)
                if not chunk:
                    break
                received += len(chunk)
                if received > MAX_REPLY_BYTES:
                    result.error = f"the batch's reply exceeded {MAX_REPLY_BYTES >> 20} MB"
                    break
                scan = len(buf)  # the bytes before it hold no newline: look only at the new ones
                buf += chunk
                while (end := buf.find(b"\n", scan)) != -1:
                    line = bytes(buf[:end])
                    del buf[:end + 1]
                    scan = 0
                    if line.startswith(b"U "):
                        current = int(line[2:])
                        if unit_deadline_s is not None:
                            unit_deadline = time.monotonic() + unit_deadline_s
                    elif line == b"C":
                        compiling = True
                        unit_deadline = deadline
                    elif line.startswith(b"R "):
                        _read_reply(line[2:], result)
    finally:
        os.close(r)
        if result.outcomes is None or result.timed_out:
            try:
                os.killpg(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        _, status = os.waitpid(pid, 0)
        shutil.rmtree(policy.workdir, ignore_errors=True)
    if result.timed_out:
        if current is not None and not compiling:
            result.timeout_unit = current
        else:
            result.error = "the batch's compilation exceeded its time limit"
    elif result.outcomes is None and not result.error:
        code = os.waitstatus_to_exitcode(status)
        code = -(code - 128) if code > 128 else code  # the sandbox's first child passes a signal on as 128 + N
        result.error = f"the batch's process died ({exit_text(code)})"
    return result


def _read_reply(raw: bytes, result: BatchResult) -> None:
    try:
        reply = json.loads(raw)
        outcomes = reply["outcomes"]
        if not isinstance(outcomes, list):
            raise ValueError("outcomes is not a list")
    except (ValueError, KeyError, TypeError) as e:
        result.error = f"unreadable reply from the batch's process: {e}"
        return
    result.outcomes = outcomes
    seconds = reply.get("seconds")
    result.seconds = seconds if isinstance(seconds, dict) else {}


class Zygote:
    """The worker's serving side: every batch in a fresh sandboxed child (``run_batch``)."""

    def __init__(self, worker: Worker, *, isolate: bool = True, mem_limit_mb: int = 0) -> None:
        self.worker = worker
        self.isolate = isolate
        self.mem_limit_mb = mem_limit_mb
        self.readable = sandbox.default_readable()
        # compiler caches each batch sees as its own copy-on-write view: the zygote's precompiled
        # headers, and Warp's kernel cache (where tile_matmul's LTOs go)
        self.private = [*worker.wa.precompiled_header_dirs(), worker.wa.kernel_cache_dir()]
        self.layers = sandbox.probe() if isolate else dict.fromkeys(sandbox.LAYERS, "")
        self.required = tuple(layer for layer, v in self.layers.items() if v)
        gc.collect()
        gc.freeze()  # what the zygote holds stays out of every collection: forks share its pages

    def _policy(self, deadline_s: float, required: tuple[str, ...] = ()) -> sandbox.Policy:
        batch_dir = tempfile.mkdtemp(prefix="batch_", dir=self.worker.workdir)
        return sandbox.Policy(workdir=batch_dir, readable=self.readable, mem_limit_mb=self.mem_limit_mb,
                              cpu_seconds=int(deadline_s) + 5, required=required, private=self.private)

    def serve(self, req: dict[str, Any]) -> dict[str, Any]:
        units, with_ptx, max_ir_kb = req["units"], bool(req.get("with_ptx")), int(req.get("max_ir_kb", 0))
        cuda_check = req.get("cuda_check") or None
        deadline_s = float(req.get("deadline_s", 600.0))
        unit_deadline_s = float(req["unit_deadline_s"]) if req.get("unit_deadline_s") else None

        def process(channel: Any, batch_dir: str) -> dict[str, Any]:
            self.worker.units_apart = self.isolate and req.get("isolate_units", True) is not False
            outcomes = self.worker.process(units, with_ptx, max_ir_kb, batch_dir=batch_dir, mark=channel.send,
                                           cuda_check=cuda_check)
            return {"outcomes": outcomes, "seconds": self.worker.take_seconds()}

        if not self.isolate:  # --no-sandbox: in this process, as before the sandbox existed
            batch_dir = tempfile.mkdtemp(prefix="batch_", dir=self.worker.workdir)
            try:
                return {"id": req["id"], **process(NullChannel(), batch_dir)}
            finally:
                shutil.rmtree(batch_dir, ignore_errors=True)
        result = run_batch(process, self._policy(deadline_s, self.required), deadline_s, unit_deadline_s)
        reply: dict[str, Any] = {"id": req["id"], "seconds": result.seconds}
        if result.timeout_unit is not None:
            reply["timeout_unit"] = result.timeout_unit
        elif result.outcomes is None:
            reply["error"] = result.error
            reply["timed_out"] = result.timed_out
        else:
            reply["outcomes"] = result.outcomes
        return reply


__all__ = ["BatchResult", "NullChannel", "Zygote", "run_batch"]
