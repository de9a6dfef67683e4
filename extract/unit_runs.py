"""Running compiled units inside the batch's sandbox, out of the batch's own process.

``execute_units`` loads each CPU object file once in the batch's process (``warp_adapter.
load_cpu_object``, which links it there), then forks a child per unit, which imports the unit's
Python (never the batch's process), or, for units the batch's process loaded itself (offline), one
child that runs them one after the other.  Kernels run the checks of ``extract.execute``, and the
child reports JSON lines over a pipe (``U`` the unit it starts, ``D`` its launch, ``P`` the phase
it enters, ``R`` the result).  A child that dies (an array bounds assert, a segfault, an integer
division by zero) or spends more than ``EXEC_DEADLINE_S`` on a unit is a typed rejection of that
unit alone; the units after it run in a new child.
"""

from __future__ import annotations

import ast
import contextlib
import gc
import json
import os
import selectors
import signal
import sys
import time
from collections.abc import Callable
from typing import Any

import warp as wp

from warp_synth.extract import vectors as vec
from warp_synth.extract.execute import (
    ADJOINT_DIED,
    EXEC_DEADLINE_S,
    MAX_ELEMENTS,
    Failure,
    Kernel,
    record_seed,
    run_kernel,
)
from warp_synth.extract.executors.supervisor import exit_text
from warp_synth.reasons import Reason


def index_suspects(source: str) -> list[tuple[int, str]]:
    """``(line, text)`` of each line that indexes a parameter with something other than constants and
    the thread's own indices: where an out-of-bounds access can come from (a repair prompt's hint)."""
    tree, lines, out = ast.parse(source), source.splitlines(), {}
    for fn in (n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)):
        params = {a.arg for a in fn.args.args}
        tids = {t.id for st in ast.walk(fn) if isinstance(st, ast.Assign) and isinstance(st.value, ast.Call)
                and isinstance(st.value.func, ast.Attribute) and st.value.func.attr == "tid"
                for t in ast.walk(st.targets[0]) if isinstance(t, ast.Name)}
        for node in ast.walk(fn):
            if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name) and node.value.id in params:
                idx = node.slice.elts if isinstance(node.slice, ast.Tuple) else [node.slice]
                if not all(isinstance(e, ast.Constant) or (isinstance(e, ast.Name) and e.id in tids) for e in idx):
                    out.setdefault(node.lineno, lines[node.lineno - 1].strip())
    return sorted(out.items())



def _import_unit(wa: Any, path: str, modname: str, function_ids: dict[str, int]) -> Any:
    if modname not in sys.modules:
        wa.restore_function_ids(function_ids)
        wa.import_file(modname, path)
    return wa.get_warp_module(modname)


def _unit_child(wa: Any, unit: Any, handle: str, function_ids: dict[str, int], builtins: set[str],
                replay: dict[str, Any] | None, send: Callable[[str], None]) -> dict[str, Any]:
    wp.config.enable_cpu_blocks = True  # launch the block_dim variant the records' IR is (and the object holds)
    wmod = _import_unit(wa, unit.path, unit.modname, function_ids)
    block_dim = wa.run_from_object(wmod, handle)
    by_name = {name: obj for name, k in wmod.kernels.items() if k.func.__module__ == unit.modname
               for obj, _ in wa.kernel_entry_names(k)}
    results: dict[str, Any] = {}
    for name, mangled, _ in unit.entries:
        obj = by_name.get(name)
        if obj is None or wa.kernel_is_generic(obj):
            results[mangled] = {"status": "not_executed", "reason": "generic kernel"}
            continue
        try:
            k = Kernel(wa, obj, unit.source, block_dim, builtins, unit.adjoint_notes)
        except vec.UnsupportedParameter as e:
            results[mangled] = {"status": "not_executed", "reason": str(e)}
            continue
        send("D " + k.describe())
        if replay is not None:
            send("P replay")
            outputs = k.launch(k.decode_inputs(replay["inputs"]))
            results[mangled] = {"status": "replayed", "outputs": k.encode_outputs(outputs)}
            continue
        results[mangled] = run_kernel(k, record_seed(unit.key), lambda phase: send(f"P {phase}"),
                                      lambda r, m=mangled: send("F " + json.dumps({**results, m: r})))
    return results


