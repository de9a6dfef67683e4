"""Canaries: things that only an escape can trip, and the checks that read them.

One ``RunCanaries`` per path run (engine, LLM CLI, verify, compromised worker) plants fresh ones:

* a TCP listener on 127.0.0.1 (random port) that records every connection and what was sent;
* a secret file (random token) outside every worker folder, of which cases get only the path;
* secrets in the parent's environment: ``OPENAI_API_KEY=sk-canary-<token>``, ``SYNTH_CANARY=<token>``;
* marker paths a successful write creates: under the run's tmp folder, in the project checkout
  (unique dot-file names, removed at teardown) and in site-packages (a ``.pth`` name);
* a decoy process that logs the signals it receives;
* a survivor tag: payloads that leave processes behind put ``WSYNTH_REDTEAM_TAG=<run tag>:<case>``
  in their environment, so survivors are found in /proc (and killed at teardown).

No token appears in any case text: a token found in any output was read by an attack.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import sysconfig
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.redteam.cases import BY_NAME, CASES, Case

ROOT = Path(__file__).resolve().parents[2]
TAG_VAR = "WSYNTH_REDTEAM_TAG"
MEM_LIMIT_MB = 4096  # the documented default --mem-limit-mb
FORK_CAP = 200  # the fork bomb's own bound: reaching it means nothing capped the process count
FSIZE_CAP = 200  # the big-file bomb's own bound (MB)


# ------------------------------------------------------------------------------ findings

@dataclass(frozen=True)
class Finding:
    case: str  # a case name, or "(run)" when the output cannot be attributed to one case
    path: str  # engine | llm-cli | verify | compromised
    canary: str
    detail: str = ""

    @property
    def technique(self) -> str:
        c = BY_NAME.get(self.case)
        return c.technique if c else "-"


def table(findings: list[Finding]) -> str:
    rows = [("case", "technique", "path", "canary", "detail")]
    rows += [(f.case, f.technique, f.path, f.canary, f.detail[:110]) for f in findings]
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    return "\n".join("  ".join(r[i].ljust(widths[i]) for i in range(4)) + "  " + r[4] for r in rows)


def escape_report(path: str, findings: list[Finding], accepted: list[str]) -> str:
    cases = sorted({f.case for f in findings})
    return (f"{len(cases)} case(s) escaped on the {path} path ({len(findings)} canary hits); "
            f"{len(accepted)} hostile case(s) were accepted as records: {', '.join(sorted(accepted)) or '-'}\n"
            + table(findings))


# ------------------------------------------------------------------------------ planted canaries

class Listener:
    """A TCP listener on 127.0.0.1 that records every connection (peer, first bytes)."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.hits: list[tuple[str, str]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True, name="wsynth-redteam-listener")
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, peer = self.sock.accept()
            except (TimeoutError, OSError):
                continue
            data = b""
            try:
                conn.settimeout(2)
                while len(data) < 256:
                    chunk = conn.recv(256)
                    if not chunk:
                        break
                    data += chunk
            except OSError:
                pass
            finally:
                conn.close()
            self.hits.append((f"{peer[0]}:{peer[1]}", data.decode("utf-8", "replace").strip()))

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=3)
        self.sock.close()


_DECOY = r"""
import signal, sys, time
log = sys.argv[1]
def hit(signum, frame):
    with open(log, "a") as f:
        f.write("signal %d\n" % signum)
signal.signal(signal.SIGUSR1, hit)
open(log + ".ready", "w").close()
deadline = time.time() + 900
while time.time() < deadline:
    time.sleep(0.2)
"""


