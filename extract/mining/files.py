"""Find the Warp files under the user's paths and slice them in killable child processes.

Files are grouped by folder; each folder gets one ``extract.mining.child`` child (the user's
environment, cwd = the folder, so relative file reads and sibling imports work).  A file whose
import exceeds ``timeout`` seconds, or that kills the child, is reported as ``import_timeout``
or ``import_crash`` and the child is restarted for the folder's remaining files.
"""

from __future__ import annotations

import json
import os
import re
import selectors
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from warp_synth.errors import UserError
from warp_synth.extract.mining.child import FileSlices, KernelSlice

_MENTIONS_KERNEL = re.compile(r"\b(?:wp|warp)\s*\.\s*kernel\b")
STARTUP_SECONDS = 120.0  # importing and initialising Warp in a fresh child

_CHILD_CODE = "from warp_synth.extract.mining.child import main; main()"


class MinePathError(UserError):
    """A PATH argument that cannot be mined: printed as one line, exit status 2."""


@dataclass(slots=True, frozen=True)
class SourceFile:
    path: str  # absolute
    display: str  # as the user will read it: the PATH argument joined with the relative part
    relative: str  # relative to the PATH argument (the file name when PATH is a file)


def discover(paths: Iterable[str]) -> tuple[list[SourceFile], int]:
    """Python files under ``paths`` that mention ``wp.kernel``; also how many were passed over."""
    out: dict[str, SourceFile] = {}
    passed_over = 0
    for arg in paths:
        p = Path(arg)
        if not p.exists():
            raise MinePathError(f"no such file or directory: {arg}")
        if p.is_file():
            candidates = [(p, p.name)]
        else:
            candidates = []
            for f in sorted(p.rglob("*.py")):
                rel = f.relative_to(p)
                if any(part.startswith(".") or part == "__pycache__" for part in rel.parts):
                    continue
                candidates.append((f, rel.as_posix()))
        for f, rel in candidates:
            try:
                text = f.read_text(encoding="utf-8", errors="replace")
            except OSError:
                passed_over += 1
                continue
            if not _MENTIONS_KERNEL.search(text):
                passed_over += 1
                continue
            absolute = str(f.resolve())
            display = str(p) if p.is_file() else os.path.join(arg, rel)
            out.setdefault(absolute, SourceFile(absolute, display, rel))
    return list(out.values()), passed_over


def child_environment() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONUNBUFFERED"] = "1"
    return env


def _from_json(d: dict) -> FileSlices:
    kernels = [KernelSlice(**k) for k in d.pop("kernels", [])]
    return FileSlices(**d, kernels=kernels)


def _kill(proc: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        proc.kill()
    proc.wait()


def slice_folder(
    folder: str, files: list[str], timeout: float, on_file: Callable[[FileSlices], None] | None = None
) -> dict[str, FileSlices]:
    """Slice ``files`` (absolute paths in ``folder``); one ``FileSlices`` per file."""
    results: dict[str, FileSlices] = {}
    remaining = list(files)

    def done(fs: FileSlices) -> None:
        results[fs.file] = fs
        remaining.remove(fs.file)
        if on_file is not None:
            on_file(fs)

    while remaining:
        with tempfile.TemporaryFile() as log:
            proc = subprocess.Popen(
                [sys.executable, "-c", _CHILD_CODE, *remaining],
                cwd=folder,
                env=child_environment(),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=log,
                start_new_session=True,
            )
            assert proc.stdout is not None
            sel = selectors.DefaultSelector()
            sel.register(proc.stdout, selectors.EVENT_READ)
            current: str | None = None
            deadline = time.monotonic() + STARTUP_SECONDS + timeout
            buf = b""
            progressed = False
            failure: tuple[str, str] | None = None
            while True:
                left = deadline - time.monotonic()
                if left <= 0 or not sel.select(timeout=left):
                    if time.monotonic() < deadline:
                        continue
                    _kill(proc)
                    failure = ("import_timeout", f"importing the file took longer than {timeout:g} s")
                    break
                chunk = os.read(proc.stdout.fileno(), 65536)
                if not chunk:
                    proc.wait()
                    log.seek(0)
                    tail = " | ".join(
                        ln.strip()
                        for ln in log.read().decode("utf-8", "replace").splitlines()[-3:]
                        if ln.strip()
                    )
                    failure = (
                        "import_crash",
                        f"the importing process exited with status {proc.returncode}"
                        + (f": {tail}" if tail else ""),
                    )
                    break
                buf += chunk
                while b"\n" in buf:
                    line, buf = buf.split(b"\n", 1)
                    if not line.strip():
                        continue
                    msg = json.loads(line)
                    if "begin" in msg:
                        current = msg["begin"]
                        deadline = time.monotonic() + timeout
                    else:
                        done(_from_json(msg))
                        current = None
                        progressed = True
                if not remaining:
                    break
            sel.close()
            if proc.poll() is None:
                proc.wait(timeout=30)
        if not remaining:
            break
        assert failure is not None
        if current is not None:
            done(_failed(current, *failure))
        elif not progressed:  # the child could not even start: every remaining file fails
            for f in list(remaining):
                done(_failed(f, *failure))
        else:
            done(_failed(remaining[0], *failure))
    return results


def _failed(path: str, reason: str, message: str) -> FileSlices:
    from warp_synth.extract.mining.child import declared_kernels

    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            declared = declared_kernels(f.read())
    except OSError:
        declared = []
    return FileSlices(
        file=path,
        error=reason,
        message=message,
        kernels=[KernelSlice(n, line, reason=reason, message=message) for n, line in declared],
    )


def slice_files(
    files: list[SourceFile], timeout: float, on_file: Callable[[FileSlices], None] | None = None
) -> dict[str, FileSlices]:
    by_folder: dict[str, list[str]] = {}
    for f in files:
        by_folder.setdefault(os.path.dirname(f.path), []).append(f.path)
    out: dict[str, FileSlices] = {}
    for folder, members in by_folder.items():
        out.update(slice_folder(folder, members, timeout, on_file))
    return out
