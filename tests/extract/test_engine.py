"""The batched, isolated extraction engine on real Warp codegen and compilers."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.support.units import ENV_SPY, HANG, NATIVE_BROKEN, SEGFAULT
from warp_synth.extract.engine import ExtractOptions, Extractor
from warp_synth.records import Accepted, Rejected, Unit

pytestmark = pytest.mark.timeout(600)

def test_batch_with_one_broken_kernel_yields_all_good_ones(extractor, good):
    units = [Unit(f"g{i}", good(i)) for i in range(10)]
    units.insert(4, Unit("bad", NATIVE_BROKEN.format(n=0), trusted=True))
    outs = extractor.extract(units)
    assert [o.key for o in outs] == [u.key for u in units]
    bad = outs[4]
    assert isinstance(bad, Rejected) and bad.reason == "cpu_compile"
    assert "undefined_symbol_0" in bad.message
    assert all(isinstance(o, Accepted) for i, o in enumerate(outs) if i != 4)


def test_codegen_error_is_typed_with_python_line(extractor, good):
    src = good(1).replace("b[i] = v", "b[i] = v + 1")  # float + int: Warp rejects the types
    [out] = extractor.extract([Unit("x", src)])
    assert isinstance(out, Rejected) and out.reason == "codegen"
    assert out.line == 13
    assert "Input types must be the same" in out.message and "kernel.py:13" in out.message


def test_syntax_error_is_typed():
    with Extractor(ExtractOptions(workers=1)) as ex:
        [out] = ex.extract([Unit("s", "import warp as wp\n@wp.kernel\ndef k(:\n")])
    assert isinstance(out, Rejected) and out.reason == "syntax" and out.line == 3


def test_forward_backward_split_and_ptx(good):
    with Extractor(ExtractOptions(workers=1, with_ptx=True)) as ex:
        [out] = ex.extract([Unit("p", good(7))])
    assert isinstance(out, Accepted)
    [k] = out.kernels
    m = k.mangled_name
    assert k.kernel_name == "good_7" and m.startswith("good_7_")
    assert k.cpu.forward.startswith("template <bool wp_linear_contiguous>\nstatic void " + m + "_cpu_kernel_forward(")
    assert k.cpu.backward.splitlines()[1].startswith(f"static void {m}_cpu_kernel_backward(")
    assert k.cuda.forward.startswith(f'extern "C" __global__ void {m}_cuda_kernel_forward(')
    assert f"{m}_cuda_kernel_backward(" in k.cuda.backward.splitlines()[0]
    assert k.cpu.forward.rstrip().endswith("}") and "_backward" not in k.cpu.forward
    assert "static wp::float32 shape_0(" in k.cpu.helpers and "// kernel.py:3" in k.cpu.helpers
    assert k.cuda.ptx is not None and k.cuda.ptx.startswith(f".visible .entry {m}_cuda_kernel_forward(")
    assert k.num_params == 3 and k.arg_types["k"] == "float32"
    assert {"sin", "tid"} <= set(k.builtins)


def test_workers_report_cpu_seconds_per_phase(good):
    with Extractor(ExtractOptions(workers=1, batch_size=4)) as ex:
        outs = ex.extract([Unit(f"g{i}", good(i)) for i in range(4)])
        stats = ex.stats
    assert all(isinstance(o, Accepted) for o in outs)
    assert stats["batches"] == 1 and stats["worker_starts"] == 1
    for phase in ("startup_s", "codegen_s", "cpu_compile_s", "cuda_compile_s"):
        assert stats[phase] > 0, phase
    # the first CPU compile of a fresh worker builds the precompiled header: it dominates
    assert stats["cpu_compile_s"] > stats["codegen_s"]


def test_untrusted_phase_seconds_are_screened():
    from warp_synth.extract.executors.local import reported_seconds

    assert reported_seconds({"codegen": 0.5, "cuda_compile": 2}, limit=60) == {"codegen_s": 0.5, "cuda_compile_s": 2.0}
    bad = {"codegen": -1, "cpu_compile": float("nan"), "cuda_compile": 1e9, "startup": "3", "batches": 7}
    assert reported_seconds(bad, limit=60) == {}
    assert reported_seconds(["codegen", 1], limit=60) == {}


def test_a_crashing_unit_dies_alone_and_the_run_goes_on(good):
    with Extractor(ExtractOptions(workers=1, batch_size=8)) as ex:
        units = [Unit(f"g{i}", good(i)) for i in range(5)]
        units.insert(2, Unit("segv", SEGFAULT, trusted=True))
        outs = ex.extract(units)
        stats = ex.stats
    crash = outs[2]
    assert isinstance(crash, Rejected) and crash.reason == "crash" and "signal 11" in crash.message
    assert all(isinstance(o, Accepted) for i, o in enumerate(outs) if i != 2)
    assert stats["worker_restarts"] == 0  # the unit's own process died; the worker and the batch went on


def test_hanging_worker_is_killed_and_replaced(good):
    opts = ExtractOptions(workers=1, batch_size=4, timeout_base=8.0, timeout_per_unit=0.0)
    with Extractor(opts) as ex:
        units = [Unit("g0", good(0)), Unit("hang", HANG, trusted=True), Unit("g1", good(1))]
        outs = ex.extract(units)
        stats = ex.stats
    assert isinstance(outs[1], Rejected) and outs[1].reason == "timeout"
    assert isinstance(outs[0], Accepted) and isinstance(outs[2], Accepted)
    assert stats["timeouts"] >= 1


def test_workers_get_no_secrets_and_clean_up(tmp_path, monkeypatch, good):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-secret-canary-123")
    monkeypatch.setenv("SYNTH_LLM_API_KEY", "sk-secret-canary-456")
    with Extractor(ExtractOptions(workers=1)) as ex:
        [out] = ex.extract([Unit("spy", ENV_SPY, trusted=True)])
        folder = ex.pool._all[0].workdir
        assert os.path.isdir(folder)
    assert isinstance(out, Rejected) and out.message.startswith("RuntimeError: ENV ")
    seen = out.message
    assert "sk-secret-canary" not in seen and "WARP_CACHE_PATH" in seen and " PROC " in seen
    assert not os.path.exists(folder)  # the worker's directory (caches, sources, objects) is gone


def test_worker_disk_stays_flat_over_batches(good):
    with Extractor(ExtractOptions(workers=1, batch_size=4)) as ex:
        worker = ex.pool._all[0]
        sizes = []
        for b in range(4):
            ex.extract([Unit(f"b{b}_{i}", good(b * 10 + i)) for i in range(4)])
            total = 0
            for root, _dirs, files in os.walk(worker.workdir):
                total += sum(os.path.getsize(os.path.join(root, f)) for f in files)
            sizes.append(total)
    # after the first batch (precompiled headers) nothing accumulates per batch
    assert max(sizes[1:]) - sizes[1] < 256 * 1024, sizes


def test_hostile_sources_are_rejected_unsafe_and_never_run(tmp_path, extractor, good):
    canary = tmp_path / "canary"
    touch = f"open({str(canary)!r}, 'w')"
    hostile = {
        "annotation": f"import warp as wp\n@wp.kernel\ndef k(a: {touch}):\n    pass\n",
        "default": f"import warp as wp\n@wp.func\ndef f(x: float, y: float = {touch}) -> float:\n    return x\n"
                   "@wp.kernel\ndef k(a: wp.array(dtype=float)):\n    a[0] = f(1.0)\n",
        "static": f"import warp as wp\n@wp.kernel\ndef k(a: wp.array(dtype=float)):\n    a[0] = wp.static({touch})\n",
        "toplevel": f"import warp as wp\n{touch}\n@wp.kernel\ndef k(a: wp.array(dtype=float)):\n    a[0] = 1.0\n",
        "subclasses": "import warp as wp\nX = [c for c in ().__class__.__bases__[0].__subclasses__()]\n"
                      "@wp.kernel\ndef k(a: wp.array(dtype=float)):\n    a[0] = 1.0\n",
        "decorator": f"import warp as wp\n@({touch} and wp.kernel)\ndef k(a: wp.array(dtype=float)):\n    a[0] = 1.0\n",
        "string_annotation": f"import warp as wp\n@wp.kernel\ndef k(a: \"{touch}\"):\n    pass\n",
        "import": f"import warp as wp\nimport os\nos.system('touch {canary}')\n",
    }
    units = [Unit(name, src) for name, src in hostile.items()] + [Unit("fine", good(3))]
    outs = extractor.extract(units)
    for o in outs[:-1]:
        assert isinstance(o, Rejected) and o.reason == "unsafe", o
    assert isinstance(outs[-1], Accepted)
    assert not canary.exists()


def test_a_worker_whose_parent_dies_removes_its_own_folder():
    from warp_synth.extract.executors.local import PoolOptions, PoolStats, WorkerProcess

    w = WorkerProcess(PoolOptions(), PoolStats())
    w.start()
    workdir, proc = w.workdir, w.proc
    assert os.path.isdir(workdir)
    proc.stdin.close()  # what the worker sees when its parent is killed with -9
    proc.wait(timeout=60)
    assert not os.path.exists(workdir)
    w.proc = None
    w.stop()


def test_folders_of_dead_runs_are_swept_and_live_or_unmarked_ones_kept(tmp_path):
    """A run killed together with its workers leaves its folder; the next pool removes it, and
    only it: a folder with a live owner, or with no pid record yet, is someone else's."""
    from warp_synth.extract.executors.supervisor import sweep_stale_folders

    dead = subprocess.Popen(["true"])  # a pid that has exited (and been reaped)
    dead.wait()
    for name, pids in {"wsynth-worker-dead": f"{dead.pid} {dead.pid}", "wsynth-worker-live": f"{dead.pid} {os.getpid()}",
                       "wsynth-worker-new": None, "other-dead": f"{dead.pid}"}.items():
        d = tmp_path / name
        (d / "tmp").mkdir(parents=True)
        if pids is not None:
            (d / "owners.pid").write_text(pids + "\n")
    assert sweep_stale_folders("wsynth-worker-", str(tmp_path)) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["other-dead", "wsynth-worker-live", "wsynth-worker-new"]


def test_a_live_pool_marks_its_worker_folders_with_both_owners(good):
    from warp_synth.extract.executors.local import PoolOptions, PoolStats, WorkerProcess

    w = WorkerProcess(PoolOptions(), PoolStats())
    w.start()
    try:
        assert w.proc is not None
        owners = (Path(w.workdir) / "owners.pid").read_text().split()
        assert owners == [str(os.getpid()), str(w.proc.pid)]
    finally:
        w.stop()