def _run_child(tasks: list[tuple[Callable[[Callable[[str], None]], dict[str, Any]], str]]) -> tuple[int, int]:
    """Fork a child that runs ``tasks`` (each a unit's run and its log file) one after the other,
    announcing each with a ``U <index>`` line and ending it with its ``R`` line; a Python error ends
    the child (that unit's crash)."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        status = 70
        try:
            os.close(r)
            gc.disable()  # a short-lived process: collecting would only copy the batch process's pages

            def send(line: str) -> None:
                data = (line + "\n").encode("utf-8")
                while data:
                    data = data[os.write(w, data):]
            for index, (task, log_path) in enumerate(tasks):
                fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
                os.dup2(fd, 1)
                os.dup2(fd, 2)
                os.close(fd)
                signal.alarm(int(EXEC_DEADLINE_S) + 2)
                send(f"U {index}")
                try:
                    send("R " + json.dumps({"executions": task(send)}))
                except Failure as f:
                    send("R " + json.dumps({"failure": {"reason": f.reason.value, "message": f.message}}))
                except vec.UnsupportedParameter as e:
                    send("R " + json.dumps({"executions": None, "not_executed": str(e)}))
            status = 0
        except BaseException:  # a Python error launching the kernel: report it as the unit's crash
            import traceback

            with contextlib.suppress(Exception):
                os.write(2, traceback.format_exc()[-800:].encode())
        finally:
            os._exit(status)
    os.close(w)
    return pid, r


def _wait(pid: int, r: int) -> tuple[list[list[str]], int | None, bool, float]:
    """The lines the child sent for each unit it reached (from its ``U`` line on), its exit status,
    whether the last one reached timed out (each unit has ``EXEC_DEADLINE_S`` from its start), and
    the CPU seconds the child used."""
    buf = bytearray()
    timed_out = False
    scanned = 0
    deadline = time.monotonic() + EXEC_DEADLINE_S
    with selectors.DefaultSelector() as sel:
        sel.register(r, selectors.EVENT_READ)
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                timed_out = True
                break
            if not sel.select(left):
                continue
            chunk = os.read(r, 1 << 20)
            if not chunk:
                break
            buf += chunk
            if len(buf) > 64 << 20:
                break
            end = buf.rfind(b"\n") + 1
            if end > scanned:  # complete lines not yet looked at: a new unit restarts the clock
                if buf.startswith(b"U ", scanned) or buf.find(b"\nU ", scanned, end) >= 0:
                    deadline = time.monotonic() + EXEC_DEADLINE_S
                scanned = end
    os.close(r)
    if timed_out:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    _, status, usage = os.wait4(pid, 0)
    per_unit: list[list[str]] = [[]]
    for line in buf.decode("utf-8", "replace").splitlines():
        if line.startswith("U "):
            per_unit.append([])
        else:
            per_unit[-1].append(line)
    lines = per_unit[1:] or per_unit  # before its first U line, the child was on its first unit
    return lines, os.waitstatus_to_exitcode(status), timed_out, usage.ru_utime + usage.ru_stime


def _phase(lines: list[str]) -> str:
    return next((ln[2:] for ln in reversed(lines) if ln.startswith("P ")), "setup")


def _adjoint_died(runs: dict[str, Any], unit: Any, how: str) -> dict[str, Any]:
    """The executions of a unit whose backward launch killed its process after the forward passed."""
    for _, mangled, _ in unit.entries:
        run = runs.setdefault(mangled, {"status": "not_executed", "reason": "an earlier kernel of the unit "
                                        "killed its process"})
        if run.get("grad", {}).get("reason") == ADJOINT_DIED:
            run["grad"] = {"status": "failed", "reason": f"{ADJOINT_DIED}: {how}"}
    return runs


def _death(lines: list[str], code: int | None, log: str) -> tuple[Reason, str]:
    phase = _phase(lines)
    where = next(("; " + ln[2:] for ln in reversed(lines) if ln.startswith("D ")), "")
    m = log.find("Assertion failed: '")
    if m >= 0:
        expr = log[m + 19:].split("'", 1)[0]
        if "shape" in expr or "ARRAY_MAX_DIMS" in expr or "< " in expr:
            return Reason.OUT_OF_BOUNDS, (f"an array index is out of bounds in the {phase} launch (Warp's bounds "
                                          f"check `{expr}` failed){where}")
        return Reason.CRASH, f"Warp's check `{expr}` failed in the {phase} launch{where}"
    tail = log.strip().splitlines()[-1][:300] if log.strip() else ""
    return Reason.CRASH, (f"the kernel's process died in the {phase} launch ({exit_text(code or 0)})"
                          + (f": {tail}" if tail and "Traceback" not in tail else f": {tail}" if tail else ""))


def execute_units(wa: Any, units: list[Any], objects: dict[str, str], batch_dir: str, function_ids: dict[str, int],
                  builtins: dict[str, set[str]], replays: dict[str, dict[str, Any]],
                  together: bool = False) -> tuple[dict[str, Any], float]:
    """``{key: {mangled name: execution} | (Reason, message)}`` for compiled units (``worker._Loaded``
    with the CPU object file that holds them in ``objects``), and the CPU seconds their processes used.

    Each unit runs in a process of its own; ``together`` (units loaded in the batch's process, which
    they already share: offline) runs them one after the other in one process, and a unit that kills
    it (or times out) is that unit's rejection alone: the units after it go on in a new process."""
    handles: dict[str, str] = {}
    out: dict[str, Any] = {}
    cpu_s = 0.0
    try:
        pending = [u for u in units if u.key in objects]
        for obj in dict.fromkeys(objects[u.key] for u in pending):
            handles[obj] = f"wsynth_exec_{os.getpid()}_{len(handles)}"
            wa.load_cpu_object(obj, handles[obj], [m for v in pending if objects[v.key] == obj for _, m, _ in v.entries])
        while pending:
            group = pending if together else pending[:1]
            logs = [os.path.join(batch_dir, f"exec_{u.modname}.log") for u in group]
            pid, r = _run_child([(lambda send, u=u: _unit_child(
                wa, u, handles[objects[u.key]], function_ids, builtins.get(u.key, set()), replays.get(u.key), send),
                log) for u, log in zip(group, logs, strict=True)])
            reached, code, timed_out, used = _wait(pid, r)
            reached = reached[:len(group)]  # more U lines than units: forged by the process (not trusted)
            cpu_s += used
            for i, lines in enumerate(reached):
                last = i == len(reached) - 1
                try:
                    out[group[i].key] = _outcome(group[i], lines, code if last else 0, timed_out and last, logs[i])
                except (ValueError, KeyError, TypeError, AttributeError):  # the unit's process is not trusted
                    out[group[i].key] = (Reason.CRASH, "the kernel's process sent an unreadable report")
            pending = pending[len(reached):]
    finally:
        for h in handles.values():
            with contextlib.suppress(Exception):
                wa.unload_cpu_object(h)
    return out, cpu_s


