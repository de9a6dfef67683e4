"""Every compiled kernel runs on the CPU (extract.execute): typed runtime rejections, the adjoint
check, and stored test vectors that replay with Warp's public API, on real Warp and real workers.

The kernels here pass the static screen, so they go in as ordinary (untrusted) units and a runtime
failure rejects them; a trusted unit (a user's own, mined kernel) records the failure in its
execution instead (last test)."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from typing import Any

import pytest

from warp_synth.extract.engine import ExtractOptions, Extractor
from warp_synth.extract.execute import record_seed
from warp_synth.records import Accepted, Outcome, Rejected, Unit

pytestmark = pytest.mark.timeout(600)

FLOAT_IO = "a: wp.array(dtype=float), b: wp.array(dtype=float)"


def kernel(name: str, body: str, params: str = FLOAT_IO) -> str:
    """A one-kernel module: ``body`` (indented 4) after ``i = wp.tid()``."""
    return f"import warp as wp\n\n@wp.kernel\ndef {name}({params}):\n    i = wp.tid()\n{textwrap.indent(body, '    ')}"


OOB = kernel("reads_past_end", "b[i] = a[i + 1]\n")  # both arrays have the launch's size
NAN = kernel("writes_nan", "b[i] = wp.sqrt(a[i] - 2.0)\n")  # inputs in [0.25, 1]: sqrt of a negative
NO_WRITE = kernel("writes_nothing", "if a[i] > 5.0:\n    b[i] = a[i]\n")  # never true on [0.25, 1]
CONSTANT = kernel("ignores_inputs", "b[i] = 1.0\n")
DIV_ZERO = kernel("divides_by_zero", "b[i] = n[i] / (n[i] - n[i])\n",
                  "n: wp.array(dtype=int), b: wp.array(dtype=int)")
WRONG_ADJOINT = '''import warp as wp

@wp.func
def square(x: float) -> float:
    return x * x

@wp.func_grad(square)
def adj_square(x: float, adj_ret: float):
    wp.adjoint[x] += 7.0 * adj_ret  # d(x*x)/dx is 2x, not 7

@wp.kernel
def uses_wrong_adjoint(a: wp.array(dtype=float), b: wp.array(dtype=float)):
    i = wp.tid()
    b[i] = square(a[i])
'''
SMOOTH = '''import warp as wp

@wp.kernel
def smooth(a: wp.array(dtype=float), v: wp.array(dtype=wp.vec3), k: float, b: wp.array(dtype=float)):
    i = wp.tid()
    b[i] = wp.sin(a[i]) * k + wp.dot(v[i], v[i]) + wp.exp(a[i]) * a[i]
'''

UNITS = {"oob": OOB, "nan": NAN, "no_write": NO_WRITE, "constant": CONSTANT, "div_zero": DIV_ZERO,
         "wrong_adjoint": WRONG_ADJOINT, "smooth": SMOOTH}
BOUNDS = "(Warp's bounds check `i >= -arr.shape[0] && i < arr.shape[0]` failed)"
LAUNCH = "launched with dim=[64] on arrays a float32[64], b float32[64]"


@pytest.fixture(scope="module")
def ex():
    with Extractor(ExtractOptions(workers=1)) as extractor:
        yield extractor


@pytest.fixture(scope="module")
def outs(ex) -> dict[str, Outcome]:
    """Every unit above, in one batch."""
    results = ex.extract([Unit(key, src) for key, src in UNITS.items()])
    assert [o.key for o in results] == list(UNITS)
    return {o.key: o for o in results}


def rejected(out: Outcome) -> Rejected:
    assert isinstance(out, Rejected), out
    return out


def execution(out: Outcome) -> dict[str, Any]:
    assert isinstance(out, Accepted), out
    [k] = out.kernels
    assert k.execution is not None
    return k.execution


def test_out_of_bounds_read_names_the_failed_bounds_check(outs):
    r = rejected(outs["oob"])
    assert r.reason == "out_of_bounds"
    assert r.message.startswith("an array index is out of bounds in the forward launch")
    assert BOUNDS in r.message
    # the one line that indexes with more than the thread's own index is named, and is the rejection's line
    assert r.message.endswith(LAUNCH + "; indexing that does not use only the thread's indices: line 6: "
                              "`b[i] = a[i + 1]`")
    assert r.line == 6


def test_nan_output_is_non_finite(outs):
    r = rejected(outs["nan"])
    assert r.reason == "non_finite"
    assert r.message.startswith("the forward pass wrote nan into 'b' (flat index 0;")
    assert "floats drawn from [0.25, 1.0]" in r.message and r.message.endswith(LAUNCH)


def test_kernel_writing_nothing_is_trivial(outs):
    r = rejected(outs["no_write"])
    assert r.reason == "trivial"
    assert r.message == f"the kernel writes nothing: no array changed ({LAUNCH})"


def test_kernel_ignoring_its_inputs_is_trivial(outs):
    r = rejected(outs["constant"])
    assert r.reason == "trivial"
    assert r.message == ("the kernel ignores its inputs: two different input draws gave identical outputs "
                         f"in 'b' ({LAUNCH})")


def test_integer_division_by_zero_is_a_crash(outs):
    r = rejected(outs["div_zero"])
    assert r.reason == "crash"
    assert r.message.startswith("the kernel's process died in the forward launch")
    assert "signal 8" in r.message  # SIGFPE


def test_wrong_custom_adjoint_is_accepted_with_a_failed_gradcheck(outs):
    e = execution(outs["wrong_adjoint"])
    assert e["status"] == "passed" and e["dim"] == [64] and e["seed"] == record_seed("wrong_adjoint")
    g = e["grad"]
    assert g["status"] == "failed"
    assert g["eps"] == 1e-3
    assert g["max_abs_err"] > 1e-3 and g["max_rel_err"] > 2e-2  # beyond float32's tolerances
    assert set(e["inputs"]) == {"a", "b"} and e["outputs"]["b"]["dtype"] == "float32"


def test_smooth_kernel_is_accepted_with_a_passing_gradcheck(outs):
    e = execution(outs["smooth"])
    assert e["status"] == "passed" and e["seed"] == record_seed("smooth") and e["dim"] == [64]
    assert e["grad"]["status"] == "passed"
    assert e["grad"]["eps"] == 1e-3 and 0.0 <= e["grad"]["max_rel_err"] < 2e-2
    ins, outputs = e["inputs"], e["outputs"]
    assert list(ins) == ["a", "v", "k", "b"]
    assert ins["a"]["dtype"] == "float32" and ins["a"]["shape"] == [64] and len(ins["a"]["data"]) == 64
    assert ins["v"]["dtype"] == "vec3f" and ins["v"]["shape"] == [64] and len(ins["v"]["data"]) == 64 * 3
    assert ins["k"]["dtype"] == "float32" and 0.25 <= ins["k"]["value"] <= 1.0
    assert all(0.25 <= x <= 1.0 for x in ins["a"]["data"] + ins["v"]["data"] + ins["b"]["data"])
    assert set(outputs) == {"a", "v", "b"}  # every array, after the launch
    assert outputs["a"] == ins["a"] and outputs["v"] == ins["v"] and outputs["b"] != ins["b"]


REPLAY = '''
import importlib.util
import json
import sys

import numpy as np
import warp as wp

source, stored = sys.argv[1], json.loads(open(sys.argv[2]).read())
spec = importlib.util.spec_from_file_location("replayed_kernel", source)
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
kernel = getattr(module, sys.argv[3])


def scalar(t):
    return getattr(t, "_wp_scalar_type_", t)


def inner(t):
    return tuple(getattr(t, "_shape_", ()))


def rebuild(d):
    t = getattr(wp, d["dtype"])
    if "shape" in d:
        data = np.array(d["data"], dtype=wp.dtype_to_numpy(scalar(t))).reshape(tuple(d["shape"]) + inner(t))
        return wp.array(data, dtype=t, device="cpu")
    return t(*d["value"]) if isinstance(d["value"], list) else t(d["value"])


args = {name: rebuild(d) for name, d in stored["inputs"].items()}
wp.launch(kernel, dim=stored["dim"], inputs=list(args.values()), device="cpu")
worst = {}
for name, d in stored["outputs"].items():
    want = np.array(d["data"], dtype=np.float64)
    got = args[name].numpy().astype(np.float64).ravel()
    assert got.shape == want.shape, (name, got.shape, want.shape)
    assert np.allclose(got, want, rtol=1e-5, atol=1e-6), (name, np.abs(got - want).max())
    worst[name] = float(np.abs(got - want).max())
print("REPLAYED " + json.dumps(worst))
'''


def test_stored_vectors_replay_with_warps_public_api(outs, tmp_path):
    e = execution(outs["smooth"])
    (tmp_path / "smooth.py").write_text(SMOOTH)
    (tmp_path / "vectors.json").write_text(json.dumps(e))
    (tmp_path / "replay.py").write_text(REPLAY)
    r = subprocess.run([sys.executable, str(tmp_path / "replay.py"), str(tmp_path / "smooth.py"),
                        str(tmp_path / "vectors.json"), "smooth"], capture_output=True, text=True, timeout=300,
                       cwd=tmp_path)
    assert r.returncode == 0, r.stderr[-3000:]
    [line] = [ln for ln in r.stdout.splitlines() if ln.startswith("REPLAYED ")]
    worst = json.loads(line.removeprefix("REPLAYED "))
    assert set(worst) == {"a", "v", "b"}
    assert worst["a"] == 0.0 and worst["v"] == 0.0  # untouched inputs come back bit for bit


def test_batch_mates_of_bad_kernels_are_accepted(ex):
    good = kernel("fine", "b[i] = wp.cos(a[i]) * a[i]\n")
    units = [Unit("bad_oob", OOB), Unit("good_1", good), Unit("bad_crash", DIV_ZERO), Unit("bad_nan", NAN),
             Unit("good_2", good.replace("fine", "fine_too"))]
    o = ex.extract(units)
    assert [x.key for x in o] == [u.key for u in units]
    assert [x.reason for x in o if isinstance(x, Rejected)] == ["out_of_bounds", "crash", "non_finite"]
    for x in (o[1], o[4]):
        e = execution(x)
        assert e["status"] == "passed" and e["grad"]["status"] == "passed"


def test_the_same_unit_executes_the_same_twice(ex):
    unit = Unit("repeatable", SMOOTH, trusted=True)
    [first] = ex.extract([unit])
    [second] = ex.extract([unit])
    e1, e2 = execution(first), execution(second)
    assert e1["seed"] == e2["seed"] == record_seed("repeatable")
    assert e1["inputs"] == e2["inputs"] and e1["outputs"] == e2["outputs"]
    assert e1 == e2
    # another record id draws other inputs
    [other] = ex.extract([Unit("another", SMOOTH, trusted=True)])
    assert execution(other)["inputs"]["a"] != e1["inputs"]["a"]


def test_outputs_are_plain_json(outs):
    e = execution(outs["smooth"])
    assert json.loads(json.dumps(e)) == e


def test_trusted_units_record_runtime_failures_instead_of_being_rejected(ex):
    """A mined kernel need not accept our drawn inputs: its failure is its execution's status."""
    keys = ["oob", "nan", "no_write", "div_zero", "smooth"]
    o = ex.extract([Unit(key, UNITS[key], trusted=True) for key in keys])
    status = {x.key: execution(x) for x in o}
    assert {k: e["status"] for k, e in status.items()} == {
        "oob": "out_of_bounds", "nan": "non_finite", "no_write": "trivial", "div_zero": "crash", "smooth": "passed"}
    assert BOUNDS in status["oob"]["reason"] and status["oob"]["reason"].endswith("line 6: `b[i] = a[i + 1]`")
    assert status["nan"]["reason"].startswith("the forward pass wrote nan into 'b'")
    assert status["no_write"]["reason"] == f"the kernel writes nothing: no array changed ({LAUNCH})"
    assert "signal 8" in status["div_zero"]["reason"]
    assert set(status["oob"]) == {"status", "reason"}  # no vectors for a run that failed
    assert status["smooth"]["grad"]["status"] == "passed"


