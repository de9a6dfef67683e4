"""The static screen admits well-formed kernel modules and rejects every other text, with a line
and a message a repair prompt can use.  One test per technique class: text tricks, module
structure, names, aliasing, annotations, decorators, values, strings, asserts, dunders."""

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

H = "import warp as wp\n"


def kern(body: str = "    a[i] = a[i] * 2.0\n", params: str = "a: wp.array(dtype=float)", dec: str = "@wp.kernel") -> str:
    """A kernel ``k`` whose line 4 (after ``H``) is ``i = wp.tid()`` and whose body follows."""
    return f"{dec}\ndef k({params}):\n    i = wp.tid()\n{body}"


def rejected(source: str) -> tuple[str | None, str, int | None]:
    r = screen(source)
    assert not r.ok, f"admitted:\n{source}"
    return r.reason, r.message, r.line


def test_admits_a_well_formed_module():
    assert screen(OK).ok


# The original cases: same sources, same verdicts; the messages now say the line and why.
@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("import os\n", "line 1: import of 'os' is not allowed (only 'import warp as wp' and 'import math')"),
        ("import warp as wp\nprint('hi')\n", "line 2: top-level calls are not allowed: a kernel module holds only "
         "imports, constants, @wp.struct classes and @wp.func/@wp.kernel definitions"),
        ("import warp as wp\nfrom os import system\n", "line 2: 'from os import system' is not allowed (only 'from "
         "typing import Any' and 'from warp import <kernel builtin or type>')"),
        ("import warp as wp\n@wp.kernel\ndef k(a: open('/tmp/x', 'w')):\n    pass\n",
         "line 3: call of 'open' is not allowed in an annotation (only wp.array(...) and the other array kinds, and "
         "wp.types.vector/matrix/quaternion/transformation(...))"),
        ("import warp as wp\n@wp.kernel\ndef k(a: 'wp.array(dtype=float)'):\n    pass\n",
         "line 3: string annotations are not allowed: Warp evaluates them as Python (write the type itself, e.g. "
         "wp.array(dtype=float))"),
        ("import warp as wp\n@wp.func\ndef f(x: float, y: float = wp.float32(1.0)) -> float:\n    return x\n",
         "line 3: a default value may not call anything (use a number, a bool or a module constant)"),
        ("import warp as wp\n@wp.kernel\ndef k(a: wp.array(dtype=float)):\n    a[0] = wp.static(1.0)\n",
         "line 4: wp.static is not allowed in LLM kernels: it evaluates Python code while Warp generates the kernel"),
        ("import warp as wp\n@wp.func_native('return 0;')\ndef f(x: float) -> float: ...\n",
         "line 2: @wp.func_native is not allowed in LLM kernels: it pastes C++ source into the generated code"),
        ("import warp as wp\nimport functools\n", "line 2: import of 'functools' is not allowed (only 'import warp as "
         "wp' and 'import math')"),
        ("import warp as wp\n@functools.cache\n@wp.kernel\ndef k(a: wp.array(dtype=float)):\n    pass\n",
         "line 2: decorator 'functools.cache' is not allowed (only @wp.kernel, @wp.func, @wp.struct, @wp.overload, "
         "@wp.func_grad(f))"),
        ("import warp as wp\n@wp.kernel\ndef k(a: wp.array(dtype=float)):\n    x = ().__class__\n",
         "line 4: attribute '__class__' is not allowed: attributes beginning with '_' (dunder and private attributes) "
         "are never allowed"),
        ("import warp as wp\nX = ().__class__.__bases__[0].__subclasses__()\n",
         "line 2: attribute '__subclasses__' is not allowed: attributes beginning with '_' (dunder and private "
         "attributes) are never allowed"),
        ("import warp as wp\nX = wp.launch\n",
         "line 2: wp.launch is not allowed in LLM kernels: it is host-side API (it launches kernels)"),
        ("import warp as wp\nif True:\n    pass\n", "line 2: top-level If statements are not allowed: a kernel module "
         "holds only imports, constants, @wp.struct classes and @wp.func/@wp.kernel definitions"),
        ("import warp as wp\n@wp.kernel\ndef k(a: wp.array(dtype=float)):\n    eval('1')\n",
         "line 4: name 'eval' is not defined (use a parameter, a local variable, a definition of this module, or "
         "wp.<builtin>)"),
        ("import warp as wp\nclass C:\n    x: int\n", "line 2: class 'C' is not a @wp.struct"),
        ("import warp as wp\nX = __import__('os')\n",
         "line 2: name '__import__' is not allowed: names beginning with '__' (dunder names) are never allowed"),
    ],
)
def test_rejects_hostile_sources_with_a_reason(source, message):
    r = screen(source)
    assert (r.ok, r.reason, r.message) == (False, "unsafe", message)
    assert r.line is not None and r.message.startswith(f"line {r.line}: ")


