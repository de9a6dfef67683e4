"""The sandbox every process that touches untrusted kernel text runs in.

``run_sandboxed(task, policy)`` forks twice and runs ``task()`` in the grandchild, which first
puts itself behind every layer this machine offers, in this order:

1. ``namespaces``: new user (when not root), mount, network, PID, IPC, UTS and cgroup
   namespaces.  The network namespace has no interface, so there is no network at all; the
   grandchild is PID 1 of its own PID namespace, so when it exits the kernel kills everything it
   started (a double fork with ``setsid`` does not outlive it), and a fresh ``/proc`` shows no
   other process (not the worker, not the parent, not their environments);
2. ``identity``: started as root, it drops to an unprivileged uid/gid (``nobody``) with no
   supplementary groups, which also drops every capability;
3. ``no_new_privs``: no set-uid binary can give privileges back;
4. ``rlimits``: address space, CPU seconds, file size, processes, open files, no core dumps;
5. ``landlock``: reads (and executes) only beneath what Python, Warp and this package need,
   writes only beneath its own folder; no TCP bind/connect; abstract UNIX sockets and signals
   scoped to the sandbox;
6. ``seccomp``: a filter (libseccomp, through ``pyseccomp``) that denies sockets other than
   ``AF_UNIX``, ``ptrace``, ``process_vm_*``, mounts, namespace creation, ``bpf``,
   ``perf_event_open``, kernel keyrings, module loading and the like.

``probe()`` tells, once per machine, which layers can be applied (a layer this machine lacks is
reported by name, never silently skipped); ``stats.json`` records the layers in force.
"""

from __future__ import annotations

import ctypes
import errno
import importlib.util
import json
import os
import resource
import shutil
import signal
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field

from warp_synth.extract import landlock
from warp_synth.extract.landlock import _libc

LAYERS = ("namespaces", "identity", "no_new_privs", "rlimits", "landlock", "seccomp")

_CLONE_NEWNS, _CLONE_NEWCGROUP, _CLONE_NEWUTS = 0x00020000, 0x02000000, 0x04000000
_CLONE_NEWIPC, _CLONE_NEWUSER, _CLONE_NEWPID, _CLONE_NEWNET = 0x08000000, 0x10000000, 0x20000000, 0x40000000
_NAMESPACE_FLAGS = _CLONE_NEWNS | _CLONE_NEWCGROUP | _CLONE_NEWUTS | _CLONE_NEWIPC | _CLONE_NEWPID | _CLONE_NEWNET
_MS_NOSUID, _MS_NODEV, _MS_NOEXEC, _MS_BIND, _MS_REC, _MS_PRIVATE = 2, 4, 8, 0x1000, 0x4000, 0x40000
_PR_SET_PDEATHSIG, _PR_SET_NO_NEW_PRIVS, _PR_SET_DUMPABLE = 1, 38, 4
NOBODY = 65534

# denied outright (EPERM); sockets and clone are filtered by argument below
_DENIED_SYSCALLS = (
    "ptrace", "process_vm_readv", "process_vm_writev", "mount", "umount2", "pivot_root", "chroot",
    "unshare", "setns", "bpf", "perf_event_open", "keyctl", "add_key", "request_key", "kexec_load",
    "kexec_file_load", "init_module", "finit_module", "delete_module", "swapon", "swapoff", "reboot",
    "userfaultfd", "io_uring_setup", "open_by_handle_at", "name_to_handle_at", "fanotify_init",
    "mknod", "mknodat", "acct", "quotactl", "syslog", "settimeofday", "clock_settime", "setdomainname",
    "sethostname", "lookup_dcookie", "vhangup", "iopl", "ioperm",
)


class SandboxError(RuntimeError):
    """A layer the policy requires could not be applied."""


@dataclass(slots=True)
class Policy:
    """What one sandboxed task may do."""

    workdir: str  # its own folder: the only place it may write
    readable: list[str] = field(default_factory=list)  # read-only roots (see ``default_readable``)
    mem_limit_mb: int = 4096
    cpu_seconds: int = 600
    file_size_mb: int = 160  # a compiler's precompiled header is ~80 MB
    max_processes: int = 64  # counted per uid: every sandboxed process of the machine together
    max_open_files: int = 512
    required: tuple[str, ...] = ()  # layers that must apply, or the task does not run
    # folders the task sees as its own copy-on-write view (an overlay whose upper layer is in
    # ``workdir``): compiler caches it may add to without touching what later tasks read
    private: list[str] = field(default_factory=list)