@pytest.fixture(scope="module")
def together():
    """Units that share their batch's process (offline templates) also share their execution's."""
    with Extractor(ExtractOptions(workers=1, isolate_units=False)) as extractor:
        yield extractor


def test_units_run_together_give_what_units_run_apart_give(ex, together):
    """One process runs the batch's units one after the other; a unit that kills it is that unit's
    rejection alone, and the next units run in a new process, with the same results as apart."""
    good = kernel("fine", "b[i] = wp.cos(a[i]) * a[i]\n")
    units = [Unit("good_1", good), Unit("bad_oob", OOB), Unit("good_2", good.replace("fine", "fine_2")),
             Unit("bad_crash", DIV_ZERO), Unit("bad_crash_2", DIV_ZERO.replace("divides_by_zero", "div_2")),
             Unit("bad_nan", NAN), Unit("good_3", SMOOTH)]
    apart, shared = ex.extract(units), together.extract(units)
    assert [x.reason for x in shared if isinstance(x, Rejected)] == ["out_of_bounds", "crash", "crash", "non_finite"]
    assert [(x.key, x.reason, x.message) for x in shared if isinstance(x, Rejected)] == [
        (x.key, x.reason, x.message) for x in apart if isinstance(x, Rejected)]
    assert [execution(x) for x in shared if isinstance(x, Accepted)] == [
        execution(x) for x in apart if isinstance(x, Accepted)]


