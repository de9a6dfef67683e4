"""The extraction worker: a separate, killable process that loads and compiles kernel units.

Run as ``python -m warp_synth.extract.worker`` by ``extract.executors.local`` with a scrubbed environment (no API
keys), its own temporary directory, ``WARP_CACHE_PATH`` and ``TMPDIR``, and an address-space
limit.  It speaks JSON lines (never pickle: a compromised worker must not be able to run code
in the parent): one request ``{"id", "units": [{"key", "source"}], "with_ptx", "cuda_check"}`` in, one reply
``{"id", "outcomes": [...], "seconds": {"codegen"|"cpu_compile"|"cuda_compile": s}}`` out (the
CPU seconds spent per phase on that request; the ``ready`` line carries ``startup_s``).

Per batch: every unit is written to a real file (Warp needs ``inspect``) and imported under a
unique module name, Warp's codegen runs per unit (so each unit's IR is exactly what it would
be on its own), then all units' generated bodies are compiled together, each in a C++
namespace, as ONE CPU translation unit and ONE CUDA translation unit.  The CUDA unit is checked
at the request's ``cuda_check`` level (``warp_adapter.CUDA_CHECKS``: NVRTC's front end, or a full
PTX compile; ``with_ptx`` implies ``ptx``); the worker's own level, used for its warm-up, comes
from ``WSYNTH_CUDA_CHECK`` (default ``frontend``).  A failing batch is
split by the compiler's error locations, and by bisection where errors cannot be located,
so one bad kernel never sinks its neighbours.
"""

from __future__ import annotations

import gc
import json
import os
import re
import resource
import shutil
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from warp_synth.extract import cpp_functions as split
from warp_synth.extract import diagnostics, lto_cache, unit_runs, zygote
from warp_synth.extract.executors.supervisor import exit_text
from warp_synth.identity import called_warp_names, warp_attr_names
from warp_synth.reasons import Reason
from warp_synth.records import Accepted, BackendIR, KernelIR, Rejected

MAX_MESSAGE = 1200  # characters of compiler output kept for a repair prompt
WARM_UP_SOURCE = """import warp as wp


@wp.kernel
def warm_up(a: wp.array(dtype=float), b: wp.array(dtype=wp.vec3)):
    i = wp.tid()
    a[i] = wp.sin(a[i]) + wp.length(b[i])
"""


@dataclass(slots=True)
class _Loaded:
    key: str
    path: str
    modname: str
    source: str
    entries: list[tuple[str, str, dict[str, str]]]  # (kernel name, mangled name, argument types)
    module_id: str
    code: dict[str, Any] = field(default_factory=dict)  # device -> ModuleCode
    adjoint_notes: list[str] = field(default_factory=list)  # codegen: why the adjoint may be wrong

    def to_json(self) -> dict[str, Any]:
        return {"key": self.key, "path": self.path, "modname": self.modname, "source": self.source,
                "entries": self.entries, "module_id": self.module_id, "adjoint_notes": self.adjoint_notes,
                "code": {d: {"prefix": c.prefix, "body": c.body, "options": c.options} for d, c in self.code.items()}}

    @classmethod
    def from_json(cls, d: dict[str, Any], code_type: Any) -> _Loaded:
        code = {dev: code_type(str(c["prefix"]), str(c["body"]), dict(c["options"])) for dev, c in d["code"].items()}
        entries = [(str(n), str(m), {str(k): str(v) for k, v in a.items()}) for n, m, a in d["entries"]]
        return cls(str(d["key"]), str(d["path"]), str(d["modname"]), str(d["source"]), entries,
                   str(d["module_id"]), code, [str(n) for n in d.get("adjoint_notes", [])])


# what a compiler says about files it could not open: whether a host path exists, or is denied,
# is nobody's business outside the sandbox (LLM kernels never include files)
_FILE_ACCESS = re.compile(r"file not found|no such file|permission denied|cannot open|could not open|"
                          r"operation not permitted|include", re.I)
FILE_ACCESS_MESSAGE = "the code names a file to include or open; kernels may not read files"


