"""`--executor ray`: the extraction pool as Ray actors, on a real local Ray instance."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from warp_synth.errors import UserError
from warp_synth.extract.engine import ExtractOptions, Extractor
from warp_synth.extract.executors.local import PoolOptions
from warp_synth.identity import normalized_source
from warp_synth.records import Accepted, Rejected, Unit

ray = pytest.importorskip("ray", reason="the 'ray' extra is not installed (pip install 'warp-synth[ray]')")

from tests.support.cli import read_records, run_synth, start_synth  # noqa: E402
from tests.support.units import ENV_SPY, HANG, NATIVE_BROKEN, SEGFAULT  # noqa: E402
from warp_synth.extract.executors.ray import RAY_MISSING, RayExecutorError, RayWorkerPool  # noqa: E402

pytestmark = [pytest.mark.timeout(900), pytest.mark.slow]

CANARY = "sk-ray-canary-789"

SLOW = '''import time
import warp as wp
time.sleep({seconds})

@wp.kernel
def slow_{n}(a: wp.array(dtype=float)):
    a[wp.tid()] = 2.0
'''


@pytest.fixture(scope="module", autouse=True)
def ray_cluster():
    """A real local Ray instance whose processes inherit an API key from the driver's environment."""
    old = os.environ.get("OPENAI_API_KEY")
    os.environ["OPENAI_API_KEY"] = CANARY
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        yield
    finally:
        ray.shutdown()
        if old is None:
            os.environ.pop("OPENAI_API_KEY", None)
        else:
            os.environ["OPENAI_API_KEY"] = old


def ray_extractor(**options: object) -> Extractor:
    return Extractor(ExtractOptions(executor="ray", **{"workers": 2, **options}))  # type: ignore[arg-type]


def test_batch_with_one_broken_kernel_yields_all_good_ones(good):
    with ray_extractor(batch_size=16) as ex:
        units = [Unit(f"g{i}", good(i)) for i in range(10)]
        units.insert(4, Unit("bad", NATIVE_BROKEN.format(n=0), trusted=True))
        outs = ex.extract(units)
        stats = ex.stats
    assert [o.key for o in outs] == [u.key for u in units]
    bad = outs[4]
    assert isinstance(bad, Rejected) and bad.reason == "cpu_compile" and "undefined_symbol_0" in bad.message
    assert all(isinstance(o, Accepted) for i, o in enumerate(outs) if i != 4)
    assert stats["batches"] >= 1 and stats["worker_starts"] == 2 and stats["crashes"] == 0


def test_segfault_and_hang_are_isolated_and_the_actors_go_on(good):
    with ray_extractor(batch_size=4, timeout_base=20.0, timeout_per_unit=0.0) as ex:
        crash_batch = [Unit("g0", good(0)), Unit("segv", SEGFAULT, trusted=True), Unit("g1", good(1))]
        hang_batch = [Unit("g2", good(2)), Unit("hang", HANG, trusted=True), Unit("g3", good(3))]
        crash_f, hang_f = ex.submit_batch(crash_batch), ex.submit_batch(hang_batch)
        crash, hang = crash_f.result(), hang_f.result()
        after = ex.extract([Unit("g4", good(4)), Unit("g5", good(5))])  # both slots still serve
        stats = ex.stats
    assert isinstance(crash[1], Rejected) and crash[1].reason == "crash" and "signal 11" in crash[1].message
    assert isinstance(hang[1], Rejected) and hang[1].reason == "timeout"
    assert all(isinstance(o, Accepted) for o in [crash[0], crash[2], hang[0], hang[2], *after])
    assert stats["timeouts"] >= 1 and stats["worker_restarts"] == 0  # units' processes died; the workers went on


def test_ray_workers_inherit_the_drivers_secrets_but_loaded_code_never_sees_them(tmp_path):
    @ray.remote(num_cpus=1)
    def actor_env() -> str:
        return os.environ.get("OPENAI_API_KEY", "")

    # Ray workers of a local instance do inherit the driver's environment ...
    assert ray.get(actor_env.remote()) == CANARY
    with ray_extractor() as ex:
        [out] = ex.extract([Unit("spy", ENV_SPY, trusted=True)])
    assert isinstance(out, Rejected) and out.message.startswith("RuntimeError: ENV ")
    seen = out.message
    # ... but kernel source only ever runs in the worker subprocess, whose environment is explicit
    assert CANARY not in seen and "WARP_CACHE_PATH" in seen and "RAY_" not in seen


def slot_folders() -> set[Path]:
    return set(Path(tempfile.gettempdir()).glob("wsynth-ray-*"))


def test_a_batch_survives_the_death_of_its_actor_and_nothing_leaks(good):
    before = slot_folders()
    with RayWorkerPool(PoolOptions(workers=2)) as pool:
        units = [Unit("slow", SLOW.format(seconds=8, n=0), trusted=True), Unit("g0", good(0))]
        fut = pool.submit(units)  # the first idle actor takes it
        victim = pool._actors[0]
        time.sleep(3)
        assert not fut.done()
        pids = [int((d / "worker.pid").read_text()) for d in slot_folders() - before]
        assert len(pids) == 2
        ray.kill(victim, no_restart=False)  # as if its node were lost: Ray restarts the actor
        outs = fut.result(timeout=300)
        stats = pool.stats.to_dict()
        again = pool.run([Unit("g1", good(1))])  # the restarted actor serves again
        pool.run([Unit("g2", good(2))])
    assert [type(o) for o in outs] == [Accepted, Accepted] and isinstance(again[0], Accepted)
    assert stats["worker_restarts"] >= 1
    # the dead actor's orphaned worker was killed by its successor, and every slot folder is gone
    time.sleep(1)
    for pid in pids:
        assert not Path(f"/proc/{pid}").exists() or "Z" in Path(f"/proc/{pid}/stat").read_text().split()[2]
    assert slot_folders() <= before