@pytest.mark.slow
def test_endless_loop_is_a_timeout_and_spares_its_batch_mates(together):
    endless = kernel("spins", "while a[i] > 0.0:\n    b[i] = b[i] + 1.0\n")  # inputs are positive
    o = together.extract([Unit("smooth_before", SMOOTH.replace("smooth", "smooth_b")), Unit("endless", endless),
                          Unit("smooth_mate", SMOOTH)])
    r = rejected(o[1])
    assert r.reason == "timeout"
    assert r.message == ("the kernel ran longer than 20 s on inputs of at most 256 elements (an endless loop?)")
    assert execution(o[0])["grad"]["status"] == execution(o[2])["grad"]["status"] == "passed"


ADJOINT_SHAPE = '''import warp as wp


@wp.kernel
def spread(xs: wp.array(dtype=wp.float32), counts: wp.array2d(dtype=float), ys: wp.array(dtype=wp.float32)):
    tid = wp.tid()
    f = xs[tid]
    acc = float(0.0)
    for h in range(3):
        acc = acc + f * counts[h % counts.shape[0], tid % counts.shape[1]]
    ys[tid] = acc
'''


def test_a_backward_launch_that_dies_fails_the_adjoint_check_not_the_pair(ex):
    """Warp 1.19's reverse pass of ``arr.shape`` zeroes the adjoint array's shape, so a later reverse
    read of ``arr`` fails Warp's bounds check: the forward is in bounds, so the pair stands with its
    vectors and the adjoint is recorded as failed, with how the backward launch died."""
    [out] = ex.extract([Unit("shape_adjoint", ADJOINT_SHAPE)])
    e = execution(out)
    assert e["status"] == "passed" and set(e["inputs"]) == {"xs", "counts", "ys"} and "ys" in e["outputs"]
    assert e["grad"]["status"] == "failed"
    assert e["grad"]["reason"].startswith("the backward launch killed its process: an array index is out of "
                                          "bounds in the adjoint launch")