def test_syntax_errors_and_empty_modules():
    assert screen("def (:\n").reason == "syntax"
    r = screen("import warp as wp\nX = 1\n")
    assert (r.ok, r.reason, r.message) == (False, "syntax", "no @wp.kernel defined")


# ---------------------------------------------------------------------------- text tricks


@pytest.mark.parametrize("source", [
    "# coding: utf-7\n" + H + kern(),
    "#!/usr/bin/env python\n# -*- coding: latin-1 -*-\n" + H + kern(),
    H + "# vim: set fileencoding=utf-7 :\n" + kern(),  # a modeline anywhere
    H + "\n\n\n# vi: set fenc=shift_jis :\n" + kern(),
    "\ufeff" + H + kern(),  # a BOM
    H + "# padding \x00\n" + kern(),
    H + "# gain\x0c" + "    x = 1\n" + kern(),  # form feed: splitlines breaks the comment, the tokenizer does not
    H + "# a\x0bb\n" + kern(),
    H + "# a\x1cb\n" + kern(), H + "# a\x1db\n" + kern(), H + "# a\x1eb\n" + kern(),
    H + "# a\x85b\n" + kern(), H + "# a\u2028b\n" + kern(), H + "# a\u2029b\n" + kern(),
    H + "# notes\rX = 1\n" + kern(),  # a lone CR
    H + kern() + "# trailer\r\r\n",
    H + "# r\u00e9sum\u00e9\n" + kern(),  # any non-ASCII
    H + kern("    a[i] = a[i] * 2.0  # \u00d72\n"),
    H + "#" * 200_001 + "\n" + kern(),  # too large
])
def test_text_tricks_are_rejected(source):
    reason, message, line = rejected(source)
    assert reason == "unsafe"
    assert line is not None or "too large" in message


def test_text_trick_messages():
    assert rejected("# coding: utf-7\n" + H + kern()) == (
        "unsafe", "line 1: coding declarations are not allowed ('# coding: utf-7'): kernel modules are plain ASCII "
        "and read as UTF-8", 1)
    assert rejected(H + kern("    # gain\x0c    x = 1.0\n    a[i] = a[i] * 2.0\n")) == (
        "unsafe", "line 5: a form feed (\\x0c) is not allowed (str.splitlines() breaks the line there, Python does "
        "not): kernel modules are plain printable ASCII", 5)
    assert rejected(H + "# gain\u2028x\n" + kern())[1] == (
        "line 2: a LINE SEPARATOR (U+2028) is not allowed (str.splitlines() breaks the line there, Python does "
        "not): kernel modules must be plain ASCII (write comments and strings in ASCII)")
    assert rejected(H + "# notes\rX = 1\n" + kern())[1] == (
        "line 2: a carriage return that does not end a line (\\r without \\n) is not allowed: write \\n line ends")
    assert rejected(H + "\n\n# vim: set fenc=utf-7 :\n" + kern())[1] == (
        "line 4: editor modelines are not allowed ('# vim: set fenc=utf-7 :'): they can declare a source encoding")


def test_crlf_line_ends_and_ordinary_comments_are_fine():
    assert screen((H + kern()).replace("\n", "\r\n")).ok
    # (on line 1 or 2 that comment would be a PEP 263 cookie declaring the encoding "sin": Python refuses it)
    assert screen(H + "\n# positional encoding: sin/cos, see the vim docs\n" + kern()).ok


# ---------------------------------------------------------------------------- module structure


