"""Progress on stderr: a bar on a terminal, one line per finished file otherwise."""

from __future__ import annotations

import io

import pytest

from warp_synth.extract.mining.files import SourceFile
from warp_synth.extract.mining.pipeline import FileReport, KernelResult
from warp_synth.extract.mining.progress import FileProgress
from warp_synth.reasons import Reason

pytestmark = pytest.mark.timeout(60)


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def _report(name: str, mined: int, skipped: int) -> FileReport:
    kernels = [KernelResult(f"k{i}", mined=True) for i in range(mined)]
    kernels += [KernelResult(f"s{i}", reason=Reason.PYTHON_OBJECT) for i in range(skipped)]
    return FileReport(SourceFile(f"/abs/{name}", f"src/{name}", name), kernels=kernels)


def test_piped_progress_is_one_line_per_finished_file() -> None:
    stream = io.StringIO()
    progress = FileProgress(2, label="synth mine", stream=stream)
    progress.file_finished(_report("b.py", 3, 1))
    progress.file_finished(_report("a.py", 1, 0))
    progress.close()
    assert stream.getvalue() == (
        "synth mine: [1/2] src/b.py: 4 kernels, 3 mined, 1 skipped\n"
        "synth mine: [2/2] src/a.py: 1 kernel, 1 mined, 0 skipped\n"
    )


def test_a_terminal_gets_a_bar_instead_of_lines() -> None:
    stream = _Terminal()
    progress = FileProgress(2, label="synth mine", stream=stream)
    assert progress.bar is not None
    progress.file_finished(_report("a.py", 2, 1))
    progress.close()
    text = stream.getvalue()
    assert "synth mine" in text and "[1/2]" not in text
    assert (progress.finished, progress.mined, progress.skipped) == (1, 2, 1)


def test_no_progress_shows_nothing() -> None:
    for stream in (io.StringIO(), _Terminal()):
        progress = FileProgress(1, label="synth mine", enabled=False, stream=stream)
        progress.file_finished(_report("a.py", 1, 0))
        progress.close()
        assert stream.getvalue() == ""
