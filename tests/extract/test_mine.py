"""``synth extract``: mining kernels from existing Warp programs into self-contained records."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from warp_synth.extract.engine import check_sources
from warp_synth.extract.mining.child import declared_kernels, launch_block_dims, tile_block_dim
from warp_synth.extract.mining.files import discover, slice_files
from warp_synth.records import Accepted
from warp_synth.synth.cli import main as synth_main

pytestmark = pytest.mark.timeout(600)

FIXTURES = Path(__file__).parent / "fixtures_mine"


@pytest.fixture
def progs(tmp_path: Path) -> Path:
    """A copy of the fixture programs (imports write __pycache__ next to them)."""
    dest = tmp_path / "progs"
    shutil.copytree(FIXTURES, dest, ignore=shutil.ignore_patterns("__pycache__"))
    return dest


# ---------------------------------------------------------------------------------------- fast


def test_declared_kernels_names_module_class_and_factory_kernels() -> None:
    src = textwrap.dedent("""
        import warp as wp

        @wp.kernel
        def a(x: wp.array(dtype=float)):
            pass

        class Solver:
            @wp.kernel(enable_backward=False)
            def b(x: wp.array(dtype=float)):
                pass

        def factory(n):
            @wp.kernel
            def c(x: wp.array(dtype=float)):
                pass
            return c

        @wp.func
        def not_a_kernel(x: float):
            return x
    """)
    assert declared_kernels(src) == [("a", 4), ("Solver.b", 9), ("factory.<locals>.c", 14)]


def test_tile_kernels_keep_the_block_dim_they_are_launched_with() -> None:
    src = textwrap.dedent("""
        wp.launch_tiled(gemm, dim=(1, 1), inputs=[], block_dim=THREADS)
        wp.launch_tiled(other, dim=(1, 1), inputs=[], block_dim=T * T)
        wp.launch(plain, dim=8, inputs=[], block_dim=self.n)
    """)
    launches = launch_block_dims(src, {"THREADS": 64, "T": 8})
    assert launches == ({"gemm": {64}, "other": {64}}, {64})
    tile_src = "x = wp.tile_load(a, shape=(4, 4))"
    assert tile_block_dim("gemm", tile_src, launches, {}) == 64
    assert tile_block_dim("unlaunched", tile_src, launches, {}) == 64  # the file's single value
    assert tile_block_dim("gemm", "a[i] = 1.0", launches, {}) is None  # not a tile kernel
    assert tile_block_dim("gemm", tile_src, launches, {"block_dim": 32}) is None  # module sets it
    two = launch_block_dims(
        "wp.launch_tiled(k, dim=1, block_dim=32)\nwp.launch_tiled(j, dim=1, block_dim=64)", {}
    )
    assert tile_block_dim("unlaunched", tile_src, two, {}) is None  # ambiguous: Warp's default


def test_missing_path_is_a_one_line_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "nope"
    assert synth_main(["extract", str(missing), "--out", str(tmp_path / "out")]) == 2
    assert capsys.readouterr().err == f"synth extract: error: no such file or directory: {missing}\n"
    assert not (tmp_path / "out").exists()


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


# The ``step`` kernel of fixtures_mine/physics.py, before (in its program) and after slicing.
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


def test_an_import_that_hangs_is_timed_out_and_its_neighbours_still_mined(tmp_path: Path) -> None:
    (tmp_path / "a_hangs.py").write_text(
        "import time\nimport warp as wp\n\ntime.sleep(600)\n\n"
        "@wp.kernel\ndef k(a: wp.array(dtype=float)):\n    a[0] = 1.0\n"
    )
    (tmp_path / "b_fine.py").write_text(
        "import warp as wp\n\n\n@wp.kernel\ndef fine(a: wp.array(dtype=float)):\n    a[0] = 1.0\n"
    )
    files, _ = discover([str(tmp_path)])
    result = slice_files(files, timeout=3)
    hung = result[str((tmp_path / "a_hangs.py").resolve())]
    assert hung.error == "import_timeout" and [k.reason for k in hung.kernels] == ["import_timeout"]
    fine = result[str((tmp_path / "b_fine.py").resolve())]
    assert fine.error is None and [k.name for k in fine.kernels] == ["fine"] and fine.kernels[0].source


# ---------------------------------------------------------------------------------------- slow

EXPECTED_REPORT = """\
{d}/broken.py: 1 kernel, 0 mined, 1 skipped (import failed: RuntimeError: this module cannot be imported (line 10))
  skipped lost: import_error: RuntimeError: this module cannot be imported (line 10)
{d}/factory.py: 3 kernels, 3 mined, 0 skipped
{d}/generic.py: 3 kernels, 2 mined, 1 skipped
  skipped never_overloaded: generic_without_overloads: generic kernel without overloads
{d}/helpers.py: 1 kernel, 1 mined, 0 skipped
{d}/physics.py: 2 kernels, 2 mined, 0 skipped
{d}/tiles.py: 2 kernels, 2 mined, 0 skipped
{d}/unsliceable.py: 3 kernels, 1 mined, 2 skipped
  skipped uses_python_dict: python_object: uses 'SETTINGS', a Python dict ({{'scale': 2.0}}) that is not a Warp \
function, struct or constant
  skipped make_kernel.<locals>.repeat: not_instantiated: the @wp.kernel is created inside a function that was not called at \
