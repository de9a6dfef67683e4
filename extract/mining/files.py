"""Find the Warp files under the user's paths and slice them in killable child processes.

Files are grouped by folder; each folder gets one ``warp_synth.extract.mining.child`` child
(the user's environment, cwd = the folder, so relative file reads and sibling imports work).  A
file whose import exceeds ``timeout`` seconds, or that kills the child, is reported as
``import_timeout`` or ``import_crash`` and the child is restarted for the
folder's remaining files.  A child also exits as soon as this process does, however it ends
(its stdin is a lifeline; see ``child``), so a hanging import never outlives ``synth mine``.
This module never imports Warp.
"""

from __future__ import annotations

import json
import os
import re
import selectors
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from warp_synth.errors import UserError
from warp_synth.extract.executors.supervisor import close_streams, kill_group, spawn, user_environment
from warp_synth.extract.mining.slices import FileSlices, all_skipped, file_slices_from_json
from warp_synth.extract.mining.source_scan import declared_kernels
from warp_synth.reasons import Reason

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


def _log_tail(log: Any, lines: int = 3) -> str:
    log.seek(0)
    text = log.read().decode("utf-8", "replace")
    return " | ".join(ln.strip() for ln in text.splitlines()[-lines:] if ln.strip())


@dataclass(slots=True)
class _ChildEnd:
    """How one child stopped before reporting every file it was given."""

    current: str | None  # the file it was importing, if any
    progressed: bool  # it reported at least one file
    reason: Reason
    message: str


def _run_child(folder: str, files: list[str], timeout: float, done: Callable[[FileSlices], None]) -> _ChildEnd | None:
    """One child slicing ``files`` in order; ``done`` per reported file.  None when it reported
    them all; otherwise how it ended (killed after ``timeout``, or exited).  The child never
    outlives this call, whatever ``done`` raises."""
    with tempfile.TemporaryFile() as log:
        # stdin is the child's lifeline: it exits when this end closes
        proc = spawn([sys.executable, "-c", _CHILD_CODE, *files], workdir=folder, env=user_environment(),
                     stderr=log)
        assert proc.stdout is not None and proc.stdin is not None
        left_to_report = len(files)
        current: str | None = None
        progressed = False
        sel = selectors.DefaultSelector()
        try:
            sel.register(proc.stdout, selectors.EVENT_READ)
            deadline = time.monotonic() + STARTUP_SECONDS + timeout
            buf = b""
            while left_to_report:
                left = deadline - time.monotonic()
                if left <= 0 or not sel.select(timeout=left):
                    if time.monotonic() < deadline:
                        continue
                    kill_group(proc)
                    message = f"importing the file took longer than {timeout:g} s"
                    return _ChildEnd(current, progressed, Reason.IMPORT_TIMEOUT, message)
                chunk = os.read(proc.stdout.fileno(), 65536)
                if not chunk:
                    proc.wait()
                    tail = _log_tail(log)
                    message = f"the importing process exited with status {proc.returncode}" + (
                        f": {tail}" if tail else ""
                    )
                    return _ChildEnd(current, progressed, Reason.IMPORT_CRASH, message)
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
                        left_to_report -= 1
                        current, progressed = None, True
                        done(file_slices_from_json(msg))
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                pass
            return None
        finally:
            sel.close()
            close_streams(proc.stdin, proc.stdout)
            if proc.poll() is None:
                kill_group(proc)


def slice_folder(
    folder: str, files: list[str], timeout: float, on_file: Callable[[FileSlices], None] | None = None
) -> dict[str, FileSlices]:
    """Slice ``files`` (absolute paths in ``folder``); one ``FileSlices`` per file.  A file the
    child dies or hangs on is reported as failed and a new child takes the rest."""
    results: dict[str, FileSlices] = {}
    remaining = list(files)

    def done(fs: FileSlices) -> None:
        results[fs.file] = fs
        remaining.remove(fs.file)
        if on_file is not None:
            on_file(fs)

    while remaining:
        end = _run_child(folder, list(remaining), timeout, done)
        if end is None:
            break
        if end.current is not None:
            done(_failed(end.current, end.reason, end.message))
        elif not end.progressed:  # the child could not even start: every remaining file fails
            for f in list(remaining):
                done(_failed(f, end.reason, end.message))
        else:
            done(_failed(remaining[0], end.reason, end.message))
    return results


def _failed(path: str, reason: Reason, message: str) -> FileSlices:
    """The report of a file the child could not report on: every declared kernel skipped."""
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            declared = declared_kernels(f.read())
    except OSError:
        declared = []
    return all_skipped(path, reason, message, declared)


def slice_files(
    files: list[SourceFile], timeout: float, on_file: Callable[[FileSlices], None] | None = None
) -> dict[str, FileSlices]:
    """Slice every file, folder by folder; ``on_file`` is called (on this thread) as each file's
    slices arrive.  Results keyed by absolute path."""
    by_folder: dict[str, list[str]] = {}
    for f in files:
        by_folder.setdefault(os.path.dirname(f.path), []).append(f.path)
    out: dict[str, FileSlices] = {}
    for folder, members in by_folder.items():
        out.update(slice_folder(folder, members, timeout, on_file))
    return out
