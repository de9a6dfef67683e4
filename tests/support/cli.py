"""Run the real `synth` command line in a subprocess and read the records it wrote."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]


def _env(env_extra: dict[str, str] | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not (k.startswith("SYNTH_LLM_") or k == "OPENAI_API_KEY")}
    env.update(env_extra or {})
    return env


def run_synth(*args: str, env_extra: dict[str, str] | None = None,
              timeout: float = 600) -> subprocess.CompletedProcess[str]:
    """``python -m warp_synth.synth.cli ARGS``; LLM settings of the caller's environment are dropped
    (a test names its endpoint explicitly) unless given in ``env_extra``."""
    return subprocess.run([sys.executable, "-m", "warp_synth.synth.cli", *args], capture_output=True, text=True,
                          env=_env(env_extra), cwd=ROOT, timeout=timeout)


def start_synth(*args: str, **popen: Any) -> subprocess.Popen[str]:
    """``python -m warp_synth.synth.cli ARGS`` started in the background (same environment as ``run_synth``);
    ``popen`` goes to ``subprocess.Popen`` (streams, ``start_new_session``)."""
    return subprocess.Popen([sys.executable, "-m", "warp_synth.synth.cli", *args], text=True, env=_env(None), cwd=ROOT,
                            **popen)


def read_records(out: Path) -> list[dict]:
    """Every record of a dataset folder, shard by shard, in file order."""
    rows: list[dict] = []
    for shard in sorted(out.glob("shard-*.jsonl")):
        rows += [json.loads(line) for line in shard.read_text().splitlines()]
    return rows