@pytest.mark.parametrize("source", [
    H + kern() + "if __name__ == '__main__':\n    pass\n",
    H + "try:\n    import numpy\nexcept ImportError:\n    pass\n" + kern(),
    H + "for _ in range(3):\n    pass\n" + kern(),
    H + "f = lambda: 1\n" + kern(),
    "from warp import *\n" + kern(),
    "from __future__ import annotations\n" + H + kern(),
    H + "wp.get_module_options().update({'fast_math': True})\n" + kern(),
    H + "wp.set_module_options({'cpu_compiler_flags': '-include /etc/passwd'})\n" + kern(),
    H + "wp.set_module_options({'block_dim': 10**6})\n" + kern(),
    H + "X = wp.zeros(10)\n" + kern(),
    H + "N = 1\n@wp.func\ndef N(x: float) -> float:\n    return x\n" + kern(),
    H + "float = wp.float64\n" + kern(),
    H + kern("    global X\n"),
    H + kern("    def g():\n        pass\n"),
    H + kern("    with a:\n        pass\n"),
    H + kern("    import os\n"),
    H + kern("    x = [j for j in range(3)]\n"),
    H + kern("    x = (j for j in range(3))\n"),
    H + kern("    x = {1: 2}\n"),
    H + kern("    x = (y := 2)\n"),
    H + kern("    try:\n        pass\n    except Exception:\n        pass\n"),
    H + kern("    del a\n"),
])
def test_module_structure_outside_the_allow_list_is_rejected(source):
    assert rejected(source)[0] == "unsafe"


def test_module_structure_messages():
    assert rejected(H + "try:\n    import numpy\nexcept ImportError:\n    pass\n" + kern())[1] == (
        "line 2: top-level Try statements are not allowed: a kernel module holds only imports, constants, "
        "@wp.struct classes and @wp.func/@wp.kernel definitions")
    assert rejected(H + "wp.set_module_options({'cpu_compiler_flags': '-include /etc/passwd'})\n" + kern())[1] == (
        "line 2: module option 'cpu_compiler_flags' is not allowed (allowed: enable_backward, block_dim, "
        "max_unroll; they change codegen, not the compiler)")
    assert rejected(H + kern("    def g():\n        pass\n"))[1] == "line 5: nested function definitions are not allowed"


def test_allowed_module_structure():
    src = ('"""Module docstring: any text, "quotes" and \\\\ included."""\nimport math\nimport warp as wp\n'
           "from typing import Any\nfrom warp import vec3 as V, float16\n\n"
           "wp.set_module_options({'enable_backward': False, 'block_dim': 64, 'max_unroll': 8})\n"
           + kern("    v = V(1.0, 2.0, 3.0)\n    h = float16(1.0)\n    a[i] = math.sin(a[i]) * wp.length(v) * math.pi\n"))
    assert screen(src).ok


# ---------------------------------------------------------------------------- names


@pytest.mark.parametrize(("body", "message"), [
    ("    a[i] = a[i] * static(2.0)\n", "line 5: bare 'static' is not allowed in LLM kernels: Warp resolves it as "
     "wp.static, and it evaluates Python code while Warp generates the kernel"),
    ("    a[i] = a[i] * gain\n", "line 5: name 'gain' is not defined (use a parameter, a local variable, a "
     "definition of this module, or wp.<builtin>)"),
    ("    v = vec3(1.0, 2.0, 3.0)\n", "line 5: name 'vec3' is not defined: write wp.vec3"),
    ("    f = a\n    a[i] = f(1.0)\n", "line 6: 'f' is a local variable and cannot be called: only Warp builtins, "
     "this module's functions and structs, and wp.Function parameters can be called"),
    ("    a[i] = a.fill_(1.0)\n", "line 5: call of a.fill_ is not allowed: method calls are not supported; call "
     "wp.<builtin>(...), math.<function>(...) or a function of this module"),
    ("    wp.launch(k, dim=1)\n", "line 5: wp.launch is not allowed in LLM kernels: it is host-side API (it "
     "launches kernels)"),
    ("    a[i] = wp.config.mode\n", "line 5: wp.config is not allowed in LLM kernels: it is Warp's global "
     "configuration"),
    ("    a[i] = wp.types.warp.static(1.0)\n", "line 5: wp.types is not allowed in LLM kernels: only "
     "wp.types.vector/matrix/quaternion/transformation are allowed"),
    ("    a[i] = getattr(a, 'shape')\n", "line 5: name 'getattr' is not defined (use a parameter, a local "
     "variable, a definition of this module, or wp.<builtin>)"),
    ("    a[i] = wp.get_module_options()\n", "line 5: wp.get_module_options is not allowed in LLM kernels: it "
     "exposes the module's compiler options"),
    ("    a[i] = math.factorial(3)\n", "line 5: name 'math' is not defined (use a parameter, a local variable, a "
     "definition of this module, or wp.<builtin>)"),
])
def test_names_must_resolve_to_allowed_things(body, message):
    assert rejected(H + kern(body)) == ("unsafe", message, int(message.split(":")[0].split()[1]))


