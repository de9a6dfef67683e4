"""Fixtures for tests/synth.

``compile_sources`` compiles module sources with Warp for CPU and CUDA (NVRTC, sm_75 PTX) in ONE
fresh subprocess and returns, in input order, True or the error text.  It stands in for
``extract.engine.check_sources`` until the tests switch to the engine.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

import pytest

_WORKER = r"""
import importlib.util, json, os, sys, tempfile, traceback
os.environ["WARP_CACHE_PATH"] = tempfile.mkdtemp()
import warp as wp
wp.config.quiet = True
wp.init()
results = []
for k, path in enumerate(sys.argv[2:]):
    name = f"synth_mut_{k}"
    try:
        spec = importlib.util.spec_from_file_location(name, path)
        m = importlib.util.module_from_spec(spec)
        sys.modules[name] = m
        spec.loader.exec_module(m)
        wm = wp.get_module(name)
        wm.options["optimization_level"] = 0
        wp.compile_aot_module(wm, device="cpu", arch=[75], module_dir=tempfile.mkdtemp(), use_ptx=True)
        results.append(True)
    except Exception as e:
        results.append(f"{type(e).__name__}: {e}"[-2000:])
with open(sys.argv[1], "w") as f:
    json.dump(results, f)
"""


def compile_in_subprocess(sources: list[str], timeout: float = 600.0) -> list[bool | str]:
    with tempfile.TemporaryDirectory() as tmp:
        paths = []
        for k, src in enumerate(sources):
            p = Path(tmp) / f"synth_mut_{k}.py"
            p.write_text(src)
            paths.append(str(p))
        out = Path(tmp) / "results.json"
        proc = subprocess.run(
            [sys.executable, "-c", _WORKER, str(out), *paths], capture_output=True, text=True, timeout=timeout
        )
        if not out.exists():
            return [f"worker crashed: {proc.stderr[-2000:]}"] * len(sources)
        return json.loads(out.read_text())


@pytest.fixture
def compile_sources() -> Callable[[list[str]], list[bool | str]]:
    return compile_in_subprocess
