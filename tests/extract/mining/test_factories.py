"""Kernel factories, types Warp names only as objects, and module options, mined from small user
files: each unit defines what the original kernel saw, compiles, and ``synth verify`` re-derives it."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from warp_synth.extract.mining.files import discover, slice_files
from warp_synth.extract.verify import verify_record
from warp_synth.synth.cli import main as synth_main

pytestmark = pytest.mark.timeout(300)

# A factory whose kernels name its parameters and locals in their annotations only (neither closure
# nor globals), a @wp.func and a @wp.struct made by it, a constant it closes over, and a kernel made
# by wp.Kernel(func, options=...) without a decorator.
FACTORY = """
    import warp as wp


    def make(quat_type, n: int, wptype, gain):
        vec_n = wp.types.vector(length=n, dtype=wptype)

        @wp.struct
        class Pair:
            a: vec_n
            b: wptype

        @wp.func
        def first(v: vec_n) -> wptype:
            return v[0]

        @wp.kernel(enable_backward=False)
        def dot_quats(s: wp.array[quat_type], v: wp.array(dtype=quat_type), out: wp.array(dtype=wptype)):
            i = wp.tid()
            out[i] = wp.dot(s[i], v[i]) * wptype(gain)

        @wp.kernel
        def firsts(a: wp.array(dtype=wp.types.vector(length=n, dtype=wptype)), p: Pair, out: wp.array(dtype=wptype)):
            i = wp.tid()
            out[i] = first(a[i]) * wptype(n) + p.b

        return dot_quats, firsts


    dot_h, firsts_h = make(wp.quath, 5, wp.float16, 2)
    dot_d, firsts_d = make(wp.quatd, 2, wp.float64, 3)


    def double(a: wp.array(dtype=float)):
        i = wp.tid()
        a[i] = a[i] * 2.0


    double_kernel = wp.Kernel(func=double, key="double_float", options={"enable_backward": False})
"""

# Types that exist only as objects: no wp.mat33ui, wp.vec3bf or wp.mat44us to import.
NON_PUBLIC = """
    import warp as wp

    mat33ui = wp.types.matrix(shape=(3, 3), dtype=wp.uint32)
    mat44us = wp.types.matrix(shape=(4, 4), dtype=wp.uint16)
    vec3bf = wp.types.vector(length=3, dtype=wp.bfloat16)
    EYE = wp.constant(mat33ui(1, 0, 0, 0, 1, 0, 0, 0, 1))


    @wp.kernel
    def trace_ui(m: wp.array(dtype=mat33ui), u: wp.array(dtype=mat44us), out: wp.array(dtype=wp.uint32)):
        i = wp.tid()
        out[i] = wp.trace(m[i] + EYE) + wp.uint32(u[i][0, 0])


    @wp.kernel
    def bf_sum(v: wp.array(dtype=vec3bf), out: wp.array(dtype=float)):
        i = wp.tid()
        out[i] = float(v[i][0]) + float(v[i][1]) + float(v[i][2])
"""

# One name for two functions (redefined), a concrete overload held by a name, a factory parameter
# named like a builtin, boolean vectors.
REDEFINED = """
    import warp as wp
    from typing import Any

    vec3bool = wp.types.vector(length=3, dtype=wp.bool)


    @wp.func
    def value():
        return 17


    value_1 = value


    @wp.func
    def value():
        return 42


    @wp.kernel
    def both(a: wp.array[int], flags: vec3bool):
        a[0] = value() + value_1()
        if flags[1]:
            a[1] = 1


    @wp.kernel
    def fill(a: wp.array(dtype=Any), v: Any):
        a[wp.tid()] = v


    fill_f32 = wp.overload(fill, {"a": wp.array(dtype=wp.float32), "v": wp.float32})


    def make(type):
        def count(a: wp.array[type]):
            wp.atomic_add(a, 0, a[1])

        return wp.Kernel(func=count, key=f"count_{type.__name__}")


    count_i = make(wp.int32)
"""

# Module options that change the generated code: debug mode (#line directives), determinism.
DEBUG = """
    import warp as wp

    wp.set_module_options({"mode": "debug", "deterministic": wp.DeterministicMode.RUN_TO_RUN})


    @wp.kernel
    def accumulate(a: wp.array(dtype=float), total: wp.array(dtype=float)):
        i = wp.tid()
        wp.atomic_add(total, 0, a[i] * 2.0)