def test_names_of_the_module_and_calls():
    funcs = H + "@wp.func\ndef f(x: float) -> float:\n    return x\n"
    assert rejected(funcs + kern("    a[i] = f.func(a[i])\n"))[1].startswith("line 8: call of f.func is not allowed")
    assert rejected(funcs + kern("    x = f.module\n"))[1] == (
        "line 8: attributes of 'f' are not allowed in kernel code (it is a function of this module)")
    assert rejected(H + kern() + "\n@wp.kernel\ndef k2(a: wp.array(dtype=float)):\n    k(a)\n")[1] == (
        "line 9: 'k' cannot be called (it is a kernel of this module)")
    assert rejected("import math\n" + H + kern("    a[i] = math.factorial(3.0)\n"))[1].startswith(
        "line 6: math.factorial is not allowed in LLM kernels")
    ok = ("import math\n" + H + "from typing import Any\nN = 3\n@wp.func\ndef g(x: Any, h: wp.Function) -> float:\n"
          "    return h(x) + x.dtype(1.0) + type(x)(2.0)\n" + kern("    s = float(0.0)\n    for j in range(N):\n"
                                                   "        s += wp.sin(float(j)) * math.sqrt(2.0)\n"
                                                   "    a[i] = wp.max(s, min(1.0, abs(a[i]))) + float(len(a))\n"))
    assert screen(ok).ok


# ---------------------------------------------------------------------------- aliasing


@pytest.mark.parametrize(("source", "message"), [
    (H + "W = wp\n" + kern("    a[i] = W.static(1.0)\n"),
     "line 2: the module 'wp' cannot be used as a value: modules are never aliased"),
    ("import math\n" + H + "math = wp\n" + kern(),
     "line 3: constant 'math' is not allowed: 'math' always names a module and is never rebound or aliased"),
    ("import warp as np\n" + H + kern(),
     "line 1: import of 'warp as np' is not allowed (only 'import warp as wp' and 'import math')"),
    ("import math as wp\n" + kern(),
     "line 1: import of 'math as wp' is not allowed (only 'import warp as wp' and 'import math')"),
    ("import warp\n" + H + kern(), "line 1: import of 'warp' is not allowed (only 'import warp as wp' and "
     "'import math')"),
    (H + kern("    wp = a\n    a[i] = 1.0\n"),
     "line 5: local variable 'wp' is not allowed: 'wp' always names a module and is never rebound or aliased"),
    (H + kern(params="wp: wp.array(dtype=float)"),
     "line 3: parameter 'wp' is not allowed: 'wp' always names a module and is never rebound or aliased"),
    ("from warp import static\n" + H + kern(), "line 1: 'from warp import static' is not allowed (only 'from "
     "typing import Any' and 'from warp import <kernel builtin or type>')"),
    ("from warp import types as T\n" + H + kern(), "line 1: 'from warp import types' is not allowed (only 'from "
     "typing import Any' and 'from warp import <kernel builtin or type>')"),
    (H + kern("    a[i] = wp\n"), "line 5: the module 'wp' can only be used as wp.<name> (modules are never "
     "aliased)"),
])
def test_modules_are_never_aliased_or_rebound(source, message):
    assert rejected(source)[:2] == ("unsafe", message)


# ---------------------------------------------------------------------------- annotations


@pytest.mark.parametrize(("source", "message"), [
    (H + "Gain = 'float'\n" + kern(params="a: wp.array(dtype=float), g: Gain"),
     "line 2: string constants are not allowed in a module constant: only numbers, bools and Warp values (Warp "
     "would evaluate a string used as an annotation)"),
    (H + "Gain = 2.0\n" + kern(params="a: wp.array(dtype=float), g: Gain"),
     "line 4: 'Gain' is not a type (an annotation must be a Warp type, float/int/bool, or a struct or type alias "
     "of this module)"),
    (H + "@wp.func\ndef f(x: float) -> 'float':\n    return x\n" + kern(),
     "line 3: string return annotations are not allowed: Warp evaluates them as Python (write the type itself, "
     "e.g. wp.array(dtype=float))"),
    (H + "@wp.struct\nclass S:\n    x: 'float'\n" + kern(),
     "line 4: string field annotations are not allowed: Warp evaluates them as Python (write the type itself, "
     "e.g. wp.array(dtype=float))"),
    (H + "@wp.struct\nclass S:\n    x: print('x') or float\n" + kern(),
     "line 4: BoolOp expressions are not allowed in a field annotation"),
    ("from typing import Any\n" + H + kern(params="a: wp.array(dtype=Any)")
     + "@wp.overload\ndef k(a: wp.array(dtype='float')):\n    ...\n",
     "line 8: string annotations are not allowed: Warp evaluates them as Python (write the type itself, e.g. "
     "wp.array(dtype=float))"),
    (H + kern(params="a: wp.array(dtype=float), b: wp.zeros(3)"),
     "line 3: call of 'wp.zeros' is not allowed in an annotation (only wp.array(...) and the other array kinds, "
     "and wp.types.vector/matrix/quaternion/transformation(...))"),
    (H + kern(params="a: wp.array(dtype=float), b: wp.static"),
     "line 3: wp.static is not allowed in LLM kernels: it evaluates Python code while Warp generates the kernel"),
    (H + kern(params="a: wp.array(dtype=float, shape=(65536, 65536))"),
     "line 3: argument 'shape' of wp.array(...) is not allowed in an annotation (only dtype, ndim; an array with a "
     "shape is allocated)"),
    (H + kern(params="a: wp.array(dtype=float), b: Unknown"),
     "line 3: name 'Unknown' is not defined (an annotation must be a Warp type, float/int/bool, or a struct or "
     "type alias defined above it)"),
])
def test_annotations_are_warp_type_expressions(source, message):
    assert rejected(source)[:2] == ("unsafe", message)


