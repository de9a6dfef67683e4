"""Why a candidate or a mined kernel did not become a record: one closed vocabulary.

Every rejection the screen, the worker, the executors, the run loop or mining reports is a
``Reason``.  Values are the stable strings that ``stats.json`` and ``synth mine`` print, so
the enum changes no file format.  ``Reason`` is a ``str`` (``Reason.CODEGEN == "codegen"``), so
it serialises to JSON as its value and works as a ``Counter`` key next to stored counts.

Text from outside this process (a worker's reply, a mining child's report) is turned into a
``Reason`` with ``Reason.parse``: an unknown value raises ``UnknownReason`` instead of entering
the counters as a typo.
"""

from __future__ import annotations

from enum import Enum


class UnknownReason(ValueError):
    """A reason string that is not a ``Reason`` value (a protocol error, never a user's)."""


class Reason(str, Enum):
    # the static screen (no code runs)
    UNSAFE = "unsafe"
    SYNTAX = "syntax"
    # the extraction worker: Warp's codegen and the compilers
    CODEGEN = "codegen"
    TOO_LARGE = "too_large"
    CPU_COMPILE = "cpu_compile"
    CUDA_COMPILE = "cuda_compile"
    # the executors: the worker itself failed on the unit
    TIMEOUT = "timeout"
    CRASH = "crash"
    # execution of a compiled kernel on the CPU (extract.execute); crash and timeout apply too
    OUT_OF_BOUNDS = "out_of_bounds"
    NON_FINITE = "non_finite"
    NONDETERMINISTIC = "nondeterministic"
    TRIVIAL = "trivial"
    # the run loop: a candidate that compiled (or never needed to) but is not kept
    DUPLICATE = "duplicate"
    SURPLUS = "surplus"
    MULTIPLE_KERNELS = "multiple_kernels"
    NO_CODE = "no_code"  # an LLM reply without a code block
    GRAD_NOT_PASSED = "grad_not_passed"  # --require-grad: the adjoint check did not pass
    EXCLUDED = "excluded"  # --exclude REF: the kernel matches a reference (a held-out benchmark)
    # mining: why a kernel found in a user's file has no self-contained source
    IMPORT_ERROR = "import_error"
    IMPORT_TIMEOUT = "import_timeout"  # the parent gave up on a file's import (the child hung) ...
    IMPORT_CRASH = "import_crash"  # ... or the child died while importing
    NOT_INSTANTIATED = "not_instantiated"
    GENERIC_WITHOUT_OVERLOADS = "generic_without_overloads"
    NO_SOURCE = "no_source"
    PYTHON_OBJECT = "python_object"
    MODULE_REFERENCE = "module_reference"
    KERNEL_REFERENCE = "kernel_reference"
    NAME_CLASH = "name_clash"
    UNSUPPORTED_TYPE = "unsupported_type"
    SLICE_ERROR = "slice_error"

    def __str__(self) -> str:
        return self.value

    def __format__(self, spec: str) -> str:
        return format(self.value, spec)

    @classmethod
    def parse(cls, value: object) -> Reason:
        """The ``Reason`` named by ``value``; ``UnknownReason`` for anything else."""
        try:
            return cls(value)
        except ValueError:
            raise UnknownReason(f"unknown rejection reason {str(value)[:40]!r}") from None


# The checks of a compiled kernel's run (extract.execute); a crash or timeout of a launch is one too.
RUNTIME_REASONS: tuple[Reason, ...] = (Reason.OUT_OF_BOUNDS, Reason.NON_FINITE, Reason.NONDETERMINISTIC, Reason.TRIVIAL)

# What extraction itself can answer (the screen, the worker and the executors), in report order.
EXTRACTION_REASONS: tuple[Reason, ...] = (
    Reason.UNSAFE, Reason.SYNTAX, Reason.CODEGEN, Reason.TOO_LARGE, Reason.CPU_COMPILE, Reason.CUDA_COMPILE,
    Reason.TIMEOUT, Reason.CRASH, Reason.OUT_OF_BOUNDS, Reason.NON_FINITE, Reason.NONDETERMINISTIC, Reason.TRIVIAL,
)
