"""Trusted units (they skip the static screen) that misbehave on purpose, for engine tests."""

# func_native lets a *trusted* unit inject C++ that Warp's codegen passes through, which is the
# only way to get a kernel that passes codegen yet fails the C++/CUDA compiler.
NATIVE_BROKEN = '''import warp as wp

@wp.func_native("""return undefined_symbol_{n} * x;""")
def broken_native(x: float) -> float: ...

@wp.kernel
def uses_native_{n}(a: wp.array(dtype=float)):
    i = wp.tid()
    a[i] = broken_native(a[i])
'''

SEGFAULT = '''import ctypes
import warp as wp
ctypes.string_at(0)

@wp.kernel
def never(a: wp.array(dtype=float)):
    a[wp.tid()] = 0.0
'''

HANG = '''import time
import warp as wp
time.sleep(3600)

@wp.kernel
def never(a: wp.array(dtype=float)):
    a[wp.tid()] = 0.0
'''


def env_spy(probe: str) -> str:
    """A unit that writes the environment it is loaded in (both views of it) to ``probe``."""
    return f'''import os
import warp as wp
open({probe!r}, "w").write(repr(dict(os.environ)) + open("/proc/self/environ").read())

@wp.kernel
def spy(a: wp.array(dtype=float)):
    a[wp.tid()] = 1.0
'''