def _diagnostic(text: str) -> str:
    """A compiler diagnostic on the unit's own lines, fit to leave the sandbox."""
    return FILE_ACCESS_MESSAGE if _FILE_ACCESS.search(text) else text


def _trim(text: str, limit: int = MAX_MESSAGE) -> str:
    text = text.strip()
    return text if len(text) <= limit else text[: limit - 15] + "\n... (trimmed)"


def _python_error(e: BaseException, path: str) -> tuple[str, int | None]:
    """A one-paragraph message and a line number from a Python/Warp exception."""
    msg = f"{type(e).__name__}: {e}"
    line = None
    m = re.search(re.escape(path) + r":(\d+)", msg)
    if m:
        line = int(m.group(1))
    else:
        for fs in reversed(traceback.extract_tb(e.__traceback__)):
            if fs.filename == path:
                line = fs.lineno
                break
        if line is None and isinstance(e, SyntaxError):
            line = e.lineno
    return _trim(msg.replace(path, "kernel.py")), line


class Worker:
    def __init__(self) -> None:
        from warp_synth.extract import warp_adapter

        self.wa = warp_adapter
        self.wa.init_warp()
        self.cuda_check = os.environ.get("WSYNTH_CUDA_CHECK") or "frontend"
        if self.cuda_check not in self.wa.CUDA_CHECKS:
            raise ValueError(f"WSYNTH_CUDA_CHECK={self.cuda_check!r}: expected one of {', '.join(self.wa.CUDA_CHECKS)}")
        if self.cuda_check == "frontend":
            self.wa.cuda_front_end()  # load NVRTC here, before any sandbox (and fail now if it is unusable)
        self.builtins = set(self.wa.kernel_builtin_names())
        self.function_ids = self.wa.function_id_snapshot()
        self.workdir = os.getcwd()
        self.counter = 0
        self.units_apart = False  # each unit loaded in a child of its own (set for sandboxed batches)
        # run every compiled kernel (extract.execute): the CPU object is built bounds-checked
        self.execute = os.environ.get("WSYNTH_EXECUTE", "1") != "0"
        self.objects: dict[str, str] = {}  # unit key -> the CPU object file that holds it (this batch)
        self.seconds: dict[str, float] = {}  # phase -> seconds, since the last reply (see ``take_seconds``)

    def _spent(self, phase: str, since: float) -> None:
        self.seconds[phase] = self.seconds.get(phase, 0.0) + time.thread_time() - since

    def take_seconds(self) -> dict[str, float]:
        out, self.seconds = self.seconds, {}
        return {k: round(v, 4) for k, v in out.items()}

    # ------------------------------------------------------------------ loading and codegen
    def _load_apart(self, key: str, source: str, batch_dir: str, n: int, max_ir_kb: int = 0) -> _Loaded | Rejected:
        """``_load`` in a child of this process: whatever the unit's Python does to Warp or to this
        worker dies with the child, so it cannot change its batch neighbours' code.  The child
        hands back the generated text (never objects) as JSON."""
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:  # the unit's own process
            status = 70
            try:
                os.close(r)
                gc.disable()  # a short-lived process: collecting would only copy the zygote's pages
                t0 = time.process_time()
                out = self._load(key, source, batch_dir, n, max_ir_kb)
                reply = {"rejected": asdict(out)} if isinstance(out, Rejected) else {"loaded": out.to_json()}
                reply["seconds"] = {"codegen": time.process_time() - t0}
                data = json.dumps(reply).encode("utf-8")
                while data:
                    data = data[os.write(w, data):]
                status = 0
            finally:
                os._exit(status)
        os.close(w)
        chunks, size = [], 0
        with os.fdopen(r, "rb") as f:
            while chunk := f.read(1 << 20):
                size += len(chunk)
                if size > zygote.MAX_REPLY_BYTES:
                    break
                chunks.append(chunk)
        _, status = os.waitpid(pid, 0)
        try:
            reply = json.loads(b"".join(chunks))
            for phase, v in reply.get("seconds", {}).items():
                self.seconds[phase] = self.seconds.get(phase, 0.0) + float(v)
            if "rejected" in reply:
                d = reply["rejected"]
                return Rejected(key, Reason.parse(d["reason"]), str(d["message"]), d.get("line"))
            return _Loaded.from_json(reply["loaded"], self.wa.ModuleCode)
        except (ValueError, KeyError, TypeError):
            why = exit_text(os.waitstatus_to_exitcode(status))
            return Rejected(key, Reason.CRASH, f"the kernel's process died while it was loaded ({why})", None)

    def _load(self, key: str, source: str, batch_dir: str, n: int, max_ir_kb: int = 0) -> _Loaded | Rejected:
        modname = f"wsynth_{os.getpid()}_{self.counter}_{n}"
        path = os.path.join(batch_dir, f"{modname}.py")
        with open(path, "w", encoding="utf-8") as f:
            f.write(source)
        self.wa.restore_function_ids(self.function_ids)
        try:
            self.wa.import_file(modname, path)
        except SyntaxError as e:
            msg, line = _python_error(e, path)
            return Rejected(key, Reason.SYNTAX, msg, line)
        except Exception as e:  # decorators/annotations that Warp rejects at definition time
            msg, line = _python_error(e, path)
            return Rejected(key, Reason.CODEGEN, msg, line)
        wmod = self.wa.get_warp_module(modname)
        kernels = [(name, k) for name, k in list(wmod.kernels.items()) if k.func.__module__ == modname]
        if not kernels:
            return Rejected(key, Reason.CODEGEN, "the module defines no @wp.kernel", None)
        try:
            self.wa.take_adjoint_notes()
            code = self.wa.module_codegen(wmod, warp_attr_names(source))  # also assigns kernel hashes
            # a struct argument's type is named by its module: ours is the worker's own name for the unit
            entries = [(name, mangled, {a: t.replace(f"{modname}.", "") for a, t in self.wa.kernel_args(obj).items()})
                       for name, k in kernels for obj, mangled in self.wa.kernel_entry_names(k)]
        except Exception as e:
            msg, line = _python_error(e, path)
            return Rejected(key, Reason.CODEGEN, msg, line)
        if not entries:
            return Rejected(key, Reason.CODEGEN, "no kernel can be compiled (a generic kernel needs a wp.overload)",
                            None)
        # measured with the unit's path as ``kernel.py``: the limit must not depend on where the
        # worker keeps its files (path comments name the unit's file)
        size = max(len(code[d].body.replace(path, "kernel.py")) for d in ("cpu", "cuda"))
        if max_ir_kb and size > max_ir_kb * 1024:
            return Rejected(key, Reason.TOO_LARGE, f"the generated code is {size // 1024} KB (limit {max_ir_kb} KB): "
                            "Warp unrolls range(C) loops with a constant C <= 16, so nested constant-bound loops "
                            "multiply the code; use a smaller or non-constant bound", None)
        ident = wmod.get_module_identifier()  # wp_<module name>_<content hash>
        return _Loaded(key, path, modname, source, entries, "wp_kernel_" + ident.rsplit("_", 1)[-1], code,
                       self.wa.take_adjoint_notes())

    # ------------------------------------------------------------------ batched compilation
    def _compile_group(self, device: str, prefix: str, units: list[_Loaded], batch_dir: str,
                       failures: dict[str, tuple[str, int | None]], outputs: dict[str, str],
                       cuda_check: str = "ptx") -> None:
        if not units:
            return
        self.counter += 1
        ext = "cpp" if device == "cpu" else "cu"
        base = os.path.join(batch_dir, f"tu_{self.counter}")
        parts = [prefix]
        line = prefix.count("\n") + 1
        ranges: list[tuple[int, int, _Loaded]] = []
        if not prefix and len(units) != 1:
            raise ValueError("a translation unit without a shared prefix holds exactly one module")
        for i, u in enumerate(units):
            body = u.code[device].body
            if prefix:
                text = f"namespace wsynth_u{i} {{\n{body}\n}} // namespace wsynth_u{i}\n"
            else:  # one module on its own: its full generated source, exactly as Warp emits it
                text = u.code[device].prefix + body
            n_lines = text.count("\n")
            ranges.append((line, line + n_lines, u))
            line += n_lines
            parts.append(text)
        tu_text = "".join(parts)
        src_path, out_path = f"{base}.{ext}", f"{base}.{'o' if device == 'cpu' else 'ptx'}"
        with open(src_path, "w", encoding="utf-8") as f:
            f.write(tu_text)
        t0 = time.thread_time()
        try:
            if device == "cpu":
                self.wa.compile_cpu(src_path, out_path, units[0].code[device].options, bounds_checked=self.execute)
            else:
                self.wa.compile_cuda(src_path, out_path, units[0].code[device].options, cuda_check)
        except self.wa.CompileError as e:
            self._spent(f"{device}_compile", t0)
            errors = diagnostics.parse_errors(e.log, device, os.path.basename(src_path))
            tu_lines = tu_text.split("\n")
            blamed: dict[str, list[str]] = {}
            blamed_line: dict[str, int | None] = {}
            for err_line, text in errors:
                for lo, hi, u in ranges:
                    if lo <= err_line < hi:
                        py_line = diagnostics.python_line(tu_lines, err_line)
                        where = f"line {py_line}: " if py_line else ""
                        blamed.setdefault(u.key, []).append(f"{where}{_diagnostic(text)}")
                        blamed_line.setdefault(u.key, py_line)
                        break
            if blamed:
                rest = [u for u in units if u.key not in blamed]
                for u in units:
                    if u.key in blamed:
                        if len(units) > 1 and self._compiles_alone(device, u, batch_dir, outputs, cuda_check):
                            continue  # an artefact of batching: it compiles on its own
                        failures[u.key] = (_trim("\n".join(blamed[u.key])), blamed_line[u.key])
                self._compile_group(device, prefix, rest, batch_dir, failures, outputs, cuda_check)
            elif len(units) == 1:
                # no error on the unit's own lines (e.g. one inside an included file): say so, and
                # never pass the compiler's log on (it may quote what it read)
                failures[units[0].key] = (f"the {device} compiler rejected this kernel without an error on "
                                          "its own lines", None)
            else:
                half = len(units) // 2
                self._compile_group(device, prefix, units[:half], batch_dir, failures, outputs, cuda_check)
                self._compile_group(device, prefix, units[half:], batch_dir, failures, outputs, cuda_check)
            return
        self._spent(f"{device}_compile", t0)
        if device == "cpu":
            self.objects.update((u.key, out_path) for u in units)
        if device == "cuda" and cuda_check == "ptx":
            with open(out_path, encoding="utf-8", errors="replace") as f:
                ptx = f.read()
            for u in units:
                outputs[u.key] = ptx

    def _compiles_alone(self, device: str, u: _Loaded, batch_dir: str, outputs: dict[str, str],
                        cuda_check: str = "ptx") -> bool:
        failures: dict[str, tuple[str, int | None]] = {}
        self._compile_group(device, "", [u], batch_dir, failures, outputs, cuda_check)
        return u.key not in failures

    def _compile(self, device: str, units: list[_Loaded], batch_dir: str,
                 failures: dict[str, tuple[str, int | None]], outputs: dict[str, str],
                 cuda_check: str = "ptx") -> None:
        """Compile ``units`` for ``device``; ``cuda_check`` is how far a CUDA unit goes
        (``warp_adapter.CUDA_CHECKS``; the CPU unit is always compiled to an object)."""
        groups: dict[str, list[_Loaded]] = {}
        for u in units:
            groups.setdefault(u.code[device].prefix, []).append(u)
        for prefix, members in groups.items():
            if prefix:
                self._compile_group(device, prefix, members, batch_dir, failures, outputs, cuda_check)
            else:  # modules whose header we do not recognise compile on their own
                for u in members:
                    self._compile_group(device, "", [u], batch_dir, failures, outputs, cuda_check)

    # ------------------------------------------------------------------ one request
    def process(self, units: list[dict[str, str]], with_ptx: bool, max_ir_kb: int = 0, *,
                batch_dir: str, mark: Callable[[str], None] = lambda _: None,
                cuda_check: str | None = None) -> list[dict[str, Any]]:
        """Outcomes of one batch, worked on in ``batch_dir``; ``mark`` hears ``U <k>`` before unit
        ``k`` is loaded and ``C`` before compilation (so a hang can be blamed on its unit).
        ``cuda_check`` (default: the worker's level) is how far the CUDA unit is compiled;
        ``with_ptx`` implies ``ptx``."""
        level = "ptx" if with_ptx else (cuda_check or self.cuda_check)
        if level not in self.wa.CUDA_CHECKS:
            raise ValueError(f"unknown CUDA check level {level!r}")
        self.counter += 1
        self.objects = {}
        outcomes: dict[str, Accepted | Rejected] = {}
        loaded: list[_Loaded] = []
        try:
            for n, u in enumerate(units):
                mark(f"U {n}")
                t0 = time.thread_time()
                load = self._load_apart if self.units_apart else self._load
                r = load(u["key"], u["source"], batch_dir, n, max_ir_kb)
                self._spent("codegen", t0)
                if isinstance(r, Rejected):
                    outcomes[r.key] = r
                else:
                    loaded.append(r)
            mark("C")
            cpu_fail: dict[str, tuple[str, int | None]] = {}
            self._compile("cpu", loaded, batch_dir, cpu_fail, {})
            for key, (msg, line) in cpu_fail.items():
                outcomes[key] = Rejected(key, Reason.CPU_COMPILE, msg, line)
            survivors = [u for u in loaded if u.key not in cpu_fail]
            cuda_fail: dict[str, tuple[str, int | None]] = {}
            ptx: dict[str, str] = {}
            self._compile("cuda", survivors, batch_dir, cuda_fail, ptx, level)
            for key, (msg, line) in cuda_fail.items():
                outcomes[key] = Rejected(key, Reason.CUDA_COMPILE, msg, line)
            compiled = [u for u in survivors if u.key not in cuda_fail]
            calls = {u.key: called_warp_names(u.source) for u in compiled}  # the wp.* names each one calls
            runs = self._execute(compiled, units, batch_dir, mark, calls) if self.execute else {}
            lenient = {u["key"] for u in units if u.get("lenient")}
            for u in compiled:
                run = runs.get(u.key, {})
                if isinstance(run, tuple) and u.key in lenient:  # a user's own kernel: recorded, not rejected
                    run = {m: {"status": str(run[0]), "reason": _trim(run[1])} for _, m, _ in u.entries}
                if isinstance(run, tuple):  # (reason, message[, line])
                    outcomes[u.key] = Rejected(u.key, run[0], _trim(run[1]), run[2] if len(run) > 2 else None)
                else:
                    outcomes[u.key] = self._accepted(u, ptx.get(u.key) if with_ptx else None, run, calls[u.key])
        finally:
            for u in loaded:
                self.wa.forget_module(u.modname)
                sys.modules.pop(u.modname, None)
        return [asdict(outcomes[u["key"]]) for u in units]

    def warm_up(self) -> None:
        """Compile one trusted kernel here, in the zygote: the precompiled headers get built and
        every module the compilers load lazily is loaded, so each batch's fresh process finds
        them ready (and, sandboxed, could not build them)."""
        batch_dir = tempfile.mkdtemp(prefix="warmup_", dir=self.workdir)
        try:
            self.process([{"key": "warm-up", "source": WARM_UP_SOURCE}], with_ptx=False, batch_dir=batch_dir)
        finally:
            shutil.rmtree(batch_dir, ignore_errors=True)
        self.take_seconds()
        for folder in self.wa.precompiled_header_dirs():  # readable for the sandboxed identity
            for dirpath, _, filenames in os.walk(folder):
                os.chmod(dirpath, 0o755)
                for name in filenames:
                    os.chmod(os.path.join(dirpath, name), 0o644)

    def _execute(self, compiled: list[_Loaded], units: list[dict[str, Any]], batch_dir: str,
                 mark: Callable[[str], None], calls: dict[str, set[str]]) -> dict[str, Any]:
        mark("E")
        t0 = time.thread_time()
        replays = {u["key"]: u["replay"] for u in units if isinstance(u.get("replay"), dict)}
        runs, children_s = unit_runs.execute_units(self.wa, compiled, self.objects, batch_dir, self.function_ids, calls,
                                                 replays, together=not self.units_apart)
        self._spent("execute", t0)
        self.seconds["execute"] += children_s
        return runs

    def _accepted(self, u: _Loaded, ptx: str | None, runs: dict[str, Any], calls: set[str]) -> Accepted:
        used = sorted(calls & self.builtins)
        kernels = []
        mangled_all = [m for _, m, _ in u.entries]
        cpu_body, cuda_body = u.code["cpu"].body, u.code["cuda"].body
        for name, mangled, args in u.entries:
            cuda_forward = split.kernel_function_name(mangled, "cuda", "forward")
            cuda_backward = split.kernel_function_name(mangled, "cuda", "backward")
            cuda = BackendIR(
                forward=split.function_text(cuda_body, cuda_forward),
                backward=split.function_text(cuda_body, cuda_backward),
                helpers=split.helpers_text(cuda_body, mangled_all),
                ptx=split.ptx_entries(ptx, [cuda_forward, cuda_backward]) if ptx is not None else None,
            )
            cpu = BackendIR(
                forward=split.function_text(cpu_body, split.kernel_function_name(mangled, "cpu", "forward")),
                backward=split.function_text(cpu_body, split.kernel_function_name(mangled, "cpu", "backward")),
                helpers=split.helpers_text(cpu_body, mangled_all),
            )
            kernels.append(KernelIR(
                kernel_name=name, mangled_name=mangled, cpu=cpu, cuda=cuda, num_params=len(args),
                arg_types=args, builtins=used, module_id=u.module_id,
                execution=runs.get(mangled) if self.execute else {"status": "not_executed",
                                                                         "reason": "--no-execute"},
            ))
        return Accepted(u.key, kernels)