def _check(result: int, what: str) -> None:
    if result != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def default_readable() -> list[str]:
    """Read-only roots: the interpreter, its libraries and packages, Warp, this package, system libraries."""
    roots = {sys.prefix, sys.base_prefix, sys.exec_prefix, os.path.dirname(os.path.realpath(sys.executable)),
             "/usr/lib", "/usr/lib64", "/usr/share/zoneinfo", "/lib", "/lib64",
             "/etc/ld.so.cache", "/etc/localtime", "/dev/null", "/dev/urandom", "/proc"}
    roots.update(p for p in sys.path if p and os.path.isdir(p) and "site-packages" in p)
    # Warp, and warp_synth's own folders (one tree when installed, the mapped folders of a checkout)
    for name in ("warp", "warp_synth", "warp_synth.extract", "warp_synth.synth", "warp_synth.eval",
                 "warp_synth.prompts"):
        spec = importlib.util.find_spec(name)
        for folder in (spec.submodule_search_locations or []) if spec is not None else []:
            roots.add(os.path.realpath(folder))
    return sorted(r for r in roots if os.path.exists(r))


def probe() -> dict[str, str]:
    """Which layers this machine applies: each layer -> what is in force ("" where it is missing).
    Forks a throwaway child that enters the sandbox and loads nothing."""
    r, w = os.pipe()
    workdir = tempfile.mkdtemp(prefix="wsynth-probe-")

    def task() -> int:
        return 0

    def report(in_force: dict[str, str]) -> None:
        os.write(w, json.dumps(in_force).encode())

    try:
        pid = run_sandboxed(task, Policy(workdir=workdir, readable=default_readable()), report)
        os.close(w)
        with os.fdopen(r, "rb") as f:
            data = f.read(1 << 16)
        os.waitpid(pid, 0)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    try:
        layers = json.loads(data)
    except ValueError:
        layers = {}
    return {layer: str(layers.get(layer, "")) for layer in LAYERS}


def missing_layers(layers: dict[str, str]) -> list[str]:
    return [layer for layer in LAYERS if not layers.get(layer)]


# ---------------------------------------------------------------------------- the layers


def _enter_namespaces() -> None:
    flags = _NAMESPACE_FLAGS
    uid, gid = os.getuid(), os.getgid()
    if uid != 0:
        flags |= _CLONE_NEWUSER
    _check(_libc().unshare(flags), "unshare")
    if uid != 0:  # be root inside the new user namespace (mapped to ourselves outside)
        with open("/proc/self/setgroups", "w") as f:
            f.write("deny")
        with open("/proc/self/uid_map", "w") as f:
            f.write(f"0 {uid} 1")
        with open("/proc/self/gid_map", "w") as f:
            f.write(f"0 {gid} 1")


def _mount_private_proc() -> None:
    libc = _libc()
    _check(libc.mount(None, b"/", None, _MS_REC | _MS_PRIVATE, None), "making mounts private")
    _check(libc.mount(b"proc", b"/proc", b"proc", _MS_NOSUID | _MS_NODEV | _MS_NOEXEC, None), "mounting /proc")


def _blocked_ancestor(path: str) -> str | None:
    """The highest folder above ``path`` that others cannot enter (mode without o+x), if any."""
    parts = os.path.realpath(path).split("/")[1:-1]
    for i in range(1, len(parts) + 1):
        folder = "/" + "/".join(parts[:i])
        try:
            if not os.stat(folder).st_mode & 0o001:
                return folder
        except OSError:
            return None
    return None