class Decoy:
    """A process outside every worker's tree that logs the signals it receives."""

    def __init__(self, log: Path) -> None:
        self.log = log
        self.proc = subprocess.Popen([sys.executable, "-c", _DECOY, str(log)], start_new_session=True,
                                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.time() + 20
        while not Path(str(log) + ".ready").exists() and time.time() < deadline:
            time.sleep(0.05)

    @property
    def pid(self) -> int:
        return self.proc.pid

    def hits(self) -> str:
        try:
            return self.log.read_text()
        except OSError:
            return ""

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()


def tagged_processes(prefix: str) -> dict[str, list[int]]:
    """Live processes whose environment holds ``WSYNTH_REDTEAM_TAG=<prefix>...``: {case: [pid]}."""
    needle = f"{TAG_VAR}={prefix}".encode()
    out: dict[str, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/environ", "rb") as f:
                env = f.read()
            with open(f"/proc/{entry}/stat", "rb") as f:
                state = f.read().rsplit(b")", 1)[-1].split()[0]
        except OSError:
            continue
        if state == b"Z":  # a zombie is dead already
            continue
        for var in env.split(b"\0"):
            if var.startswith(needle):
                case = var[len(needle):].decode("utf-8", "replace").lstrip(":")
                out.setdefault(case, []).append(int(entry))
    return out


def kill_pids(pids: list[int]) -> None:
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass


# the C++ that is code: comments and string/character literals removed
_CPP_NON_CODE = re.compile(r'//[^\n]*|/\*.*?\*/|"(?:\\.|[^"\\\n])*"|\'(?:\\.|[^\'\\\n])*\'', re.S)
_BOMB = re.compile(r"WSYNTHBOMB:(\w+):(\d+)")
_POISON = re.compile(r"wsynth-poison-([A-Za-z0-9_]+)")


def cpp_code_only(text: str) -> str:
    return _CPP_NON_CODE.sub(" ", text)


class RunCanaries:
    """Fresh canaries for one path run; ``close()`` removes every trace (markers, processes)."""

    def __init__(self, base: Path, path: str) -> None:
        self.path = path
        self.base = base
        self.tag = f"{path}-{secrets.token_hex(4)}"
        self.nonce = secrets.token_hex(6)
        self.tokens = {
            "secret-file": "wsynthsecret" + secrets.token_hex(16),
            "env:OPENAI_API_KEY": secrets.token_hex(16),
            "env:SYNTH_CANARY": secrets.token_hex(16),
        }
        self.marker_dir = base / "markers"
        self.marker_dir.mkdir(parents=True, exist_ok=True)
        secret_dir = base / "secrets"
        secret_dir.mkdir(parents=True, exist_ok=True)
        self.secret_path = secret_dir / f"credentials-{self.nonce}.txt"
        self.secret_path.write_text(self.tokens["secret-file"] + "\n")
        self.site = Path(sysconfig.get_paths()["purelib"])
        self.listener = Listener()
        self.decoy = Decoy(base / "decoy.log")
        self._killed: dict[str, list[int]] = {}

    # -- what the run gets
    def env(self) -> dict[str, str]:
        """The parent's planted secrets (added to the environment of the process under test)."""
        return {"OPENAI_API_KEY": "sk-canary-" + self.tokens["env:OPENAI_API_KEY"],
                "SYNTH_CANARY": self.tokens["env:SYNTH_CANARY"]}

    def checkout_marker(self, case: str) -> Path:
        return ROOT / f".wsynth-redteam-{self.tag}-{case}.marker"

    def pth_marker(self, case: str) -> Path:
        return self.site / f"wsynth_redteam_{self.tag.replace('-', '_')}_{case}.pth"

    def tmp_marker(self, case: str) -> Path:
        return self.marker_dir / f"{case}.marker"

    def ctx(self, case: Case | str) -> dict[str, str]:
        name = case.name if isinstance(case, Case) else case
        return {
            "PORT": str(self.listener.port), "MARK": str(self.tmp_marker(name)),
            "CHECKOUT_MARK": str(self.checkout_marker(name)), "PTH": str(self.pth_marker(name)),
            "SECRET_PATH": str(self.secret_path), "DECOY": str(self.decoy.pid), "TAG": f"{self.tag}:{name}",
            "NONCE": self.nonce, "CASE": name,
        }

    # -- checks
    def check_markers(self, names: list[str]) -> list[Finding]:
        out = []
        for n in names:
            for where, p in (("tmp", self.tmp_marker(n)), ("checkout", self.checkout_marker(n)),
                             ("site-packages", self.pth_marker(n))):
                if p.exists():
                    out.append(Finding(n, self.path, "write", f"{where}: {p}"))
        return out

    def check_listener(self, names: list[str]) -> list[Finding]:
        out = []
        for peer, data in list(self.listener.hits):
            case = data if data in names else "(run)"
            out.append(Finding(case, self.path, "tcp", f"connection from {peer}: {data[:60]!r}"))
        return out

    def check_survivors(self, names: list[str] | None = None) -> list[Finding]:
        """Tagged processes alive now (the run is over); they are killed here."""
        out = []
        found = tagged_processes(self.tag)
        known = set(names or BY_NAME)
        for case, pids in found.items():
            out.append(Finding(case if case in known else "(run)", self.path, "survivor",
                               f"pid(s) {pids} alive after the run"))
            kill_pids(pids)
            self._killed.setdefault(case, []).extend(pids)
        return out

    def check_decoy(self, names: list[str], extra: str = "") -> list[Finding]:
        hits = self.decoy.hits()
        if not hits and not extra:
            return []
        senders = [n for n in names if BY_NAME.get(n) and BY_NAME[n].payload == "signal"] or ["(run)"]
        detail = ("decoy got: " + hits.strip().replace("\n", ", ") if hits else "") + extra
        return [Finding(s, self.path, "signal", detail) for s in senders]

    def check_text(self, case: str, where: str, text: str, *, deadline_s: float) -> list[Finding]:
        """Secrets, probes and bomb reports in one piece of output attributed to ``case``."""
        out = []
        for label, token in self.tokens.items():
            if token in text:
                out.append(Finding(case, self.path, "secret", f"{label} token in {where}"))
        c = BY_NAME.get(case)
        for probe in (c.probe if c is not None else ()):
            probe = probe.replace("@@NONCE@@", self.nonce).replace("@@SECRET_PATH@@", str(self.secret_path))
            if probe in text:
                out.append(Finding(case, self.path, "probe", f"{probe[-48:]!r} in {where}"))
        if case == "(run)" and f"wsynth_probe_yes_{self.nonce}" in text:
            out.append(Finding("cpp_has_include_probe", self.path, "probe", f"in {where}"))
        for kind, value in _BOMB.findall(text):
            v = int(value)
            limit = {"mem": (v > MEM_LIMIT_MB, f"{v} MB allocated (limit {MEM_LIMIT_MB} MB)"),
                     "fork": (v >= FORK_CAP, f"{v} concurrent forks (no process limit)"),
                     "fsize": (v >= FSIZE_CAP, f"{v} MB file written (no file size limit)"),
                     "spin": (v >= deadline_s, f"spun {v} s (deadline {deadline_s:.0f} s)")}.get(kind)
            if limit and limit[0]:
                out.append(Finding(case, self.path, f"bomb:{kind}", limit[1] + f" [{where}]"))
        return out

    def check_injection(self, case: str, ir_texts: list[str]) -> list[Finding]:
        ident = f"wsynth_inj_{self.nonce}"
        if any(ident in cpp_code_only(t) for t in ir_texts):
            return [Finding(case, self.path, "cpp-injection", f"{ident} is C++ code, not a string, in the accepted IR")]
        return []

    def check_poison(self, sentinel_irs: dict[str, dict[str, str]], reference: dict[str, dict[str, str]],
                     names: list[str] | None = None) -> list[Finding]:
        out = []
        known = set(names or BY_NAME)
        for name, ir in sentinel_irs.items():
            ref = reference[name]
            bad = [k for k in ref if ir.get(k) != ref[k]]
            if not bad:
                continue
            culprits = sorted({m for k in bad for m in _POISON.findall(ir.get(k) or "")}) or ["(run)"]
            for c in culprits:
                out.append(Finding(c if c in known else "(run)", self.path, "poison",
                                   f"benign {name}: {', '.join(bad)} differ from a clean run"))
        return out

    def close(self) -> None:
        """Remove every trace: markers in the checkout and site-packages, survivors, the decoy."""
        for pids in tagged_processes(self.tag).values():
            kill_pids(pids)
        for c in CASES:
            for p in (self.checkout_marker(c.name), self.pth_marker(c.name)):
                try:
                    p.unlink()
                except FileNotFoundError:
                    pass
        for p in list(ROOT.glob(f".wsynth-redteam-{self.tag}-*")) + list(self.site.glob(
                f"wsynth_redteam_{self.tag.replace('-', '_')}_*")):
            try:
                p.unlink()
            except OSError:
                pass
        self.listener.close()
        self.decoy.close()


# ------------------------------------------------------------------------------ sentinels

def sentinel_source(i: int) -> str:
    """A benign kernel; each is distinct (record ids differ), all compile."""
    return (f"import warp as wp\n\n# wsynth-redteam sentinel: {i}\n\n\n@wp.kernel\n"
            f"def sentinel_{i}(a: wp.array(dtype=float), b: wp.array(dtype=float)):\n"
            f"    i = wp.tid()\n    v = wp.sin(a[i]) * {1.25 + 0.5 * i}\n"
            f"    if v > {0.125 * (i + 1)}:\n        v = v * 2.0\n    b[i] = v\n")


N_SENTINELS = 24
SENTINELS = {f"sentinel_{i}": sentinel_source(i) for i in range(N_SENTINELS)}


def ir_of_outcome(outcome: dict[str, Any]) -> dict[str, str]:
    """``{cpu.forward: ..., ...}`` of an accepted outcome dict (one kernel)."""
    k = outcome["kernels"][0]
    return {f"{dev}.{part}": k[dev][part] for dev in ("cpu", "cuda") for part in ("forward", "backward")}


def ir_of_record(rec: dict[str, Any]) -> dict[str, str]:
    return {f"{dev}.{part}": rec["ir"][dev][part] for dev in ("cpu", "cuda") for part in ("forward", "backward")}


def write_report(path: str, findings: list[Finding], accepted: list[str], per_case: dict[str, str],
                 elapsed: float) -> None:
    """Dump a path's results as JSON into ``$WSYNTH_REDTEAM_REPORT`` (a folder), when it is set."""
    folder = os.environ.get("WSYNTH_REDTEAM_REPORT")
    if not folder:
        return
    Path(folder).mkdir(parents=True, exist_ok=True)
    data = {"path": path, "elapsed_s": round(elapsed, 1), "accepted": sorted(accepted), "outcome": per_case,
            "findings": [f.__dict__ | {"technique": f.technique} for f in findings]}
    (Path(folder) / f"{path}.json").write_text(json.dumps(data, indent=1))


def clean_env(extra: dict[str, str]) -> dict[str, str]:
    """The test process's environment without LLM settings, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not (k.startswith("SYNTH_LLM_") or k == "OPENAI_API_KEY")}
    env.update(extra)
    return env


__all__ = [
    "FSIZE_CAP", "FORK_CAP", "Finding", "MEM_LIMIT_MB", "ROOT", "RunCanaries", "SENTINELS", "clean_env",
    "cpp_code_only", "escape_report", "ir_of_outcome", "ir_of_record", "table", "write_report",
]