def _limit_memory() -> None:
    mb = _mem_limit_mb()
    if mb > 0:
        limit = mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def _mem_limit_mb() -> int:
    return int(os.environ.get("WSYNTH_MEM_LIMIT_MB", "0") or 0)


def main() -> None:
    proto_out = os.fdopen(os.dup(1), "w", encoding="utf-8", buffering=1)
    os.dup2(2, 1)  # anything printed by loaded code goes to the log, not the protocol stream
    _limit_memory()
    try:
        _serve(proto_out)
    finally:
        # the parent deletes this folder when it stops us; if the parent was killed (kill -9),
        # our stdin reaches EOF (or the reply pipe breaks) and we clean up after ourselves
        own = os.environ.get("WSYNTH_WORKDIR")
        if own and os.path.realpath(own) == os.path.realpath(os.getcwd()):
            os.chdir("/")
            shutil.rmtree(own, ignore_errors=True)


def _serve(proto_out: Any) -> None:
    t0 = time.thread_time()
    worker = Worker()
    if os.environ.get(lto_cache.STORE_ENV):  # trusted MathDx LTOs, before any untrusted code
        lto_cache.seed(worker.wa.kernel_cache_dir())
    worker.warm_up()
    server = zygote.Zygote(worker, isolate=os.environ.get("WSYNTH_SANDBOX") != "off", mem_limit_mb=_mem_limit_mb())
    hello = {"ready": True, "pid": os.getpid(), "startup_s": round(time.thread_time() - t0, 4)}
    proto_out.write(json.dumps(hello) + "\n")
    for line in sys.stdin:
        if not line.strip():
            continue
        req = json.loads(line)
        if req.get("op") == "exit":
            break
        proto_out.write(json.dumps(server.serve(req)) + "\n")


if __name__ == "__main__":
    main()