def test_allowed_annotations():
    src = ("from typing import Any\n" + H + "vec5 = wp.types.vector(length=5, dtype=float)\nM32 = "
           "wp.types.matrix(shape=(3, 2), dtype=wp.float64)\nReal = wp.float32\n@wp.struct\nclass S:\n    v: vec5\n"
           "    m: wp.mat33\n    n: int = 3\n@wp.func\ndef f(x: Any, y: tuple[float, int]) -> tuple[float, float]:\n"
           "    return x, x\n@wp.func\ndef g(q: wp.MeshQueryPoint, h: wp.HashGridQuery[wp.float16]) -> None:\n"
           "    pass\n"
           + kern(params="a: wp.array2d[float], b: wp.array(dtype=S, ndim=2), c: wp.array3d(dtype=vec5), "
                  "d: wp.indexedarray[wp.vec3], e: wp.uint64, m: wp.array(dtype=M32), r: Real, t: wp.array[Any]"))
    assert screen(src).ok


# ---------------------------------------------------------------------------- decorators


@pytest.mark.parametrize(("source", "message"), [
    (H + "def traced(f):\n    return f\n@traced\n" + kern(),
     "line 2: function 'traced' has no @wp.kernel/@wp.func decorator"),
    (H + "@wp.kernel\n" + kern(), "line 3: function 'k' must have exactly one decorator (@wp.kernel, @wp.func, "
     "@wp.struct, @wp.overload or @wp.func_grad(f))"),
    (H + '@wp.func(name="f\\n#include <x>")\ndef f(x: float) -> float:\n    return x\n' + kern(),
     'line 2: @wp.func(name=...) must be an identifier string such as "my_kernel"'),
    (H + kern(dec='@wp.kernel(name="k\\n#pragma once")'),
     'line 2: @wp.kernel(name=...) must be an identifier string such as "my_kernel"'),
    (H + kern(dec='@wp.kernel(module="unique")'),
     "line 2: @wp.kernel argument 'module' is not allowed (allowed: enable_backward, name, launch_bounds)"),
    (H + kern(dec="@wp.kernel(module_options={'fast_math': True})"),
     "line 2: @wp.kernel argument 'module_options' is not allowed (allowed: enable_backward, name, launch_bounds)"),
    (H + kern(dec="@wp.kernel(enable_backward=bool(1))"), "line 2: @wp.kernel(enable_backward=...) must be True "
     "or False"),
    (H + "@wp.func_grad(wp.sin)\ndef adj_f(x: float, adj_ret: float):\n    pass\n" + kern(),
     "line 2: @wp.func_grad takes exactly one argument: a @wp.func defined above"),
    (H + "@wp.struct(module='unique')\nclass S:\n    x: float\n" + kern(),
     "line 2: @wp.struct argument 'module' is not allowed (allowed: none)"),
    ("from typing import Any\n" + H + kern(params="a: wp.array(dtype=Any)")
     + "@wp.overload\ndef k(a: wp.array(dtype=wp.float32)):\n    x = 1\n",
     "line 9: a @wp.overload stub's body may only be '...', 'pass' or a docstring"),
    (H + "@wp.overload\ndef g(a: wp.array(dtype=wp.float32)):\n    ...\n" + kern(),
     "line 3: @wp.overload 'g' must follow a generic @wp.kernel of the same name"),
    (H + "@wp.func_replay(k)\ndef r(x: float):\n    pass\n" + kern(),
     "line 2: @wp.func_replay is not allowed in LLM kernels: custom replay functions are not supported in "
     "generated kernels"),
])
def test_decorators_are_allow_listed_with_typed_arguments(source, message):
    assert rejected(source)[:2] == ("unsafe", message)