def test_too_few_cpus_and_missing_ray_are_one_line_errors(monkeypatch):
    with pytest.raises(RayExecutorError) as e:
        RayWorkerPool(PoolOptions(workers=3))
    assert str(e.value) == "the Ray cluster has 2 CPUs but --workers 3 needs one per worker; " \
                           "lower --workers or add nodes"
    monkeypatch.setitem(sys.modules, "ray", None)  # as if the extra were not installed
    with pytest.raises(RayExecutorError) as e:
        RayWorkerPool(PoolOptions(workers=1))
    assert str(e.value) == RAY_MISSING == "--executor ray needs the 'ray' extra: pip install 'warp-synth[ray]'"
    assert isinstance(e.value, UserError)


# ---------------------------------------------------------------------- synth run --executor ray
synth, records = run_synth, read_records


N = 40
RUN = ["run", "--category", "all", "--n", str(N), "--seed", "5", "--offline", "--no-progress"]


@pytest.fixture(scope="module")
def local_ids(tmp_path_factory) -> set[str]:
    out = tmp_path_factory.mktemp("local") / "out"
    r = synth(*RUN, "--executor", "local", "--out", str(out))
    assert r.returncode == 0, r.stderr
    return {rec["id"] for rec in records(out)}


def test_synth_run_on_ray_gives_exactly_n_unique_verifiable_records_like_local(tmp_path, local_ids):
    out = tmp_path / "ray"
    r = synth(*RUN, "--executor", "ray", "--out", str(out))
    assert r.returncode == 0, r.stderr
    rows = records(out)
    ids = [rec["id"] for rec in rows]
    assert len(rows) == N and len(set(ids)) == N
    assert len({normalized_source(rec["python_source"]) for rec in rows}) == N
    assert set(ids) == local_ids  # same seed, same kernels, whichever executor
    stats = json.loads((out / "stats.json").read_text())
    assert stats["records"] == N and stats["finished"] is True and stats["accepted"] == N
    assert stats["engine"]["worker_starts"] >= 2 and stats["engine"]["batches"] >= 1
    v = synth("verify", str(out), "--sample", "3")
    assert v.returncode == 0, v.stdout + v.stderr


def test_ray_run_killed_with_9_resumes_to_exactly_n(tmp_path, local_ids):
    before = slot_folders()
    out = tmp_path / "killed"
    common = [*RUN, "--executor", "ray", "--batch-size", "4", "--out", str(out)]
    proc = start_synth(*common, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and len(records(out) if out.exists() else []) < N // 3:
        time.sleep(0.2)
    os.killpg(proc.pid, signal.SIGKILL)  # the driver and the Ray instance it started
    proc.wait()
    partial = records(out)
    assert N // 3 <= len(partial) < N

    r = synth(*common)
    assert r.returncode == 0, r.stderr
    assert "resuming" in r.stderr
    rows = records(out)
    ids = [rec["id"] for rec in rows]
    assert len(rows) == N and len(set(ids)) == N and set(ids) == local_ids
    assert len({normalized_source(rec["python_source"]) for rec in rows}) == N
    assert json.loads((out / "stats.json").read_text())["finished"] is True
    # the killed run's slot folders (PCH and all, ~80 MB each) were swept by the run that resumed it
    assert slot_folders() <= before


def test_llm_mode_on_ray_keeps_chat_requests_in_the_driver(tmp_path):
    from tests.support.openai_server import OpenAIServer, Response

    count = iter(range(10_000))

    def reply(_request: dict, _attempt: int) -> Response:
        i = next(count)
        return Response.chat(f"```python\nimport warp as wp\n\n@wp.kernel\ndef llm_{i}(a: wp.array(dtype=float)):\n"
                             f"    i = wp.tid()\n    a[i] = wp.sin(a[i]) * {1.5 + i}\n```\n")

    out = tmp_path / "llm"
    with OpenAIServer(reply) as server:
        r = synth("run", "--category", "arithmetic", "--n", "3", "--out", str(out), "--no-progress",
                  "--llm-base-url", server.base_url, "--model", "test-model", "--concurrency", "2", "--mutation-rate", "0",
                  "--executor", "ray")
    assert r.returncode == 0, r.stderr
    rows = records(out)
    assert len(rows) == 3 and {rec["origin"] for rec in rows} == {"llm"}
    stats = json.loads((out / "stats.json").read_text())
    assert stats["engine"]["worker_starts"] >= 2 and stats["llm"]["first_try_accepted"] == 3


def test_synth_run_reports_a_missing_cluster_in_one_line(tmp_path):
    r = synth(*RUN, "--executor", "ray", "--ray-address", "127.0.0.1:1", "--out", str(tmp_path / "o"),
              timeout=300)
    assert r.returncode == 2, r.stderr
    [line] = r.stderr.strip().splitlines()
    assert line == "synth run: error: cannot start or join the Ray cluster at 127.0.0.1:1: Connection refused"
    assert not (tmp_path / "o" / "shard-00000.jsonl").exists()

