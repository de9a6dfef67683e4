"""Accepted LLM pairs/s of `synth run` in LLM mode against a loopback OpenAI-compatible server
that answers every request after a fixed delay (default 1 s) with a fresh, valid kernel.

    python benchmarks/llm_throughput.py --n 300 --concurrency 16 --delay 1.0

The server is the tests' real HTTP server (tests/support/openai_server.py) on 127.0.0.1; the
run goes through the real `openai` client, the screen, and the isolated batched extraction
engine (`--mutation-rate 0`: every record is an LLM pair).  Replies are template kernels (a different
one per request), so the figure measures
the pipeline, not a model.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # the loopback server lives in tests/support (warp_synth is the installed one)

from tests.support.openai_server import OpenAIServer, Response  # noqa: E402
from warp_synth.records import CATEGORIES  # noqa: E402
from warp_synth.synth.templates import TemplateSource  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=300)
    ap.add_argument("--concurrency", type=int, default=16)
    ap.add_argument("--delay", type=float, default=1.0, help="seconds before the server answers each request")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--batch-size", type=int, default=16)
    args = ap.parse_args()

    source = TemplateSource(2024)
    lock = threading.Lock()
    counter = itertools.count()

    def script(request: dict, attempt: int) -> Response:
        with lock:
            cat = CATEGORIES[next(counter) % len(CATEGORIES)]
            code = source.sample(cat).source
        return Response.chat(f"```python\n{code}```", delay_s=args.delay)

    out = Path(tempfile.mkdtemp(prefix="bench-llm-")) / "run"
    with OpenAIServer(script) as server:
        env = dict(os.environ)
        t0 = time.perf_counter()
        r = subprocess.run([sys.executable, "-m", "warp_synth.synth.cli", "run", "--category", "all", "--n", str(args.n),
                            "--out", str(out), "--no-progress", "--llm-base-url", server.base_url,
                            "--model", "test-model", "--concurrency", str(args.concurrency),
                            "--workers", str(args.workers), "--batch-size", str(args.batch_size),
                            "--mutation-rate", "0"],
                           capture_output=True, text=True, env=env, cwd=ROOT)
        wall = time.perf_counter() - t0
        max_in_flight = server.max_in_flight
    if r.returncode != 0:
        sys.exit(f"run failed: {r.stderr.strip()}")
    stats = json.loads((out / "stats.json").read_text())
    llm_pairs = sum(v for k, v in stats["accepted_by_origin"].items() if k.startswith("llm"))
    print(f"accepted LLM pairs: {llm_pairs} in {stats['elapsed_s']:.1f} s of run time ({wall:.1f} s wall incl. start)")
    print(f"accepted LLM pairs/s: {llm_pairs / stats['elapsed_s']:.2f}  (server delay {args.delay} s, "
          f"--concurrency {args.concurrency}, max in flight seen by server {max_in_flight})")
    print(f"LLM calls: {stats['llm']['llm_calls']}, rejected: {stats['rejected']}")


if __name__ == "__main__":
    from _scratch import scratch

    with scratch("bench-llm-"):
        main()