TILE_MAX = '''import warp as wp

TILE = wp.constant(16)


@wp.kernel
def block_max(src: wp.array2d(dtype=float), dst: wp.array(dtype=float)):
    i, lane = wp.tid()
    t = wp.tile_load(src[i], shape=TILE)
    wp.tile_atomic_add(dst, wp.tile_max(wp.tile_map(wp.sin, t)), offset=0)
'''


def test_a_tile_builtin_without_an_adjoint_makes_the_kernel_not_differentiable(ex):
    """Warp registers tile_max with is_differentiable=False (its backward gives zero): the adjoint
    check says so instead of failing against finite differences."""
    [o] = ex.extract([Unit("tile_max", TILE_MAX)])
    grad = execution(o)["grad"]
    assert grad == {"status": "not_differentiable", "reason": "uses tile_max"}, grad


GEOMETRY = {
    "mesh_sdf": '''import warp as wp

@wp.kernel
def mesh_sdf(mesh: wp.uint64, pts: wp.array(dtype=wp.vec3), sdf: wp.array(dtype=float)):
    i = wp.tid()
    q = wp.mesh_query_point(mesh, pts[i], 10.0)
    if q.result:
        sdf[i] = wp.length(pts[i] - wp.mesh_eval_position(mesh, q.face, q.u, q.v)) * q.sign
''',
    "bvh_count": '''import warp as wp

@wp.func
def overlaps(tree: wp.uint64, p: wp.vec3, r: float) -> int:
    q = wp.bvh_query_aabb(tree, p - wp.vec3(r), p + wp.vec3(r))
    n = int(0)
    b = int(0)
    while wp.bvh_query_next(q, b):
        n += 1
    return n

@wp.kernel
def bvh_count(bvh: wp.uint64, pts: wp.array(dtype=wp.vec3), r: float, counts: wp.array(dtype=int)):
    i = wp.tid()
    counts[i] = overlaps(bvh, pts[i], r * 0.2)  # r is drawn in [0.25, 1]: a smaller box
''',
    "grid_density": '''import warp as wp

@wp.kernel
def grid_density(grid: wp.uint64, w: wp.array(dtype=float), x: wp.array(dtype=wp.vec3d), h: wp.float64,
                 rho: wp.array(dtype=wp.float64)):
    tid = wp.tid()
    i = wp.hash_grid_point_id(grid, tid)
    s = wp.float64(0.0)
    for j in wp.hash_grid_query(grid, x[i], h):
        d = wp.length(x[i] - x[j])
        if d < h:
            s += (h - d) * wp.float64(w[j])
    rho[i] = s
''',
    "two_kinds": '''import warp as wp

@wp.kernel
def two_kinds(ident: wp.uint64, pts: wp.array(dtype=wp.vec3), out: wp.array(dtype=float)):
    i = wp.tid()
    q = wp.mesh_query_point_no_sign(ident, pts[i], 1.0)
    r = wp.bvh_query_ray(ident, pts[i], wp.vec3(1.0, 0.0, 0.0))
    out[i] = q.u
''',
}


