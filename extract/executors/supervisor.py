"""The one supervisor of child processes: every process this package starts goes through here.

The extraction workers (``executors.local``, reused by the Ray actors), ``synth verify``'s
re-derivations and mining's import children all need the same things, so they live in one
place (and the sandbox, when it tightens, tightens here):

* ``ChildFolder``: a private temporary folder per child (``HOME``, ``TMPDIR`` and Warp's cache
  inside it) that records the pids owning it; ``sweep_stale_folders`` removes folders whose
  owners all died without cleaning up (a ``kill -9`` of the parent);
* ``isolated_environment``: an *explicit* environment (``PATH``, the locale and paths into the
  folder, nothing else), so no API key or other secret of the parent reaches the child
  (``user_environment`` for mining, whose children import the user's own, trusted files);
* ``spawn``: the child in its own session, so ``kill_group`` takes everything it started
  (compiler threads, grandchildren in its process group) with it;
* ``run_child``: spawn, feed stdin, collect output, and kill the whole group at the deadline.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
from dataclasses import dataclass
from typing import IO, Any

from warp_synth.extract import lto_cache

_KEEP_ENV = ("PATH", "LANG", "LC_ALL", "SYSTEMROOT")


def isolated_environment(workdir: str, mem_limit_mb: int) -> dict[str, str]:
    """The whole environment of a child that may run untrusted code: nothing of ours but PATH/locale."""
    env = {k: os.environ[k] for k in _KEEP_ENV if k in os.environ}
    env.update(
        HOME=workdir,
        TMPDIR=os.path.join(workdir, "tmp"),
        WARP_CACHE_PATH=os.path.join(workdir, "warp-cache"),
        PYTHONDONTWRITEBYTECODE="1",
        PYTHONUNBUFFERED="1",
        PYTHONNOUSERSITE="1",
        WSYNTH_MEM_LIMIT_MB=str(mem_limit_mb),
        WSYNTH_WORKDIR=workdir,
        # read-only for the child: the trusted MathDx LTOs it copies into its own cache (extract.lto_cache)
        WSYNTH_LTO_STORE=str(lto_cache.store_root()),
    )
    env.setdefault("LANG", "C.UTF-8")
    return env


def user_environment() -> dict[str, str]:
    """The environment of a child that imports the user's *own* files (mining): theirs, as is."""
    return {**os.environ, "PYTHONUNBUFFERED": "1"}


class ChildFolder:
    """A private temporary folder (with ``tmp/`` inside) owned by this process and its child."""

    def __init__(self, prefix: str) -> None:
        self.path = tempfile.mkdtemp(prefix=prefix)
        os.makedirs(os.path.join(self.path, "tmp"))
        self.record_owners()

    def record_owners(self, *pids: int) -> None:
        """Write the pids that own the folder (this process first; see ``sweep_stale_folders``)."""
        with open(os.path.join(self.path, "owners.pid"), "w", encoding="ascii") as f:
            f.write(" ".join(str(p) for p in (os.getpid(), *pids)) + "\n")

    def remove(self) -> None:
        shutil.rmtree(self.path, ignore_errors=True)


def spawn(argv: list[str], *, workdir: str, env: dict[str, str], stdin: Any = subprocess.PIPE,
          stdout: Any = subprocess.PIPE, stderr: Any = subprocess.PIPE) -> subprocess.Popen[bytes]:
    """Start ``argv`` in ``workdir`` with exactly ``env``, in a session of its own."""
    return subprocess.Popen(argv, stdin=stdin, stdout=stdout, stderr=stderr, env=env, cwd=workdir,
                            start_new_session=True)


def kill_group(proc: subprocess.Popen[Any]) -> None:
    """SIGKILL the child's whole process group and reap the child."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    proc.wait()


def exit_text(code: int) -> str:
    """A child's exit code as words: ``signal N`` for a negative code (killed by signal N), else
    ``exit status N``."""
    return f"signal {-code}" if code < 0 else f"exit status {code}"


def close_streams(*streams: IO[Any] | None) -> None:
    for stream in streams:
        if stream is not None:
            try:
                stream.close()
            except OSError:
                pass


@dataclass(slots=True)
class ChildResult:
    returncode: int | None  # None: killed at the deadline
    stdout: bytes
    stderr: bytes

    @property
    def timed_out(self) -> bool:
        return self.returncode is None


def run_child(argv: list[str], *, workdir: str, env: dict[str, str], input: bytes = b"",
              timeout: float) -> ChildResult:
    """Run a child to completion; at ``timeout`` seconds its whole group is killed."""
    proc = spawn(argv, workdir=workdir, env=env)
    try:
        out, err = proc.communicate(input, timeout=timeout)
    except subprocess.TimeoutExpired:
        kill_group(proc)
        out, err = proc.communicate()
        return ChildResult(None, out, err)
    finally:
        if proc.poll() is None:
            kill_group(proc)
    try:  # anything the child left running in its group goes with it
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    return ChildResult(proc.returncode, out, err)


def _alive(pid: int) -> bool:
    """Whether ``pid`` is a live process; when that cannot be told, assume it is."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (OSError, OverflowError):
        return True
    return True


def sweep_stale_folders(prefix: str, parent: str | None = None) -> int:
    """Delete ``parent/prefix*`` folders whose owners are all dead: a folder qualifies only if it
    holds at least one ``*.pid`` file and no pid in them is a live process (a folder being set up,
    or one whose pid was reused, is left alone).  Returns the number of folders removed."""
    removed = 0
    try:
        entries = list(os.scandir(parent or tempfile.gettempdir()))
    except OSError:
        return 0
    for entry in entries:
        if not entry.name.startswith(prefix) or not entry.is_dir(follow_symlinks=False):
            continue
        pids: list[int] = []
        try:
            for f in os.scandir(entry.path):
                if f.name.endswith(".pid") and f.is_file(follow_symlinks=False):
                    with open(f.path, encoding="ascii", errors="replace") as fh:
                        pids += [int(t) for t in fh.read().split() if t.isdigit()]
        except OSError:
            continue
        if pids and not any(_alive(p) for p in pids):
            shutil.rmtree(entry.path, ignore_errors=True)
            removed += 1
    return removed