def test_allowed_decorators():
    assert screen(H + '@wp.func(name="soft_clip", inline=True)\ndef f(x: float) -> float:\n    return x\n'
                  + kern(dec="@wp.kernel(enable_backward=False, launch_bounds=(256, 1))")).ok
    assert screen(H + "@wp.func\ndef f(x: float) -> float:\n    return x * 0.5\n@wp.func_grad(f)\n"
                  "def adj_f(x: float, adj_ret: float):\n    wp.adjoint[x] += adj_ret * 0.5\n"
                  + kern("    a[i] = f(a[i]) + wp.grad(f)(a[i])\n")).ok
    assert screen("from typing import Any\n" + H + kern(params="a: wp.array(dtype=Any)")
                  + '@wp.overload\ndef k(a: wp.array(dtype=wp.float32)):\n    """f32"""\n    ...\n').ok


# ---------------------------------------------------------------------------- values


@pytest.mark.parametrize(("source", "message"), [
    (H + "A = 9 ** 64\nB = A * A\nC = B * B\nD = C * C\nE = D * D\nF = E * E\nG = F * F\n" + kern(),
     "line 7: this constant can exceed 4096 bits: integer constants must stay small"),
    (H + "T = (1, 2)\nX = T * 100000000\n" + kern(),
     "line 3: tuples cannot be combined with operators in a module constant"),
    (H + "V = wp.types.vector(length=1000000000, dtype=float)\n" + kern(),
     "line 2: 1000000000 is too large for a type argument (at most 65536)"),
    (H + "V = wp.types.vector(length=4096, dtype=float)\nX = V()\n" + kern(),
     "line 3: call of 'V' is not allowed in a module constant (only wp.constant(...) and Warp value types such as "
     "wp.vec3(1.0, 0.0, 0.0))"),
    (H + "A = 2 ** (64 ** 64)\n" + kern(),
     "line 2: the right operand of ** and shifts in a module constant must be a number literal of at most 64"),
    (H + "@wp.func\ndef f(x: float, k: float = (print('x') or 2.0)) -> float:\n    return x\n" + kern(),
     "line 3: BoolOp expressions are not allowed in a default value"),
    (H + "@wp.struct\nclass P:\n    g: float = wp.float32(1.0)\n" + kern(),
     "line 4: a field default may not call anything (use a number, a bool or a module constant)"),
])
def test_import_time_values_are_literals(source, message):
    assert rejected(source)[:2] == ("unsafe", message)


def test_allowed_values():
    src = ("import math\n" + H + "N = 16\nDT = 1.0 / 60.0\nTWO_PI = 2.0 * math.pi\nMASK = (1 << 20) - 1\n"
           "AXIS = wp.constant(wp.vec3(1.0, 0.0, 0.0))\nHALF = wp.constant(wp.float16(0.5))\nNEG = -N\n"
           "vec5 = wp.types.vector(length=5, dtype=float)\nONES = vec5(1.0, 1.0, 1.0, 1.0, 1.0)\nP = wp.vec2d(3, 4)\n"
           + kern("    a[i] = a[i] * DT + TWO_PI + float(N + MASK) + AXIS[0] + float(HALF) + float(NEG) + ONES[0]\n"))
    assert screen(src).ok


# ---------------------------------------------------------------------------- strings