@pytest.fixture(scope="module")
def geometry_outs(ex) -> dict[str, Outcome]:
    return {o.key: o for o in ex.extract([Unit(k, src) for k, src in GEOMETRY.items()])}


def test_geometry_ids_are_drawn_as_real_objects_and_stored(geometry_outs):
    mesh = execution(geometry_outs["mesh_sdf"])
    m = mesh["inputs"]["mesh"]
    assert m["dtype"] == "mesh" and m["shape"] in ("box", "sphere", "heightfield")
    assert m["points"]["dtype"] == "vec3f" and m["indices"]["dtype"] == "int32"
    assert len(m["indices"]["data"]) % 3 == 0 and 0 < len(m["indices"]["data"]) // 3 <= 48
    assert max(m["indices"]["data"]) < m["points"]["shape"][0]
    assert any(v < 0 for v in mesh["outputs"]["sdf"]["data"])  # points inside the mesh: signed
    assert mesh["grad"]["status"] == "passed"  # the float inputs are differentiable; the id is not an input
    b = execution(geometry_outs["bvh_count"])["inputs"]["bvh"]
    assert b["dtype"] == "bvh" and b["lowers"]["shape"] == b["uppers"]["shape"] == [64]  # through a @wp.func
    assert all(lo < hi for lo, hi in zip(b["lowers"]["data"], b["uppers"]["data"], strict=True))
    g = execution(geometry_outs["grid_density"])
    assert g["inputs"]["grid"] == {"dtype": "hash_grid", "points_param": "x", "dim": g["inputs"]["grid"]["dim"],
                                   "radius": g["inputs"]["grid"]["radius"]}
    assert len(g["inputs"]["grid"]["dim"]) == 3
    assert g["grad"]["status"] == "not_differentiable"  # Warp: a value mutated in the neighbour loop
    e = execution(geometry_outs["two_kinds"])
    assert e["status"] == "not_executed" and "used as a bvh and a mesh id" in e["reason"]


def test_stored_geometry_replays_to_the_same_outputs(geometry_outs):
    from warp_synth.extract.verify import replay_records

    records = [{"id": k, "python_source": GEOMETRY[k], "execution": execution(geometry_outs[k])}
               for k in ("mesh_sdf", "bvh_count", "grid_density")]
    moved = json.loads(json.dumps(records[0]))
    moved["id"] = "moved"
    moved["execution"]["inputs"]["mesh"]["points"]["data"] = [
        x + 0.05 for x in moved["execution"]["inputs"]["mesh"]["points"]["data"]]  # another mesh
    results = replay_records([*records, moved], workers=1)
    assert [r.ok for r in results] == [True, True, True, False], results
    assert "outputs differ: sdf" in results[3].detail


