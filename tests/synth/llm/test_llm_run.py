"""`synth run` in LLM mode, through the real openai client over HTTP to a loopback server."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

from tests.support.cli import read_records, run_synth
from tests.support.openai_server import OpenAIServer, Response
from warp_synth.synth.llm.messages import REPAIR_MARKER

pytestmark = pytest.mark.timeout(600)

ROOT = Path(__file__).resolve().parents[2]


def kernel(name: str, c: float, *, broken: bool = False) -> str:
    rhs = "v + 1" if broken else f"v * {c}"  # float + int does not type-check in Warp
    return (f"import warp as wp\n\n@wp.kernel\ndef {name}(a: wp.array(dtype=float), b: wp.array(dtype=float)):\n"
            f"    i = wp.tid()\n    v = wp.sin(a[i]) + {c}\n    b[i] = {rhs}\n")


def fenced(code: str) -> str:
    return f"Here is the kernel:\n\n```python\n{code}```\n"


synth, rows = run_synth, read_records


class Scripted:
    """Diversify requests get the scripted sequence in order; repair prompts get the fix."""

    def __init__(self, canary: Path) -> None:
        hostile = (f"import warp as wp\nopen({str(canary)!r}, 'w').write('pwned')\n\n@wp.kernel\n"
                   "def evil(a: wp.array(dtype=float)):\n    a[wp.tid()] = 1.0\n")
        self.plan = [
            ("429", Response.chat(fenced(kernel("alpha", 1.5)))),
            ("ok", Response.chat(fenced(kernel("beta", 2.5, broken=True)))),
            ("ok", Response.chat(fenced(hostile))),
            ("ok", Response.chat("I cannot help with that, but here is some advice: use wp.tid().")),
            ("500", Response.chat(fenced(kernel("gamma", 3.5)))),
        ] + [("ok", Response.chat(fenced(kernel(f"extra{i}", 4.5 + i)))) for i in range(20)]
        self.fix = Response.chat(fenced(kernel("beta", 2.5)))
        self.next = 0
        self.lock = threading.Lock()
        self.by_body: dict[str, tuple[str, Response]] = {}

    def __call__(self, request: dict, attempt: int) -> Response:
        text = json.dumps(request["messages"])
        if REPAIR_MARKER in text:
            return self.fix
        with self.lock:
            if text not in self.by_body:
                self.by_body[text] = self.plan[min(self.next, len(self.plan) - 1)]
                self.next += 1
            mode, reply = self.by_body[text]
        if attempt == 1 and mode == "429":
            return Response.error(429, "slow down", headers={"Retry-After": "1"})
        if attempt == 1 and mode == "500":
            return Response.error(500, "boom")
        return reply


def numbered_kernels(prefix: str):
    """A server script whose every reply is a new valid kernel: ``<prefix>0``, ``<prefix>1``, ..."""
    counter = iter(range(10**6))
    lock = threading.Lock()

    def script(req: dict, attempt: int) -> Response:
        with lock:
            i = next(counter)
        return Response.chat(fenced(kernel(f"{prefix}{i}", 1.0 + i)))

    return script


def test_llm_mode_end_to_end(tmp_path):
    canary = tmp_path / "canary"
    script = Scripted(canary)
    out = tmp_path / "llm"
    with OpenAIServer(script) as server:
        r = synth("run", "--category", "arithmetic", "--n", "4", "--out", str(out), "--no-progress",
                  "--llm-base-url", server.base_url, "--model", "test-model", "--concurrency", "1",
                  "--mutation-rate", "0", env_extra={"SYNTH_LLM_BACKOFF_BASE": "0.05"})
        requests = server.chat_requests()
    assert r.returncode == 0, r.stderr
    recs = rows(out)
    by_name = {x["kernel_name"]: x for x in recs}
    assert set(by_name) == {"alpha", "beta", "gamma", "extra0"}
    assert by_name["alpha"]["origin"] == "llm" and by_name["gamma"]["origin"] == "llm"
    beta = by_name["beta"]
    assert beta["origin"] == "llm-repair" and beta["metadata"]["repair_rounds"] == 1
    assert beta["parent_id"] and beta["metadata"]["model"] == "test-model"
    assert beta["metadata"]["usage"]["prompt_tokens"] > 0
    assert not canary.exists()  # the hostile reply was screened out, never run

    repair = [q for q in requests if REPAIR_MARKER in json.dumps(q.messages)]
    assert len(repair) == 1
    prompt = json.dumps(repair[0].messages)
    assert "Input types must be the same, got ['float32', 'int32']" in prompt

    stats = json.loads((out / "stats.json").read_text())
    llm = stats["llm"]
    assert llm["replies_without_code"] == 1 and llm["unsafe_replies"] == 1
    assert llm["first_try_accepted"] == 3
    assert llm["repair_success_by_round"] == {"1": {"tried": 1, "accepted": 1}}
    assert llm["client"]["retries"] == 2  # one for the 429, one for the 500
    assert llm["llm_calls"] == 7 and llm["client"]["http_attempts"] == 9
    assert stats["accepted_by_origin"] == {"llm": 3, "llm-repair": 1}


@pytest.mark.parametrize(
    ("server_kwargs", "model", "expected"),
    [
        ({"api_key": "sk-right"}, "test-model", "401"),
        ({}, "no-such-model", "404"),
    ],
)
def test_fatal_statuses_stop_the_run_with_one_line(tmp_path, server_kwargs, model, expected):
    with OpenAIServer(lambda req, n: Response.chat("x"), **server_kwargs) as server:
        r = synth("run", "--category", "loop", "--n", "2", "--out", str(tmp_path / "o"), "--no-progress",
                  "--llm-base-url", server.base_url, "--model", model, "--concurrency", "1", env_extra={"SYNTH_LLM_API_KEY": "sk-wrong"})
        attempts = len(server.chat_requests())
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("synth run: error: ") and expected in lines[0]
    assert attempts == 1


def test_max_llm_calls_ends_cleanly_with_what_was_accepted(tmp_path):
    script = numbered_kernels("k")
    out = tmp_path / "o"
    with OpenAIServer(script) as server:
        r = synth("run", "--category", "math", "--n", "50", "--out", str(out), "--no-progress",
                  "--llm-base-url", server.base_url, "--model", "test-model", "--max-llm-calls", "3",
                  "--concurrency", "2", "--mutation-rate", "0")
        calls = len(server.chat_requests())
    assert r.returncode == 0, r.stderr
    assert "stopped: the LLM call budget (3) is spent" in r.stderr
    assert calls == 3 and len(rows(out)) == 3


def test_accepted_llm_kernels_are_mutated_further(tmp_path):
    script = numbered_kernels("m")
    out = tmp_path / "o"
    with OpenAIServer(script) as server:
        r = synth("run", "--category", "math", "--n", "8", "--out", str(out), "--no-progress",
                  "--llm-base-url", server.base_url, "--model", "test-model", "--concurrency", "2",
                  "--mutation-rate", "1")
    assert r.returncode == 0, r.stderr
    recs = rows(out)
    assert len(recs) == 8 and len({x["id"] for x in recs}) == 8
    llm_ids = {x["id"] for x in recs if x["origin"] == "llm"}
    mutants = [x for x in recs if x["origin"] == "mutation"]
    assert mutants and all(m["parent_id"] in llm_ids or m["parent_id"] for m in mutants)
    assert all(m["metadata"]["provenance"]["operators"] for m in mutants)