def _expose(paths: list[str]) -> None:
    """Make ``paths`` reachable for ``nobody`` inside this mount namespace, and nothing beside them:
    a folder others cannot enter (``/root`` holding a pyenv Python, the worker's own 0700 folder)
    is covered with an empty tmpfs into which exactly the needed paths are bind-mounted back."""
    libc = _libc()
    blocked: dict[str, list[str]] = {}
    for p in paths:
        b = _blocked_ancestor(p)
        if b is not None:
            blocked.setdefault(b, []).append(os.path.realpath(p))
    for b in sorted(blocked, key=len):
        if any(o != b and b.startswith(o + "/") for o in blocked):
            continue  # covered by a higher tmpfs; its paths are bound there
        inner = sorted({q for o, qs in blocked.items() if o == b or o.startswith(b + "/") for q in qs})
        fds = {q: os.open(q, os.O_PATH | os.O_CLOEXEC) for q in inner if os.path.exists(q)}
        try:
            _check(libc.mount(b"tmpfs", b.encode(), b"tmpfs", _MS_NOSUID | _MS_NODEV, b"mode=0755,size=4m"),
                   f"covering {b}")
            for q, fd in fds.items():
                if os.path.isdir(f"/proc/self/fd/{fd}"):
                    os.makedirs(q, mode=0o755, exist_ok=True)
                else:
                    os.makedirs(os.path.dirname(q), mode=0o755, exist_ok=True)
                    open(q, "a").close()
                _check(libc.mount(f"/proc/self/fd/{fd}".encode(), q.encode(), None, _MS_BIND | _MS_REC, None),
                       f"exposing {q}")
        finally:
            for fd in fds.values():
                os.close(fd)


def _private_views(policy: Policy, real_root: bool) -> list[str]:
    """Overlay each ``policy.private`` folder with a writable upper layer inside the workdir;
    returns the folders that got one (only those become writable)."""
    libc, done = _libc(), []
    for n, folder in enumerate(policy.private):
        if not os.path.isdir(folder):
            continue
        upper, work = (os.path.join(policy.workdir, f".private-{n}", part) for part in ("upper", "work"))
        os.makedirs(upper)
        os.makedirs(work)
        if real_root:  # the merged folder takes its owner from the upper layer, at mount time
            os.chown(upper, NOBODY, NOBODY)
        opts = f"lowerdir={folder},upperdir={upper},workdir={work}".encode()
        if libc.mount(b"overlay", folder.encode(), b"overlay", _MS_NOSUID | _MS_NODEV, opts) == 0:
            done.append(folder)
        else:
            err = ctypes.get_errno()
            sys.stderr.write(f"sandbox: no private view of {folder}: {os.strerror(err)}\n")
    return done


def _drop_identity(policy: Policy, real_root: bool) -> bool:
    """Started as root: hand the folder to ``nobody`` and become it.  Returns whether it dropped
    (an ordinary user already is unprivileged; inside its user namespace it has no other uid)."""
    if not real_root:
        return False
    workdir = policy.workdir
    for dirpath, dirnames, filenames in os.walk(workdir):
        for name in (dirpath, *(os.path.join(dirpath, n) for n in dirnames + filenames)):
            os.lchown(name, NOBODY, NOBODY)
    os.setgroups([])
    os.setresgid(NOBODY, NOBODY, NOBODY)
    os.setresuid(NOBODY, NOBODY, NOBODY)
    return True


def _limit_resources(policy: Policy) -> None:
    mb = 1024 * 1024
    limits = [(resource.RLIMIT_CPU, policy.cpu_seconds), (resource.RLIMIT_FSIZE, policy.file_size_mb * mb),
              (resource.RLIMIT_NPROC, policy.max_processes), (resource.RLIMIT_NOFILE, policy.max_open_files),
              (resource.RLIMIT_CORE, 0)]
    if policy.mem_limit_mb > 0:
        limits.append((resource.RLIMIT_AS, policy.mem_limit_mb * mb))
    for which, value in limits:
        soft, hard = resource.getrlimit(which)
        value = value if hard == resource.RLIM_INFINITY else min(value, hard)
        resource.setrlimit(which, (value, value))


def _seccomp_filter() -> None:
    seccomp = _pyseccomp()

    f = seccomp.SyscallFilter(defaction=seccomp.ALLOW)
    deny = seccomp.ERRNO(errno.EPERM)
    for name in _DENIED_SYSCALLS:
        try:
            f.add_rule(deny, name)
        except (RuntimeError, ValueError, OSError):
            pass  # not a system call on this architecture
    f.add_rule(deny, "socket", seccomp.Arg(0, seccomp.NE, 1))  # AF_UNIX only
    f.add_rule(deny, "socketpair", seccomp.Arg(0, seccomp.NE, 1))
    for flag in (_CLONE_NEWUSER, _CLONE_NEWNS, _CLONE_NEWNET, _CLONE_NEWPID, _CLONE_NEWIPC, _CLONE_NEWUTS,
                 _CLONE_NEWCGROUP):  # no new namespaces: nothing to regain capabilities in
        f.add_rule(deny, "clone", seccomp.Arg(0, seccomp.MASKED_EQ, flag, flag))
    try:  # clone3 passes its flags in memory a filter cannot read: make libc fall back to clone
        f.add_rule(seccomp.ERRNO(errno.ENOSYS), "clone3")
    except (RuntimeError, ValueError, OSError):
        pass
    f.load()


