"""The CUDA check levels (``--cuda-check frontend|ptx``): NVRTC's front end alone must reject what a
full PTX compile rejects in C++ (with the same messages, mapped to the same Python lines), leave the
IR untouched, use Warp's own NVRTC options, and fail in one line when its library is unusable."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

from tests.support.cli import read_records, run_synth
from warp_synth.errors import UserError
from warp_synth.extract import nvrtc
from warp_synth.extract.engine import CUDA_CHECKS, ExtractOptions, Extractor, verified_by
from warp_synth.records import Accepted, Rejected, Unit

pytestmark = pytest.mark.timeout(600)

GOOD = '''import warp as wp

@wp.func
def shape(x: float, k: float) -> float:
    return wp.sin(x) * k + 1.0

@wp.kernel
def good_{n}(a: wp.array(dtype=float), b: wp.array(dtype=wp.vec3), k: float):
    i = wp.tid()
    v = shape(a[i], k) + wp.length(b[i])
    for j in range({n} % 4 + 1):
        v = v * 0.5 + float(j)
    b[i] = wp.normalize(b[i]) * v
'''

# A trusted unit (func_native injects C++) whose CPU build passes but whose CUDA build fails: the
# snippet, seen by NVRTC only (``__CUDA_ARCH__``), turns the kernel's call into an undefined one, so
# the error is reported at the call in the kernel, which Warp tags with its Python line (14).
CUDA_ONLY_CALL = '''import warp as wp

@wp.func_native("""
#if defined(__CUDA_ARCH__)
#define cuda_only_0(x) cuda_only_undefined_symbol(x)
#endif
return x;
""")
def cuda_only(x: float) -> float: ...

@wp.kernel
def uses_cuda_only(a: wp.array(dtype=float)):
    i = wp.tid()
    a[i] = cuda_only(a[i]) * 2.0
'''

# Errors only a C++ front end can find, planted where only NVRTC sees them (Clang's CPU build of the
# same unit passes): a wp::add of a vec3 and a vec2, a wp::mul of a mat33 and a vec2, and a template
# (a generic lambda) whose body fails only when it is instantiated.
PLANTED = {
    "add_vec3_vec2": ("wp::vec3 a(x); wp::vec2 b(x);\nreturn wp::length(wp::add(a, b));",
                      'no instance of overloaded function "wp::add" matches the argument list'),
    "mul_mat33_vec2": ("wp::mat33 m(x); wp::vec2 v(x);\nreturn wp::length(wp::mul(m, v));",
                       'no instance of overloaded function "wp::mul" matches the argument list'),
    "template_body": ("auto f = [](auto v) { return v.no_such_member; };\nreturn f(x);",
                      "expression must have class type"),
}
PLANTED_UNIT = '''import warp as wp

@wp.func_native("""
#if defined(__CUDA_ARCH__)
{body}
#else
return x;
#endif
""")
def planted(x: float) -> float: ...

@wp.kernel
def uses_planted_{name}(a: wp.array(dtype=float)):
    i = wp.tid()
    a[i] = planted(a[i])
'''


# Errors inside Warp's own headers, in a template the unit instantiates (``+=`` of two ranges: the
# failing ``wp::add`` sits in builtin.h).  The compilers report them at the header's line, then say
# where the unit instantiated them; that line is the unit's.  In CUDA only (func_native, as above):
HEADER_CUDA = '''import warp as wp

@wp.func_native("""
#if defined(__CUDA_ARCH__)
wp::range_t r = wp::range(0, 2); wp::range_t s = r; r += s;
#endif
return x;
""")
def header_error(x: float) -> float: ...

@wp.kernel
def uses_header_error(a: wp.array(dtype=float)):
    i = wp.tid()
    a[i] = header_error(a[i])
'''
# ... and on both devices, from plain Python: a @wp.func returning a range, added to itself in the
# adjoint (a mutant the libcst mutator once made).  Python line 5 is the function's return.
HEADER_BOTH = '''import warp as wp

@wp.func
def span(lo: int, hi: int):
    return range(lo, hi)

@wp.kernel
def uses_span(a: wp.array(dtype=float), n: int):
    i = wp.tid()
    for k in span(0, n):
        a[i] = a[i] * 2.0
'''


def good(n: int) -> str:
    return GOOD.format(n=n)


@pytest.fixture(scope="module")
def extractors():
    """One single-worker extractor per level (the sandbox on, as in ``synth run``)."""
    with Extractor(ExtractOptions(workers=1, batch_size=64, cuda_check="frontend")) as fe, \
            Extractor(ExtractOptions(workers=1, batch_size=64, cuda_check="ptx")) as ptx:
        yield {"frontend": fe, "ptx": ptx}


def _batch() -> list[Unit]:
    units = [Unit(f"g{i}", good(i)) for i in range(6)]
    units.insert(3, Unit("cuda_only", CUDA_ONLY_CALL, trusted=True))
    units += [Unit(name, PLANTED_UNIT.format(body=body, name=name), trusted=True)
              for name, (body, _) in PLANTED.items()]
    units += [Unit("header_cuda", HEADER_CUDA, trusted=True), Unit("header_both", HEADER_BOTH)]
    return units


@pytest.fixture(scope="module")
def outcomes(extractors):
    return {level: ex.extract(_batch()) for level, ex in extractors.items()}


def test_cuda_only_error_is_rejected_by_the_front_end_at_its_python_line(outcomes):
    outs = outcomes["frontend"]
    by_key = {o.key: o for o in outs}
    bad = by_key["cuda_only"]
    assert isinstance(bad, Rejected) and bad.reason == "cuda_compile", bad
    assert bad.line == 14
    assert bad.message.startswith('line 14: identifier "cuda_only_undefined_symbol" is undefined'), bad.message
    # the rest of its batch is accepted
    assert all(isinstance(by_key[f"g{i}"], Accepted) for i in range(6))


def test_planted_errors_are_rejected_by_the_front_end(outcomes):
    by_key = {o.key: o for o in outcomes["frontend"]}
    for name, (_, message) in PLANTED.items():
        out = by_key[name]
        assert isinstance(out, Rejected) and out.reason == "cuda_compile", (name, out)
        assert message in out.message, (name, out.message)


def test_errors_inside_warps_headers_are_blamed_where_the_unit_instantiates_them(outcomes):
    """Not "no error on its own lines" after a bisection of the whole batch: the instantiation
    note names the unit's line, so only that unit is rejected, with the header's message."""
    by_key = {o.key: o for o in outcomes["frontend"]}
    cuda = by_key["header_cuda"]
    assert isinstance(cuda, Rejected) and cuda.reason == "cuda_compile", cuda
    assert 'no instance of overloaded function "wp::add"' in cuda.message, cuda.message
    assert "inside Warp's headers, instantiated from here" in cuda.message
    both = by_key["header_both"]
    assert isinstance(both, Rejected) and both.reason == "cpu_compile", both  # the CPU build fails first
    assert both.line == 5 and both.message.startswith("line 5: no matching function for call to 'add'"), both
    assert "inside Warp's headers" in both.message
    assert all(isinstance(by_key[f"g{i}"], Accepted) for i in range(6))


def test_both_levels_reject_alike(outcomes):
    """Same reasons, messages and lines at both levels: the repair prompts cannot tell them apart."""
    def summary(outs):
        return [(o.key, o.reason, o.message, o.line) if isinstance(o, Rejected) else (o.key, "accepted")
                for o in outs]

    assert summary(outcomes["frontend"]) == summary(outcomes["ptx"])


def test_ir_does_not_depend_on_the_check_level(outcomes):
    fe = {o.key: o for o in outcomes["frontend"] if isinstance(o, Accepted)}
    ptx = {o.key: o for o in outcomes["ptx"] if isinstance(o, Accepted)}
    assert fe.keys() == ptx.keys() and len(fe) == 6
    for key in fe:
        [a], [b] = fe[key].kernels, ptx[key].kernels
        assert a.mangled_name == b.mangled_name
        for dev in ("cpu", "cuda"):
            x, y = getattr(a, dev), getattr(b, dev)
            assert (x.forward, x.backward, x.helpers) == (y.forward, y.backward, y.helpers), (key, dev)
            assert x.forward and x.backward
        assert a.cuda.ptx is None and b.cuda.ptx is None  # PTX is stored only with --with-ptx


def test_with_ptx_implies_a_full_compile():
    opts = ExtractOptions(workers=1, with_ptx=True, cuda_check="frontend")
    assert opts.cuda_level == "ptx" and opts.pool_options().cuda_level == "ptx"
    with pytest.raises(ValueError):
        ExtractOptions(cuda_check="syntax")


def test_front_end_uses_warps_own_nvrtc_options(tmp_path):
    """Warp prints the options of its own NVRTC compile under WARP_DEBUG: ours are those, plus
    --fdevice-syntax-only."""
    cu = tmp_path / "tu.cu"
    cu.write_text('extern "C" __global__ void k(float* a) { a[0] = 2.0f * a[0]; }\n')
    script = textwrap.dedent(f"""
        import json, sys
        from warp_synth.extract import warp_adapter as wa
        wa.init_warp()
        wa.compile_cuda({str(cu)!r}, {str(tmp_path / "tu.ptx")!r}, {{}})
        sys.stdout.flush()
        print("OURS " + json.dumps(wa.nvrtc_options(syntax_only=True)))
        """)
    env = dict(os.environ, WARP_DEBUG="1", WARP_CACHE_PATH=str(tmp_path / "cache"), TMPDIR=str(tmp_path))
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=300,
                         check=True).stdout.splitlines()
    start = out.index("NVRTC options:") + 1
    warps = []
    for line in out[start:]:
        if not line.startswith("-"):
            break
        warps.append(line)
    ours = json.loads(next(line for line in out if line.startswith("OURS "))[5:])
    assert "--gpu-architecture=compute_75" in warps and "--std=c++17" in warps
    assert ours == [*warps, "--fdevice-syntax-only"]


def test_levels_say_what_they_checked():
    assert CUDA_CHECKS == ("frontend", "ptx")
    fe, ptx = verified_by("frontend"), verified_by("ptx")
    assert fe["cpu"] == ptx["cpu"] == "clang -O0 object (array bounds checked)"  # executed kernels
    assert verified_by("frontend", execute=False)["cpu"] == "clang -O0 object"
    version = nvrtc.distribution_version()
    assert version.startswith("13.") and fe["cuda"] == f"nvrtc {version} front end, sm_75"
    assert ptx["cuda"].startswith("nvrtc 13.") and ptx["cuda"].endswith(" ptx, sm_75")


def test_missing_nvrtc_is_one_line(monkeypatch):
    import importlib.metadata as md

    real = md.distribution

    def without_nvrtc(name):
        if name == nvrtc.DISTRIBUTION:
            raise md.PackageNotFoundError(name)
        return real(name)

    monkeypatch.setattr(md, "distribution", without_nvrtc)
    with pytest.raises(UserError) as e:
        verified_by("frontend")
    msg = str(e.value)
    assert "\n" not in msg and "nvidia-cuda-nvrtc" in msg and "--cuda-check ptx" in msg
    assert verified_by("ptx")["cuda"].endswith("ptx, sm_75")  # Warp's own NVRTC needs no wheel


def test_mismatched_nvrtc_is_one_line():
    with pytest.raises(nvrtc.CudaCheckUnavailable) as e:
        nvrtc.load((12, 9), 75)
    msg = str(e.value)
    assert "\n" not in msg and "NVRTC 12.9" in msg and "==12.9.*" in msg and "--cuda-check ptx" in msg


def test_synth_run_records_say_what_was_checked(tmp_path):
    out = tmp_path / "run"
    r = run_synth("run", "--offline", "--category", "atomic", "--n", "4", "--workers", "1", "--no-progress",
                  "--out", str(out))
    assert r.returncode == 0, r.stderr
    rows = read_records(out)
    assert len(rows) == 4
    version = nvrtc.distribution_version()
    assert all(row["metadata"]["verified"] == {"cpu": "clang -O0 object (array bounds checked)",
                                               "cuda": f"nvrtc {version} front end, sm_75"} for row in rows)
    settings = json.loads((out / "settings.json").read_text())
    assert settings["cuda_check"] == "frontend"
    # the level is part of the run: resuming at another level needs another --out
    r = run_synth("run", "--offline", "--category", "atomic", "--n", "5", "--workers", "1", "--no-progress",
                  "--out", str(out), "--cuda-check", "ptx")
    assert r.returncode == 2 and "cuda_check" in r.stderr
    r = run_synth("run", "--offline", "--n", "5", "--out", str(tmp_path / "x"), "--with-ptx", "--cuda-check",
                  "frontend")
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "--cuda-check ptx" in r.stderr


@pytest.mark.parametrize("level", CUDA_CHECKS)
def test_synth_verify_passes_on_a_run_at_each_level(tmp_path, level):
    out = tmp_path / level
    r = run_synth("run", "--offline", "--category", "vector", "--n", "3", "--workers", "1", "--no-progress",
                  "--cuda-check", level, "--out", str(out))
    assert r.returncode == 0, r.stderr
    r = run_synth("verify", str(out))
    assert r.returncode == 0, r.stdout + r.stderr
    assert "verified 3 of 3 records" in r.stdout