@pytest.mark.parametrize(("body", "message"), [
    ('    print("calibrated\\"; int x = 0; //")\n',
     "line 5: string constant 'calibrated\"; int x = 0; //' contains a double quote: strings in kernel code may "
     "hold only letters, digits, spaces, newlines and _.,:;=+*/%()<>!?#@$^&|~[]{}'- (no double quote or backslash)"),
    ("    print('a\\x22b')\n", "line 5: string constant 'a\"b' contains a double quote: strings in kernel code may "
     "hold only letters, digits, spaces, newlines and _.,:;=+*/%()<>!?#@$^&|~[]{}'- (no double quote or backslash)"),
    ("    print('a\\\\b')\n", "line 5: string constant 'a\\\\b' contains a backslash: strings in kernel code may hold "
     "only letters, digits, spaces, newlines and _.,:;=+*/%()<>!?#@$^&|~[]{}'- (no double quote or backslash)"),
    ("    print('what??/')\n", "line 5: string constant 'what??/' contains '??' (a C++ trigraph): strings in kernel "
     "code may hold only letters, digits, spaces, newlines and _.,:;=+*/%()<>!?#@$^&|~[]{}'- (no double quote or "
     "backslash)"),
    ("    if i > 0:\n        'a\"b'\n", "line 6: string constant 'a\"b' contains a double quote: strings in kernel "
     "code may hold only letters, digits, spaces, newlines and _.,:;=+*/%()<>!?#@$^&|~[]{}'- (no double quote or "
     "backslash)"),
    ("    print(f'{i}')\n", "line 5: f-strings are not allowed in kernel code"),
    ("    print(b'x')\n", "line 5: bytes constants are not allowed in kernel code"),
])
def test_strings_cannot_break_out_into_cpp(body, message):
    assert rejected(H + kern(body))[:2] == ("unsafe", message)


def test_harmless_strings_and_docstrings():
    assert screen(H + kern('    wp.printf("i = %d, a = %f\\n", i, a[i])\n    print("done: [ok]")\n'
                           '    t = wp.tile_zeros(shape=(16,), dtype=float, storage="shared")\n')).ok
    # a docstring (a constant statement directly in the body) never reaches C++: Warp skips it
    assert screen(H + '@wp.kernel\ndef k(a: wp.array(dtype=float)):\n    """The "gain" is 2 \\\\ any text."""\n'
                  "    i = wp.tid()\n    a[i] = a[i] * 2.0\n").ok


# ---------------------------------------------------------------------------- asserts


@pytest.mark.parametrize(("body", "message"), [
    ('    assert i >= 0, """index\n#include <x>\n"""\n',
     "line 5: an assert statement must fit on one line: Warp pastes its source text into a C++ string"),
    ("    assert (i >= 0 and\n            i < 10)\n",
     "line 5: an assert statement must fit on one line: Warp pastes its source text into a C++ string"),
    ('    assert i >= 0, "index must be non-negative"\n', "line 5: assert text may not contain '\"': Warp pastes it "
     "into a C++ string unescaped (use single quotes for an assert message)"),
    ("    assert i >= 0, 'x\\\",1));'\n", "line 5: assert text may not contain '\"': Warp pastes it into a C++ "
     "string unescaped (use single quotes for an assert message)"),
    ("    assert i >= 0, 'x\\x22'\n", "line 5: assert text may not contain '\\\\': Warp pastes it into a C++ string "
     "unescaped (use single quotes for an assert message)"),
    ("    assert i >= 0, i\n", "line 5: an assert message must be a string literal"),
])
def test_assert_text_cannot_break_out_into_cpp(body, message):
    assert rejected(H + kern(body))[:2] == ("unsafe", message)


def test_single_line_asserts_are_fine():
    assert screen(H + kern("    assert i >= 0, 'index must be non-negative'\n    assert a[i] < 10.0\n")).ok


# ---------------------------------------------------------------------------- dunders


@pytest.mark.parametrize(("source", "message"), [
    (H + kern("    x = a.__class__\n"), "line 5: attribute '__class__' is not allowed: attributes beginning with '_' "
     "(dunder and private attributes) are never allowed"),
    (H + kern("    x = print.__self__\n"), "line 5: attribute '__self__' is not allowed: attributes beginning with '_' "
     "(dunder and private attributes) are never allowed"),
    (H + kern("    x = a[0].__class__.x\n"), "line 5: attribute '__class__' is not allowed: attributes beginning with "
     "'_' (dunder and private attributes) are never allowed"),
    (H + kern("    x = a._ptr\n"), "line 5: attribute '_ptr' is not allowed: attributes beginning with '_' (dunder "
     "and private attributes) are never allowed"),
    (H + kern("    x = __builtins__\n"), "line 5: name '__builtins__' is not allowed: names beginning with '__' "
     "(dunder names) are never allowed"),
    (H + "@wp.struct\nclass S:\n    _x: float\n" + kern(),
     "line 4: struct field '_x' is not allowed: field names may not begin with '_'"),
    (H + "@wp.func\ndef __f(x: float) -> float:\n    return x\n" + kern(),
     "line 3: function '__f' is not allowed: names beginning with '__' are reserved"),
    (H + kern(params="a: wp.array(dtype=float), b: wp.__dict__"), "line 3: attribute '__dict__' is not allowed: "
     "attributes beginning with '_' (dunder and private attributes) are never allowed"),
])
def test_dunders_are_never_allowed(source, message):
    assert rejected(source)[:2] == ("unsafe", message)


