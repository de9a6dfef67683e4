"""Finding Warp files and cutting their kernels into self-contained unit sources."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from warp_synth.extract.executors.supervisor import user_environment
from warp_synth.extract.mining.child import PARENT_GONE_STATUS
from warp_synth.extract.mining.files import discover, slice_files
from warp_synth.reasons import Reason

pytestmark = pytest.mark.timeout(600)


def test_discover_keeps_only_files_that_define_kernels(progs: Path) -> None:
    files, passed_over = discover([str(progs)])
    assert [f.relative for f in files] == [
        "broken.py",
        "factory.py",
        "generic.py",
        "helpers.py",
        "physics.py",
        "tiles.py",
        "unsliceable.py",
        "uses_helper.py",
    ]
    assert passed_over == 1  # notes.py
    assert files[0].display == os.path.join(str(progs), "broken.py")


def test_type_and_value_sources_rebuild_the_same_warp_objects() -> None:
    import warp as wp

    from warp_synth.extract import warp_adapter as wa

    values = [
        wp.vec3(1.0, 2.0, 3.5),
        wp.mat22(1.0, 2.0, 3.0, 4.0),
        wp.vec3i(1, 2, 3),
        wp.uint32(7),
        3,
        2.5,
        wp.transform(wp.vec3(1.0, 2.0, 3.0), wp.quat_identity()),
        wp.types.vector(length=5, dtype=wp.float64)(0.0, 1.0, 2.0, 3.0, 4.0),
    ]
    for v in values:
        assert eval(wa.value_source(v), {"wp": wp}) == v
    assert wa.value_source(wp.vec3(1.0, 2.0, 3.5)) == "wp.vec3f(1.0, 2.0, 3.5)"
    assert wa.type_source(wp.array(dtype=wp.vec3, ndim=2), str) == "wp.array(dtype=wp.vec3f, ndim=2)"
    assert wa.type_source(wp.array2d[wp.quatd], str) == "wp.array(dtype=wp.quatd, ndim=2)"
    assert (
        wa.type_source(wp.types.vector(length=5, dtype=wp.float64), str)
        == "wp.types.vector(length=5, dtype=wp.float64)"
    )


# The ``step`` kernel of fixtures/physics.py, before (in its program) and after slicing.
STEP_UNIT = """\
import warp as wp


@wp.struct
class Particles:
    pos: wp.array(dtype=wp.vec3)
    vel: wp.array(dtype=wp.vec3)
    mass: float


UP = wp.constant(wp.vec3f(0.0, 1.0, 0.0))
GRAVITY = wp.constant(-9.81)
MAX_STEPS = wp.constant(4)
DAMPING = 0.99


@wp.func
def clamp_speed(v: wp.vec3, vmax: float) -> wp.vec3:
    s = wp.length(v)
    if s > vmax:
        return v * (vmax / s)
    return v


@wp.func
def integrate(x: wp.vec3, v: wp.vec3, dt: float) -> wp.vec3:
    return x + clamp_speed(v, 10.0) * dt


@wp.kernel
def step(p: Particles, dt: float):
    tid = wp.tid()
    v = p.vel[tid] + UP * (GRAVITY * dt)
    for _ in range(MAX_STEPS):
        v = v * DAMPING
    p.vel[tid] = v
    p.pos[tid] = integrate(p.pos[tid], v, dt)
