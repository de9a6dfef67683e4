"""One scratch folder per benchmark run, removed when it ends.

Benchmarks compile thousands of kernels; every temporary folder they (or the processes they
start) make goes under this one, so a run leaves nothing behind in the system temp folder.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def scratch(prefix: str) -> Iterator[str]:
    with tempfile.TemporaryDirectory(prefix=prefix) as d:
        old_env, old_tempdir = os.environ.get("TMPDIR"), tempfile.tempdir
        os.environ["TMPDIR"], tempfile.tempdir = d, d  # this process and every process it starts
        try:
            yield d
        finally:
            tempfile.tempdir = old_tempdir
            if old_env is None:
                os.environ.pop("TMPDIR", None)
            else:
                os.environ["TMPDIR"] = old_env
            os.chdir(os.path.dirname(d))  # a benchmark may have chdir'd inside it
