"""The static screen rejects hostile sources and admits well-formed kernel modules."""

from __future__ import annotations

import pytest

from warp_synth.extract.screen import screen

pytestmark = pytest.mark.timeout(30)

OK = '''"""doc"""
import math
import warp as wp

SCALE = wp.constant(2.5)
N = 4
AXIS = wp.constant(wp.vec3(1.0, 0.0, 0.0))

@wp.struct
class Body:
    x: wp.vec3
    m: float

@wp.func
def f(x: float, k: int = 2) -> float:
    return x * float(k)

@wp.kernel(enable_backward=False)
def k(bodies: wp.array(dtype=Body), out: wp.array2d(dtype=wp.float64), s: float):
    i, j = wp.tid()
    out[i, j] = wp.float64(f(bodies[i].m, N) * SCALE + s)
'''


def test_admits_a_well_formed_module():
    assert screen(OK).ok


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("import os\n", "import of 'os' is not allowed (only 'import warp as wp' and 'import math')"),
        ("import warp as wp\nprint('hi')\n", "top-level 'Expr' statements are not allowed"),
        ("import warp as wp\nfrom os import system\n", "top-level 'ImportFrom' statements are not allowed"),
        ("import warp as wp\n@wp.kernel\ndef k(a: open('/tmp/x', 'w')):\n    pass\n",
         "call of 'open' is not allowed in a annotation"),
        ("import warp as wp\n@wp.kernel\ndef k(a: 'wp.array(dtype=float)'):\n    pass\n",
         "string annotations are not allowed (Warp would evaluate them)"),
        ("import warp as wp\n@wp.func\ndef f(x: float, y: float = wp.float32(1.0)) -> float:\n    return x\n",
         "a default value may not call anything"),
        ("import warp as wp\n@wp.kernel\ndef k(a: wp.array(dtype=float)):\n    a[0] = wp.static(1.0)\n",
         "'wp.static' is not allowed"),
        ("import warp as wp\n@wp.func_native('return 0;')\ndef f(x: float) -> float: ...\n",
         "'wp.func_native' is not allowed"),
        ("import warp as wp\nimport functools\n", "import of 'functools' is not allowed (only 'import warp as wp' "
         "and 'import math')"),
        ("import warp as wp\n@functools.cache\n@wp.kernel\ndef k(a: wp.array(dtype=float)):\n    pass\n",
         "decorator 'functools.cache' is not allowed (only @wp.kernel, @wp.func, @wp.struct, @wp.overload)"),
        ("import warp as wp\n@wp.kernel\ndef k(a: wp.array(dtype=float)):\n    x = ().__class__\n",
         "attribute '__class__' is not allowed (private/dunder attributes)"),
        ("import warp as wp\nX = ().__class__.__bases__[0].__subclasses__()\n",
         "attribute '__subclasses__' is not allowed (private/dunder attributes)"),
        ("import warp as wp\nX = wp.launch\n", "'wp.launch' is not allowed"),
        ("import warp as wp\nif True:\n    pass\n", "top-level 'If' statements are not allowed"),
        ("import warp as wp\n@wp.kernel\ndef k(a: wp.array(dtype=float)):\n    eval('1')\n",
         "name 'eval' is not allowed in kernel code"),
        ("import warp as wp\nclass C:\n    x: int\n", "class 'C' is not a @wp.struct"),
        ("import warp as wp\nX = __import__('os')\n", "name '__import__' is not allowed (dunder names)"),
    ],
)
def test_rejects_hostile_sources_with_a_reason(source, message):
    r = screen(source)
    assert (r.ok, r.reason, r.message) == (False, "unsafe", message)


def test_syntax_errors_and_empty_modules():
    assert screen("def (:\n").reason == "syntax"
    r = screen("import warp as wp\nX = 1\n")
    assert (r.ok, r.reason, r.message) == (False, "syntax", "no @wp.kernel defined")