VOLUMES = {
    "sdf_push": '''import warp as wp

@wp.func
def phi(sdf: wp.uint64, p: wp.vec3) -> float:
    return wp.volume_sample_f(sdf, wp.volume_world_to_index(sdf, p), wp.Volume.LINEAR)

@wp.kernel
def sdf_push(sdf: wp.uint64, x: wp.array(dtype=wp.vec3), out: wp.array(dtype=wp.vec3)):
    i = wp.tid()
    p = x[i]
    g = wp.vec3()
    d = wp.volume_sample_grad_f(sdf, wp.volume_world_to_index(sdf, p), wp.Volume.LINEAR, g)
    n = wp.volume_index_to_world_dir(sdf, g)
    out[i] = p - n * wp.min(phi(sdf, p), 0.0) + n * d * 0.0
''',
    "store_read": '''import warp as wp

@wp.kernel
def store_read(labels: wp.uint64, vel: wp.uint64, w: wp.array(dtype=float), out: wp.array(dtype=wp.vec3),
               ids: wp.array(dtype=int)):
    i, j, k = wp.tid()
    wp.volume_store_i(labels, i, j, k, wp.volume_lookup_i(labels, i, j, k) + 1)
    ids[i] = wp.volume_lookup_i(labels, k, j, i)
    out[j] = wp.volume_lookup_v(vel, i, j, k) * w[k]
''',
    "index_grid": '''import warp as wp

@wp.kernel
def index_grid(grid: wp.uint64, data: wp.array(dtype=float), x: wp.array(dtype=wp.vec3),
               out: wp.array(dtype=float), idx: wp.array(dtype=int)):
    i = wp.tid()
    q = wp.volume_world_to_index(grid, x[i])
    out[i] = wp.volume_sample_index(grid, q, wp.Volume.LINEAR, data, 0.0)
    idx[i] = wp.volume_lookup_index(grid, int(q[0]), int(q[1]), int(q[2])) + wp.volume_voxel_count(grid)
''',
    "two_types": '''import warp as wp

@wp.kernel
def two_types(v: wp.uint64, out: wp.array(dtype=float)):
    i = wp.tid()
    out[i] = wp.volume_lookup_f(v, i, 0, 0) + float(wp.volume_lookup_i(v, 0, i, 0))
''',
}


@pytest.fixture(scope="module")
def volume_outs(ex) -> dict[str, Outcome]:
    return {o.key: o for o in ex.extract([Unit(k, src) for k, src in VOLUMES.items()])}


def test_volume_ids_are_drawn_as_real_volumes_and_stored(volume_outs):
    e = execution(volume_outs["sdf_push"])
    v = e["inputs"]["sdf"]
    assert v["dtype"] == "volume" and v["type"] == "float32" and v["values"]["shape"] == [8, 8, 8]
    assert v["values"]["dtype"] == "float32" and len(v["values"]["data"]) == 512
    assert all(lo <= 0.25 and hi >= 1.0 for lo, hi in zip(v["min"], v["max"], strict=True))  # covers the points
    assert e["status"] == "passed"
    s = execution(volume_outs["store_read"])
    assert s["inputs"]["labels"]["type"] == "int32" and s["inputs"]["vel"]["type"] == "vec3f"
    assert len(s["inputs"]["vel"]["values"]["data"]) == 3 * 512
    assert s["status"] == "passed"  # volume_store_i writes the volume: every launch starts from the stored voxels
    g = execution(volume_outs["index_grid"])
    x = g["inputs"]["grid"]
    assert x["type"] == "index" and x["voxels"]["dtype"] == "vec3i" and 0 < x["voxels"]["shape"][0] <= 64
    assert g["status"] == "passed"
    t = execution(volume_outs["two_types"])
    assert t["status"] == "not_executed" and "volumes of types float32, int32" in t["reason"]


def test_stored_volumes_replay_to_the_same_outputs(volume_outs):
    from warp_synth.extract.verify import replay_records

    records = [{"id": k, "python_source": VOLUMES[k], "execution": execution(volume_outs[k])}
               for k in ("sdf_push", "store_read", "index_grid")]
    moved = json.loads(json.dumps(records[1]))
    moved["id"] = "moved"
    vel = moved["execution"]["inputs"]["vel"]["values"]["data"]
    vel[3 * (5 * 64 + 5)] += 0.5  # voxel (5, 0, 5)'s x velocity: the last write to out[0] reads it
    results = replay_records([*records, moved], workers=1)
    assert [r.ok for r in results] == [True, True, True, False], results
    assert "outputs differ: out" in results[3].detail