def _pyseccomp() -> object:
    import pyseccomp  # loads libseccomp; imported before Landlock closes the file system

    return pyseccomp


def apply_layers(policy: Policy, in_force: dict[str, str], real_root: bool, writable: list[str]) -> None:
    """Layers 2-6 in the calling process (which must be PID 1 of fresh namespaces, or a fresh fork)."""
    libc = _libc()
    try:
        _pyseccomp()
    except (ImportError, OSError):
        pass  # reported as a missing seccomp layer below

    def attempt(layer: str, fn: Callable[[], str]) -> None:
        try:
            in_force[layer] = fn()
        except Exception as e:  # noqa: BLE001 - reported by name; required layers fail the task
            in_force[layer] = ""
            if layer in policy.required:
                raise SandboxError(f"sandbox layer {layer!r} could not be applied: {e}") from None

    attempt("identity", lambda: f"uid {NOBODY}" if _drop_identity(policy, real_root) else
            f"uid {os.getuid()} (not root)")
    attempt("no_new_privs", lambda: "on" if libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0 else "")
    libc.prctl(_PR_SET_DUMPABLE, 0, 0, 0, 0)
    attempt("rlimits", lambda: (_limit_resources(policy), "as, cpu, fsize, nproc, nofile, core")[1])
    attempt("landlock", lambda: f"abi {landlock.restrict(policy.readable, writable)}")
    attempt("seccomp", lambda: (_seccomp_filter(), "filter")[1])


def run_sandboxed(task: Callable[[], int], policy: Policy, report: Callable[[dict[str, str]], None] | None = None,
                  ) -> int:
    """Fork, sandbox, run ``task`` (its return value is the exit status); returns the pid to wait on.

    The first child enters the namespaces and forks the task's process, PID 1 of the new PID
    namespace; it waits for it and exits with its status (so killing the first child's process
    group ends everything: the task dies with its parent).  ``report`` is called in the task's
    process, inside the sandbox, with the layers in force, before ``task`` runs.
    """
    real_root = os.getuid() == 0
    pid = os.fork()
    if pid:
        return pid
    status = 70
    try:
        os.setpgid(0, 0)
        libc = _libc()
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        in_force: dict[str, str] = {}
        try:
            _enter_namespaces()
            namespaces = True
        except OSError as e:
            namespaces = False
            if "namespaces" in policy.required:
                sys.stderr.write(f"sandbox layer 'namespaces' could not be applied: {e}\n")
                os._exit(71)
        inner = os.fork() if namespaces else 0
        if inner:
            _, wait_status = os.waitpid(inner, 0)
            code = os.waitstatus_to_exitcode(wait_status)
            os._exit(code & 0xFF if code >= 0 else 128 - code)  # killed by signal N: exit 128 + N
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        writable = [policy.workdir]
        if namespaces:
            try:
                _mount_private_proc()
                if real_root:  # before the drop to nobody: what it must reach, and nothing beside
                    _expose([*policy.readable, *policy.private, policy.workdir])
                writable += _private_views(policy, real_root)
                in_force["namespaces"] = ("mount, net, pid, ipc, uts, cgroup" if real_root
                                          else "user, mount, net, pid, ipc, uts, cgroup")
            except OSError as e:
                in_force["namespaces"] = ""
                if "namespaces" in policy.required:
                    raise SandboxError(f"sandbox layer 'namespaces' could not be applied: {e}") from None
        else:
            in_force["namespaces"] = ""
        apply_layers(policy, in_force, real_root, writable)
        if report is not None:
            report(in_force)
        status = task()
    except SandboxError as e:
        sys.stderr.write(f"{e}\n")
        status = 71
    except BaseException as e:  # noqa: BLE001 - the task's process must never return into the caller
        try:
            sys.stderr.write(f"sandboxed task failed: {type(e).__name__}: {e}\n")
        except Exception:  # noqa: BLE001
            pass
        status = 70
    finally:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(status)