"""

GENERIC_F32_STUB = (
    "@wp.overload\n"
    "def scale_add(a: wp.array(dtype=wp.float32, ndim=1), b: wp.array(dtype=wp.float32, ndim=1), "
    "s: wp.float32): ...\n"
)


def test_slicing_emits_dependencies_in_order_and_overload_stubs(progs: Path) -> None:
    files, _ = discover(
        [
            str(progs / "physics.py"),
            str(progs / "generic.py"),
            str(progs / "tiles.py"),
            str(progs / "uses_helper.py"),
            str(progs / "factory.py"),
        ]
    )
    sliced = slice_files(files, timeout=60)
    by_name = {(Path(f).name, k.name): k for f, fs in sliced.items() for k in fs.kernels}
    assert by_name["physics.py", "step"].source == STEP_UNIT
    f32 = by_name[
        "generic.py", "scale_add[array(ndim=1, dtype=float32), array(ndim=1, dtype=float32), float32]"
    ]
    assert f32.source is not None and f32.source.endswith("\n\n" + GENERIC_F32_STUB)
    assert "from typing import Any\n" in f32.source
    tiles = by_name["tiles.py", "row_sums"].source
    assert tiles is not None and tiles.startswith(
        "import warp as wp\n\n\nwp.set_module_options({'enable_backward': False})\n\n\nTILE_M = wp.constant(4)\nTILE_N = 32\n"
    )
    ratio = by_name["uses_helper.py", "ratio"].source
    assert ratio is not None and ratio.startswith("import warp as wp\nfrom warp import vec3\nimport math\n")
    assert "\nEPS = wp.constant(1e-06)\n" in ratio and "\nsdiv = safe_div\n" in ratio
    assert "factor = 3.0\n" in by_name["factory.py", "make_scale.<locals>.scale#2"].source


FINE_NEIGHBOUR = "import warp as wp\n\n\n@wp.kernel\ndef fine(a: wp.array(dtype=float)):\n    a[0] = 1.0\n"


def _slice_beside_a_fine_file(tmp_path: Path, name: str, source: str, timeout: float):
    """Slice ``name`` (holding ``source``) next to b_fine.py: (its result, b_fine.py's result)."""
    (tmp_path / name).write_text(source)
    (tmp_path / "b_fine.py").write_text(FINE_NEIGHBOUR)
    files, _ = discover([str(tmp_path)])
    result = slice_files(files, timeout=timeout)
    return result[str((tmp_path / name).resolve())], result[str((tmp_path / "b_fine.py").resolve())]


def test_an_import_that_hangs_is_timed_out_and_its_neighbours_still_mined(tmp_path: Path) -> None:
    hung, fine = _slice_beside_a_fine_file(
        tmp_path, "a_hangs.py",
        "import time\nimport warp as wp\n\ntime.sleep(600)\n\n"
        "@wp.kernel\ndef k(a: wp.array(dtype=float)):\n    a[0] = 1.0\n", timeout=3)
    assert hung.error == "import_timeout" and [k.reason for k in hung.kernels] == ["import_timeout"]
    assert hung.error is Reason.IMPORT_TIMEOUT
    assert fine.error is None and [k.name for k in fine.kernels] == ["fine"] and fine.kernels[0].source


def test_an_import_that_kills_the_child_is_a_crash_and_its_neighbours_still_mined(tmp_path: Path) -> None:
    dead, fine = _slice_beside_a_fine_file(
        tmp_path, "a_dies.py",
        "import os\nimport warp as wp\n\n\n@wp.kernel\ndef gone(a: wp.array(dtype=float)):\n    a[0] = 1.0\n\n\n"
        "os._exit(3)\n", timeout=60)
    assert dead.error is Reason.IMPORT_CRASH and "exited with status 3" in dead.message
    assert [(k.name, k.reason) for k in dead.kernels] == [("gone", "import_crash")]
    assert fine.error is None and [k.name for k in fine.kernels] == ["fine"] and fine.kernels[0].source


def test_a_child_stuck_in_an_import_leaves_when_its_parent_goes(tmp_path: Path) -> None:
    hangs = tmp_path / "hangs.py"
    hangs.write_text("import sys, time\nsys.stdin.read()\ntime.sleep(600)\n\n@wp.kernel\ndef k():\n    pass\n")
    child = subprocess.Popen(
        [sys.executable, "-c", "from warp_synth.extract.mining.child import main; main()", str(hangs)],
        cwd=tmp_path, env=user_environment(), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL, start_new_session=True,
    )
    try:
        assert child.stdout is not None and child.stdin is not None
        assert json.loads(child.stdout.readline()) == {"begin": str(hangs)}  # importing, and stuck
        child.stdin.close()  # what the parent's exit does, however it exits
        assert child.wait(timeout=30) == PARENT_GONE_STATUS
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