import (kernel factory); no kernel object to slice
{d}/uses_helper.py: 2 kernels, 2 mined, 0 skipped
total: 8 files, 17 kernels, 13 mined, 4 skipped; 12 new records (1 duplicates skipped) -> {out}/mined-00000.jsonl; \
1 files without kernels passed over
"""

MINED = {
    ("factory.py", "make_scale.<locals>.scale"),
    ("factory.py", "make_scale.<locals>.scale#2"),
    ("factory.py", "Solver.relax"),
    ("generic.py", "scale_add[array(ndim=1, dtype=float32), array(ndim=1, dtype=float32), float32]"),
    ("generic.py", "scale_add[array(ndim=1, dtype=vec3d), array(ndim=1, dtype=vec3d), float64]"),
    ("helpers.py", "normalize"),
    ("physics.py", "step"),
    ("physics.py", "kinetic_energy"),
    ("tiles.py", "row_sums"),
    ("tiles.py", "tile_scale"),
    ("unsliceable.py", "plain"),
    ("uses_helper.py", "ratio"),
}  # uses_helper.normalize is helpers.normalize again: counted as mined, stored once

IMPORT_EACH = """
import importlib.util, json, sys
import warp as wp
found = []
for i, path in enumerate(sys.argv[1:]):
    spec = importlib.util.spec_from_file_location(f"unit{i}", path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod
    spec.loader.exec_module(mod)
    found.append(sorted(n for n, v in vars(mod).items() if isinstance(v, wp.Kernel)))
print(json.dumps(found))
"""


@pytest.mark.slow
def test_extract_mines_every_mineable_kernel_into_self_contained_records(
    progs: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    assert synth_main(["extract", str(progs), "--out", str(out)]) == 0
    assert capsys.readouterr().out == EXPECTED_REPORT.format(d=progs, out=out)

    records = [json.loads(line) for line in (out / "mined-00000.jsonl").read_text().splitlines()]
    assert {(r["metadata"]["source_file"], r["metadata"]["source_kernel"]) for r in records} == MINED
    assert len(records) == len({r["id"] for r in records}) == 12
    assert all(r["kernel_type"] == "mined" and r["origin"] == "mined" for r in records)
    assert all(r["ir"]["cpu"]["forward"] and r["ir"]["cuda"]["forward"] for r in records)

    # every python_source stands on its own: compiled again alone ...
    sources = [r["python_source"] for r in records]
    outcomes = check_sources(sources, trusted=True, workers=2)
    assert all(isinstance(o, Accepted) for o in outcomes), [
        o for o in outcomes if not isinstance(o, Accepted)
    ]
    assert [o.kernels[0].kernel_name for o in outcomes] == [r["kernel_name"] for r in records]
    # ... and imported in a fresh interpreter, far from the programs it came from
    alone = tmp_path / "alone"
    alone.mkdir()
    paths = []
    for i, src in enumerate(sources):
        (alone / f"unit{i}.py").write_text(src)
        paths.append(str(alone / f"unit{i}.py"))
    proc = subprocess.run(
        [sys.executable, "-c", IMPORT_EACH, *paths],
        cwd=alone,
        capture_output=True,
        text=True,
        timeout=300,
        env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"},
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert json.loads(proc.stdout.strip().splitlines()[-1]) == [[r["kernel_name"]] for r in records]

    stats = json.loads((out / "stats.json").read_text())
    run = stats["last_run"]
    assert (run["files"], run["kernels"], run["mined"], run["skipped"], run["records_written"]) == (
        8,
        17,
        13,
        4,
        12,
    )
    assert run["skipped_by_reason"] == {
        "generic_without_overloads": 1,
        "import_error": 1,
        "not_instantiated": 1,
        "python_object": 1,
    }
    assert run["by_file"]["broken.py"]["error"] == "import_error"

    # a second run appends nothing: every id is already in the dataset
    assert synth_main(["extract", str(progs), "--out", str(out)]) == 0
    assert "0 new records (13 duplicates skipped)" in capsys.readouterr().out
    assert sorted(p.name for p in out.iterdir()) == ["mined-00000.jsonl", "stats.json"]
    assert json.loads((out / "stats.json").read_text())["records"] == 12
    assert len(json.loads((out / "stats.json").read_text())["runs"]) == 2


def _warp_examples() -> Path:
    import warp

    return Path(warp.__file__).parent / "examples"


@pytest.mark.slow
def test_real_warp_examples_mined_equals_what_warp_compiles() -> None:
    """A tile FFT program and a physics program from Warp's own examples: every kernel Warp
    compiles in its original module is mined, and nothing else."""
    from warp_synth.extract.mining.oracle import compare

    ex = _warp_examples()
    table = compare([str(ex / "tile" / "example_tile_fft.py"), str(ex / "core" / "example_wave.py")])
    rows = {Path(k).name: v for k, v in table.items()}
    assert (
        rows["example_tile_fft.py"]["warp_compiles"] == rows["example_tile_fft.py"]["mined"] == ["fft_tiled"]
    )
    wave = rows["example_wave.py"]
    assert wave["kernels"] == 3 and len(wave["warp_compiles"]) == 3
    assert wave["mined"] == wave["warp_compiles"], wave["skipped"]