"""


def _write(folder: Path, files: dict[str, str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (folder / name).write_text(textwrap.dedent(text).lstrip())
    return folder


def test_factory_locals_named_only_in_annotations_are_defined_by_the_unit(tmp_path: Path) -> None:
    progs = _write(tmp_path / "progs", {"factory.py": FACTORY, "non_public.py": NON_PUBLIC})
    files, _ = discover([str(progs)])
    sliced = slice_files(files, timeout=120)
    units = {k.name: k for fs in sliced.values() for k in fs.kernels}
    assert all(k.source for k in units.values()), {n: k.message for n, k in units.items() if not k.source}

    dot_h = units["make.<locals>.dot_quats"].source
    assert "from warp import quath as quat_type\n" in dot_h and "from warp import float16 as wptype\n" in dot_h
    assert "\ngain = 2\n" in dot_h and "@wp.kernel(enable_backward=False)\n" in dot_h
    firsts_d = units["make.<locals>.firsts#2"].source
    assert "\nn = 2\n" in firsts_d and "\nvec_n = wp.vec2d\n" in firsts_d and "class Pair:" in firsts_d
    firsts_h = units["make.<locals>.firsts"].source
    assert "\nvec_n = wp.types.vector(length=5, dtype=wp.float16)\n" in firsts_h

    double = units["double"].source  # wp.Kernel(func, options=...): its options become the decorator
    assert "@wp.kernel(enable_backward=False)\ndef double(" in double

    trace = units["trace_ui"].source
    assert "\nmat33ui = wp.types.matrix(shape=(3, 3), dtype=wp.uint32)\n" in trace
    assert "\nmat44us = wp.types.matrix(shape=(4, 4), dtype=wp.uint16)\n" in trace
    assert "EYE = wp.constant(wp.types.matrix(shape=(3, 3), dtype=wp.uint32)(1, 0, 0" in trace
    assert "\nvec3bf = wp.types.vector(length=3, dtype=wp.bfloat16)\n" in units["bf_sum"].source


def test_redefined_names_overloads_and_builtin_named_parameters_are_sliced(tmp_path: Path) -> None:
    progs = _write(tmp_path / "progs", {"redefined.py": REDEFINED})
    files, _ = discover([str(progs)])
    (fs,) = slice_files(files, timeout=120).values()
    units = {k.name: k.source for k in fs.kernels}
    # the overload held by fill_f32 is fill's one declared overload, not a kernel of its own
    assert sorted(units) == ["both", "fill[array(ndim=1, dtype=float32), float32]", "make.<locals>.count"]
    both = units["both"]
    assert "def value():\n    return 42\n" in both and "def value__2():\n    return 17\n" in both
    assert "\nvalue_1 = value__2\n" in both
    assert "\nvec3bool = wp.types.vector(length=3, dtype=wp.bool)\n" in both
    assert "from warp import int32 as type\n" in units["make.<locals>.count"]


@pytest.mark.slow
def test_factory_non_public_redefined_and_debug_mode_records_verify(tmp_path: Path) -> None:
    progs = _write(tmp_path / "progs", {"factory.py": FACTORY, "non_public.py": NON_PUBLIC, "debug.py": DEBUG,
                                        "redefined.py": REDEFINED})
    out = tmp_path / "mined"
    assert synth_main(["mine", str(progs), "--out", str(out), "--workers", "1", "--no-progress"]) == 0
    stats = json.loads((out / "stats.json").read_text())["last_run"]
    assert (stats["kernels"], stats["mined"], stats["skipped_by_reason"]) == (11, 11, {})
    records = [json.loads(line) for line in (out / "shard-00000.jsonl").read_text().splitlines()]
    assert len(records) == 11

    debug = next(r for r in records if r["kernel_name"] == "accumulate")
    assert debug["python_source"].startswith(
        "import warp as wp\n\n\nwp.set_module_options({'mode': 'debug', 'deterministic': "
        "wp.DeterministicMode.RUN_TO_RUN})\n"
    )
    # debug mode's line directives name the unit's file as kernel.py, wherever it was compiled
    assert '#line 9 "kernel.py"\n' in debug["ir"]["cpu"]["forward"]

    no_backward = [r for r in records if r["kernel_name"] in ("dot_quats", "double")]
    assert len(no_backward) == 3 and all(not r["ir"]["cpu"]["backward"] for r in no_backward)

    for r in records:  # mined from code we trust: no screen (it refuses mode/deterministic options)
        result = verify_record(r, screened=False)
        assert result.ok, (r["kernel_name"], result.detail)