# The forms the structs and functions template families generate (issue 15) pass as they are
FAMILY_FORMS = '''from typing import Any

import warp as wp


@wp.struct
class Particle:
    x: wp.vec3
    v: wp.vec3
    flags: int


@wp.struct
class State:
    q: wp.array(dtype=wp.vec3)


@wp.func
def step(p: Particle, dt: float) -> Particle:
    q = Particle()
    q.x = p.x + p.v * dt
    q.v = p.v
    return q


@wp.func
def sq_norm(x: float) -> float:
    return x * x


@wp.func
def sq_norm(v: wp.vec3) -> float:
    return wp.dot(v, v)


@wp.func
def lerp(a: Any, b: Any, t: Any):
    return a + (b - a) * t


@wp.func
def gather(arr: wp.array(dtype=Any), i: int):
    return arr[wp.clamp(i, 0, arr.shape[0] - 1)]


@wp.func
def safe_len(v: wp.vec3) -> float:
    return wp.sqrt(wp.dot(v, v) + 1.0e-6)


@wp.func_grad(safe_len)
def adj_safe_len(v: wp.vec3, adj_ret: float):
    wp.adjoint[v] += v * (adj_ret / safe_len(v))


@wp.func
def polar(v: wp.vec3):
    n = safe_len(v)
    return n, v / n


@wp.kernel
def k(ps: wp.array(dtype=Particle), s: State, a: wp.array(dtype=float), out: wp.array(dtype=Particle),
      r: wp.array(dtype=float)):
    i = wp.tid()
    p = step(ps[i], 0.01)
    p.x = lerp(p.x, s.q[i], 0.5)
    n, d = polar(p.x)
    out[i] = p
    r[i] = sq_norm(n) + sq_norm(d) + lerp(a[i], gather(a, i + 1), 0.25)
'''


def test_struct_and_function_family_forms_pass() -> None:
    assert screen(FAMILY_FORMS).ok, screen(FAMILY_FORMS)


@pytest.mark.parametrize(("old", "new", "message"), [
    ("@wp.func_grad(safe_len)", "@wp.func_grad(Particle)", "@wp.func_grad(Particle) must name a @wp.func defined above"),
    ("@wp.func_grad(safe_len)", "@wp.func_grad(k)", "@wp.func_grad(k) must name a @wp.func defined above"),
    ("@wp.func_grad(safe_len)", "@wp.func_grad(safe_len, name='x')", "@wp.func_grad takes exactly one argument"),
    ("@wp.func_grad(safe_len)", "@wp.func_grad(wp.length)", "@wp.func_grad takes exactly one argument"),
    ("@wp.func_grad(safe_len)", "@wp.func_grad(safe_len)\n@wp.func", "must have exactly one decorator"),
    ("@wp.func_grad(safe_len)", "@wp.func_replay(safe_len)", "@wp.func_replay is not allowed"),
    ("    wp.adjoint[v] += v * (adj_ret / safe_len(v))", "    f = wp.adjoint", "wp.adjoint is not allowed"),
    ("from typing import Any\n", "from typing import Any as T\n", "'from typing import Any' is not allowed"),
    ("from typing import Any\n", "import typing\nfrom typing import Any\n", "import of 'typing' is not allowed"),
    ("def lerp(a: Any, b: Any, t: Any):", "def lerp(a: 'Any', b: Any, t: Any):", "string annotations are not allowed"),
    ("    return a + (b - a) * t", "    return a.__class__", "attribute '__class__' is not allowed"),
    ("    return a + (b - a) * t", "    return Any", "'Any' may only be used in annotations"),
    ("@wp.func\ndef sq_norm(x: float)", "@wp.struct\nclass sq_norm:\n    x: float\n@wp.func\ndef sq_norm(x: float)",
     "'sq_norm' is already defined as a struct"),
    ("    flags: int\n", "    flags: int\n    def f(self):\n        pass\n", "@wp.struct bodies may only declare"),
    ("    q = Particle()\n", "    q = Particle.__new__(Particle)\n", "call of Particle.__new__ is not allowed"),
])
def test_hostile_variants_of_family_forms_fail(old: str, new: str, message: str) -> None:
    assert FAMILY_FORMS.count(old) >= 1, old
    r = screen(FAMILY_FORMS.replace(old, new, 1))
    assert not r.ok and message in r.message, r