def _outcome(u: Any, lines: list[str], code: int | None, timed_out: bool, log_path: str) -> Any:
    """What one unit's process reported: its executions, or ``(reason, message[, line])``."""
    reply = next((ln[2:] for ln in lines if ln.startswith("R ")), None)
    forward = next((ln[2:] for ln in reversed(lines) if ln.startswith("F ")), None)
    died_in_adjoint = reply is None and forward is not None and _phase(lines) == "adjoint"
    timed_out = timed_out and reply is None
    if timed_out and died_in_adjoint:  # the run stands; its adjoint failed
        return _adjoint_died(json.loads(forward), u, f"the backward pass ran longer than {EXEC_DEADLINE_S:.0f} s")
    if timed_out:
        return (Reason.TIMEOUT, f"the kernel ran longer than {EXEC_DEADLINE_S:.0f} s on inputs of at most "
                f"{MAX_ELEMENTS} elements (an endless loop?)")
    if reply is None:
        log = ""
        with contextlib.suppress(OSError), open(log_path, encoding="utf-8", errors="replace") as f:
            log = f.read(20000)
        reason, message = _death(lines, code, log)
        if died_in_adjoint:
            return _adjoint_died(json.loads(forward), u, message)  # type: ignore[arg-type]
        line = None
        if reason is Reason.OUT_OF_BOUNDS:
            suspects = index_suspects(u.source)
            line = suspects[0][0] if len(suspects) == 1 else None
            if suspects:
                message += "; indexing that does not use only the thread's indices: " + ", ".join(
                    f"line {n}: `{text}`" for n, text in suspects[:4])
        return (reason, message, line)
    d = json.loads(reply)
    if "failure" in d:
        return (Reason.parse(d["failure"]["reason"]), str(d["failure"]["message"]))
    if d.get("executions") is None:
        return {m: {"status": "not_executed", "reason": str(d.get("not_executed", ""))} for _, m, _ in u.entries}
    if not isinstance(d["executions"], dict):
        raise TypeError("executions is not an object")
    return d["executions"]
