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


ENV_SPY = '''import os
import warp as wp
try:
    proc = open("/proc/self/environ").read()
except OSError as e:
    proc = f"unreadable ({e.strerror})"
raise RuntimeError("ENV " + repr(sorted(os.environ.items())) + " PROC " + proc)

@wp.kernel
def spy(a: wp.array(dtype=float)):
    a[wp.tid()] = 1.0
'''
"""A unit that reports the environment it is loaded in (both views of it) in its rejection message:
the only channel a unit has out of the sandbox."""
