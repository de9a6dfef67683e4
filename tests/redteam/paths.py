"""The three ways hostile code reaches Warp, each run once over every case, and what they leave.

* ``engine_path``: ``warp_synth.extract.Extractor`` (untrusted units) in a driver process that
  holds the planted secrets, all cases in batches, benign sentinels after the hostile units of
  each batch and in batches of their own at the end (cross-unit and cross-batch poisoning);
* ``llm_path``: the real ``synth run`` CLI in LLM mode against a hostile loopback
  OpenAI-compatible server that answers each diversify request with one case (sentinels
  interleaved) and records every request body it receives (repair prompts carry messages);
* ``verify_path``: the real ``synth verify`` CLI over a dataset of forged records, one per case.

Each returns a ``PathResult``: the canary findings (escapes), the hostile cases that were
accepted as records, and a one-word outcome per case.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.redteam.canaries import (
    ROOT,
    SENTINELS,
    Finding,
    RunCanaries,
    clean_env,
    ir_of_outcome,
    ir_of_record,
    write_report,
)
from tests.redteam.cases import BY_NAME, CASES, Case, render
from tests.support.openai_server import OpenAIServer, Response

DRIVER = Path(__file__).with_name("engine_driver.py")

# engine path deadlines: a batch of n units may take ENGINE_TIMEOUT_BASE + n * ENGINE_TIMEOUT_PER_UNIT s
ENGINE_TIMEOUT_BASE = 12.0
ENGINE_TIMEOUT_PER_UNIT = 3.0
ENGINE_BATCH = 6  # hostile units per batch (plus one sentinel)
# synth run: --timeout 12 and --batch-size 1 give each unit 12 + 10 s
CLI_TIMEOUT = 12
CLI_DEADLINE = CLI_TIMEOUT + 10
VERIFY_DEADLINE = 300.0  # extract/verify.py's per-record timeout


@dataclass
class PathResult:
    path: str
    findings: list[Finding] = field(default_factory=list)
    accepted: list[str] = field(default_factory=list)  # hostile cases accepted as records
    outcome: dict[str, str] = field(default_factory=dict)  # case -> accepted | <reason> | not run
    elapsed_s: float = 0.0
    log: str = ""  # the run's stderr tail, for failure messages
    refused: str = ""  # the CLI refused to run at all (e.g. this machine lacks a sandbox layer)

    def escaped(self) -> list[str]:
        return sorted({f.case for f in self.findings})

    def report(self) -> None:
        write_report(self.path, self.findings, self.accepted, self.outcome, self.elapsed_s)


def _ordered_cases() -> list[Case]:
    """Poisoning cases first, so every later unit and batch can show it."""
    return sorted(CASES, key=lambda c: (c.payload not in ("poison_warp", "poison_worker"), CASES.index(c)))


def run_driver(can: RunCanaries, units: dict[str, str], phases: list[list[list[str]]], *, trusted: bool,
               options: dict[str, Any], timeout: float) -> tuple[dict[str, Any], subprocess.CompletedProcess[str] | None]:
    """Run ``engine_driver.py`` with the planted secrets in its environment; its result dict."""
    cfg_path = can.base / "driver.json"
    out_path = can.base / "driver-result.json"
    cfg_path.write_text(json.dumps({"options": options, "trusted": trusted, "units": units, "phases": phases,
                                    "out": str(out_path)}))
    workdir = can.base / "driver-cwd"
    workdir.mkdir(exist_ok=True)
    env = clean_env(can.env())
    env["PYTHONPATH"] = str(ROOT)
    try:
        proc = subprocess.run([sys.executable, str(DRIVER), str(cfg_path)], capture_output=True, text=True,
                              env=env, cwd=workdir, timeout=timeout, start_new_session=True)
    except subprocess.TimeoutExpired as e:
        return ({"error": f"driver timed out after {timeout:.0f} s", "outcomes": {}},
                subprocess.CompletedProcess(e.cmd, -9, _text(e.stdout), _text(e.stderr)))
    try:
        result = json.loads(out_path.read_text())
    except (OSError, ValueError):
        result = {"error": f"no result (exit status {proc.returncode})", "outcomes": {}}
    return result, proc


def _text(b: bytes | str | None) -> str:
    return b.decode("utf-8", "replace") if isinstance(b, bytes) else (b or "")


def _outcome_word(o: dict[str, Any] | None) -> str:
    if o is None:
        return "not run"
    return "accepted" if o.get("status") == "accepted" else str(o.get("reason"))


def _outcome_texts(o: dict[str, Any]) -> list[str]:
    if o.get("status") == "accepted":
        out = []
        for k in o["kernels"]:
            for dev in ("cpu", "cuda"):
                out += [str(v) for v in k[dev].values() if v]
        return out
    return [str(o.get("message", ""))]


# ------------------------------------------------------------------------------ engine

def engine_path(base: Path, reference: dict[str, dict[str, str]], *, trusted: bool = False) -> PathResult:
    """``trusted=True`` skips the static screen (``Unit.trusted``): what every technique does if the
    screen ever lets it through, i.e. the sandbox alone must contain it."""
    t0 = time.monotonic()
    label = "engine-no-screen" if trusted else "engine"
    can = RunCanaries(base, label)
    res = PathResult(label)
    try:
        units = {c.name: render(c, can.ctx(c)) for c in CASES}
        sentinels = iter(sorted(SENTINELS, key=lambda s: int(s.split("_")[1])))
        used: list[str] = []

        def sentinel() -> str:
            name = next(sentinels)
            units[name] = SENTINELS[name]
            used.append(name)
            return name

        ordered = _ordered_cases()
        grouped = [c.name for c in ordered if not c.alone]
        batches = [[*grouped[i:i + ENGINE_BATCH], sentinel()] for i in range(0, len(grouped), ENGINE_BATCH)]
        batches += [[c.name] for c in ordered if c.alone]
        final = [[sentinel(), sentinel()], [sentinel(), sentinel()]]
        options = {"workers": 2, "batch_size": ENGINE_BATCH + 1, "timeout_base": ENGINE_TIMEOUT_BASE,
                   "timeout_per_unit": ENGINE_TIMEOUT_PER_UNIT, "max_ir_kb": 128, "mem_limit_mb": 4096}
        result, proc = run_driver(can, units, [batches, final], trusted=trusted, options=options, timeout=420)
        res.log = (proc.stderr if proc else "")[-3000:]
        outcomes = result.get("outcomes", {})
        names = [c.name for c in CASES]
        if result.get("error"):
            res.findings.append(Finding("(run)", label, "run-health", str(result["error"])[-300:]))
        for c in CASES:
            o = outcomes.get(c.name)
            res.outcome[c.name] = _outcome_word(o)
            if o is None:
                continue
            if o.get("status") == "accepted":
                res.accepted.append(c.name)
                res.findings += can.check_injection(c.name, _outcome_texts(o))
                size = max(len(t) for t in _outcome_texts(o))
                if size > 128 * 1024:
                    res.findings.append(Finding(c.name, label, "size", f"accepted IR of {size // 1024} KB"))
            deadline = ENGINE_TIMEOUT_BASE + ENGINE_TIMEOUT_PER_UNIT * (1 if c.alone else ENGINE_BATCH + 1)
            for t in _outcome_texts(o):
                res.findings += can.check_text(c.name, "its outcome", t, deadline_s=deadline)
        for stream, text in (("driver stdout", proc.stdout if proc else ""), ("driver stderr", proc.stderr if proc else "")):
            res.findings += can.check_text("(run)", stream, text, deadline_s=1e9)
        sentinel_irs = {n: ir_of_outcome(outcomes[n]) for n in used if outcomes.get(n, {}).get("status") == "accepted"}
        missing = [n for n in used if n not in sentinel_irs]
        if missing:
            res.findings.append(Finding("(run)", label, "poison",
                                        f"benign sentinels not accepted: {missing} "
                                        f"({[_outcome_word(outcomes.get(n)) for n in missing]})"))
        res.findings += can.check_poison(sentinel_irs, reference)
        res.findings += can.check_survivors()
        res.findings += can.check_markers(names)
        res.findings += can.check_listener(names)
        res.findings += can.check_decoy(names, " driver got SIGWINCH" if result.get("signals") else "")
    finally:
        can.close()
    res.elapsed_s = time.monotonic() - t0
    return res


# ------------------------------------------------------------------------------ synth run, LLM mode

REPAIR_MARKER = "The Warp kernel below was rejected"
_NO_CODE = "I would rather not write more kernels today."


def fenced(code: str) -> str:
    return f"Here is a new kernel for this category:\n\n```python\n{code}\n```\n"


class HostileLLM:
    """Answers the n-th diversify request with the n-th item (a case or a sentinel), repair
    requests and everything after the last item with a reply without code."""

    def __init__(self, items: list[tuple[str, str]], settle_s: float = 12.0) -> None:
        self.items = items
        # for settle_s after the last item, replies without code are slow (1 s), so the jobs still
        # extracting finish before the run spends its call budget; afterwards they are instant
        self.settle_s = settle_s
        self.last_served = 0.0
        self.next = 0
        self.served: list[str] = []
        self.lock = threading.Lock()

    def __call__(self, request: dict[str, Any], attempt: int) -> Response:
        text = json.dumps(request.get("messages", []))
        if REPAIR_MARKER in text:
            return Response.chat(_NO_CODE)
        with self.lock:
            if self.next >= len(self.items):
                settling = time.monotonic() - self.last_served < self.settle_s
                return Response.chat(_NO_CODE, delay_s=1.0 if settling else 0.0)
            name, code = self.items[self.next]
            self.next += 1
            self.last_served = time.monotonic()
            self.served.append(name)
        return Response.chat(fenced(code))


def _case_of_text(text: str, names: list[str]) -> list[str]:
    return [n for n in names if f"# wsynth-redteam case: {n}\\n" in text or f"# wsynth-redteam case: {n}\n" in text]


def llm_path(base: Path, reference: dict[str, dict[str, str]]) -> PathResult:
    t0 = time.monotonic()
    can = RunCanaries(base, "llm-cli")
    res = PathResult("llm-cli")
    names = [c.name for c in CASES]
    try:
        sentinels = sorted(SENTINELS, key=lambda s: int(s.split("_")[1]))
        items: list[tuple[str, str]] = []
        s_iter = iter(sentinels)
        ordered = _ordered_cases()
        ordered = [c for c in ordered if c.payload in ("poison_warp", "poison_worker")] + \
            [c for c in ordered if c.alone] + \
            [c for c in ordered if not c.alone and c.payload not in ("poison_warp", "poison_worker")]
        for i, c in enumerate(ordered):
            items.append((c.name, render(c, can.ctx(c))))
            if c.payload in ("poison_warp", "poison_worker") or i % 8 == 7:
                s = next(s_iter)
                items.append((s, SENTINELS[s]))
        for _ in range(3):
            s = next(s_iter)
            items.append((s, SENTINELS[s]))
        script = HostileLLM(items)
        out = base / "out"
        budget = 2 * len(items) + 24  # every item and its repair, then replies without code (see HostileLLM)
        with OpenAIServer(script) as server:
            argv = [sys.executable, "-m", "warp_synth.synth.cli", "run", "--category", "arithmetic", "--n", "1000",
                    "--out", str(out), "--no-progress", "--llm-base-url", server.base_url, "--model", "test-model",
                    "--concurrency", "2", "--repair-rounds", "1", "--max-llm-calls", str(budget),
                    "--mutation-rate", "0", "--batch-size", "1", "--timeout", str(CLI_TIMEOUT), "--workers", "2"]
            env = clean_env({**can.env(), "SYNTH_LLM_BACKOFF_BASE": "0.05"})
            try:
                proc = subprocess.run(argv, capture_output=True, text=True, env=env, cwd=ROOT, timeout=420,
                                      start_new_session=True)
                rc, stdout, stderr = proc.returncode, proc.stdout, proc.stderr
            except subprocess.TimeoutExpired as e:
                rc, stdout, stderr = None, _text(e.stdout), _text(e.stderr)
            requests = server.chat_requests()
        res.log = stderr[-3000:]
        if rc == 2 and "lacks sandbox layer" in stderr:
            res.refused = stderr.strip()[-300:]
        elif rc != 0:
            res.findings.append(Finding("(run)", "llm-cli", "run-health",
                                        f"synth run exit status {rc}: {stderr.strip()[-300:]}"))
        served = set(script.served)
        # records
        records: list[dict[str, Any]] = []
        for shard in sorted(out.glob("shard-*.jsonl")):
            for line in shard.read_text().splitlines():
                if line.strip():
                    records.append(json.loads(line))
        sentinel_irs: dict[str, dict[str, str]] = {}
        for rec in records:
            src = rec["python_source"]
            who = _case_of_text(src, names)
            if who:
                c = who[0]
                res.accepted.append(c)
                texts = [v for dev in ("cpu", "cuda") for v in rec["ir"][dev].values() if isinstance(v, str)]
                res.findings += can.check_injection(c, texts)
                size = max(len(t) for t in texts)
                if size > 128 * 1024:
                    res.findings.append(Finding(c, "llm-cli", "size", f"accepted IR of {size // 1024} KB"))
                res.findings += can.check_text(c, "its record", json.dumps(rec), deadline_s=CLI_DEADLINE)
            else:
                for n, s in SENTINELS.items():
                    if rec["python_source"].strip() == s.strip():
                        sentinel_irs[n] = ir_of_record(rec)
                        break
                else:
                    res.findings += can.check_text("(run)", "a record", json.dumps(rec), deadline_s=CLI_DEADLINE)
        # the run ends on its call budget, so the last sentinels may not be extracted in time; the
        # ones served right after the poisoning cases always are, and poison checks need them
        early = [n for n, _ in items[:8] if n in SENTINELS]
        if not all(n in sentinel_irs for n in early) or len(sentinel_irs) < 3:
            res.findings.append(Finding("(run)", "llm-cli", "run-health",
                                        f"benign sentinels not accepted: {sorted(set(early) - set(sentinel_irs))} "
                                        f"({len(sentinel_irs)} accepted): the poisoning check has nothing to compare"))
        res.findings += can.check_poison(sentinel_irs, reference)
        # what the hostile server received: every request body (repair prompts carry messages)
        for q in requests:
            body = json.dumps(q.body)
            who = _case_of_text(body, names) if REPAIR_MARKER in body else []
            case = who[0] if len(who) == 1 else "(run)"
            res.findings += can.check_text(case, "a request to the LLM server", body, deadline_s=CLI_DEADLINE)
        # everything else the run wrote or printed
        for f in sorted(out.glob("*")):
            if f.is_file() and not f.name.startswith("shard-"):
                res.findings += can.check_text("(run)", f"out/{f.name}", f.read_text(errors="replace"),
                                               deadline_s=1e9)
        res.findings += can.check_text("(run)", "synth run stdout", stdout, deadline_s=1e9)
        res.findings += can.check_text("(run)", "synth run stderr", stderr, deadline_s=1e9)
        res.findings += can.check_survivors()
        res.findings += can.check_markers(names)
        res.findings += can.check_listener(names)
        res.findings += can.check_decoy(names)
        # the outcome per case: accepted, else what the repair prompt said, else unsafe/no repair
        repaired = {}
        for q in requests:
            body = json.dumps(q.body)
            if REPAIR_MARKER in body:
                for n in _case_of_text(body, names):
                    idx = body.find("Failure: ")
                    repaired[n] = body[idx + 9: body.find(":", idx + 9)] if idx >= 0 else "rejected"
        for c in CASES:
            if c.name in res.accepted:
                res.outcome[c.name] = "accepted"
            elif c.name in repaired:
                res.outcome[c.name] = repaired[c.name]
            elif c.name in served:
                res.outcome[c.name] = "rejected (not repaired: unsafe/syntax/duplicate/timeout)"
            else:
                res.outcome[c.name] = "not served"
    finally:
        can.close()
    res.elapsed_s = time.monotonic() - t0
    return res


# ------------------------------------------------------------------------------ synth verify

FORGED_IR = "// forged: Warp never generated this\n"


def forged_record(case: Case, source: str) -> dict[str, Any]:
    text = "" if case.verify_ir == "empty" else FORGED_IR
    ir = {dev: {"forward": text, "backward": text} for dev in ("cpu", "cuda")}
    return {"id": f"rt-{case.name}", "kernel_name": f"scale_{case.name}", "kernel_type": "arithmetic",
            "python_source": source, "ir": ir, "origin": "llm", "generated_at": "2025-01-01T00:00:00+00:00",
            "metadata": {"model": "test-model"}, "parent_id": None}


def verify_path(base: Path, *, screened: bool = True) -> PathResult:
    """``screened=False`` runs ``synth verify --no-screen`` (the flag for records mined from trusted
    code): the sandbox alone must contain every forged record."""
    from warp_synth.shards import parse_line

    t0 = time.monotonic()
    label = "verify" if screened else "verify-no-screen"
    can = RunCanaries(base, label)
    res = PathResult(label)
    names = [c.name for c in CASES]
    try:
        data = base / "dataset"
        data.mkdir()
        lines = []
        for c in CASES:
            line = json.dumps(forged_record(c, render(c, can.ctx(c))))
            parse_line(line)  # the forged records are well-formed: synth verify reads them
            lines.append(line)
        (data / "shard-00000.jsonl").write_text("\n".join(lines) + "\n")
        argv = [sys.executable, "-m", "warp_synth.synth.cli", "verify", str(data), "--workers", "3",
                *([] if screened else ["--no-screen"])]
        try:
            proc = subprocess.run(argv, capture_output=True, text=True, env=clean_env(can.env()), cwd=ROOT,
                                  timeout=420, start_new_session=True)
            rc, stdout, stderr = proc.returncode, proc.stdout, proc.stderr
        except subprocess.TimeoutExpired as e:
            rc, stdout, stderr = None, _text(e.stdout), _text(e.stderr)
        res.log = (stdout + stderr)[-3000:]
        if rc == 2 and "lacks sandbox layer" in stderr:
            res.refused = stderr.strip()[-300:]
        elif rc not in (0, 1):
            res.findings.append(Finding("(run)", label, "run-health", f"synth verify exit status {rc}: {stderr[-300:]}"))
        mismatched: dict[str, str] = {}
        for line in stdout.splitlines():
            if line.startswith("MISMATCH rt-"):
                rid, _, detail = line[len("MISMATCH rt-"):].partition(": ")
                mismatched[rid] = detail
                res.findings += can.check_text(rid if rid in BY_NAME else "(run)", "synth verify's report", line,
                                               deadline_s=VERIFY_DEADLINE)
            else:
                res.findings += can.check_text("(run)", "synth verify stdout", line, deadline_s=VERIFY_DEADLINE)
        res.findings += can.check_text("(run)", "synth verify stderr", stderr, deadline_s=VERIFY_DEADLINE)
        summary = [ln for ln in stdout.splitlines() if ln.startswith("verified ")]
        for c in CASES:
            if c.name in mismatched:
                res.outcome[c.name] = "mismatch: " + mismatched[c.name][:80]
            elif summary:
                res.outcome[c.name] = "verified"
                res.accepted.append(c.name)
                ir = "empty strings" if c.verify_ir == "empty" else repr(FORGED_IR.strip())
                res.findings.append(Finding(c.name, label, "forged-ir",
                                            f"synth verify passed a record whose IR is {ir}"))
            else:
                res.outcome[c.name] = "not verified"
        res.findings += can.check_survivors()
        res.findings += can.check_markers(names)
        res.findings += can.check_listener(names)
        res.findings += can.check_decoy(names)
    finally:
        can.close()
    res.elapsed_s = time.monotonic() - t0
    return res
