"""Progress of ``synth mine`` on stderr, file by file.

On a terminal (stderr is a TTY): a tqdm bar over the files, with the kernels mined and skipped
so far.  Otherwise (piped, logged): one line per file as it finishes, e.g.

    synth mine: [3/200] path/to/file.py: 4 kernels, 3 mined, 1 skipped

so a long run is never silent.  ``enabled=False`` (``--no-progress``) shows neither.
"""

from __future__ import annotations

import sys
from typing import Any, TextIO

from warp_synth.extract.mining.pipeline import FileReport


class FileProgress:
    def __init__(self, total: int, *, label: str, enabled: bool = True, stream: TextIO | None = None) -> None:
        self.total = total
        self.label = label
        self.stream = stream if stream is not None else sys.stderr
        self.finished = 0
        self.mined = 0
        self.skipped = 0
        self.bar: Any = None
        self.lines = False
        if not enabled or total == 0:
            return
        if _is_terminal(self.stream):
            from tqdm import tqdm

            self.bar = tqdm(total=total, desc=label, unit="file", file=self.stream, leave=False, dynamic_ncols=True)
        else:
            self.lines = True

    def file_finished(self, rep: FileReport) -> None:
        self.finished += 1
        self.mined += rep.mined
        self.skipped += rep.skipped
        if self.bar is not None:
            self.bar.set_postfix(mined=self.mined, skipped=self.skipped, refresh=False)
            self.bar.update(1)
        elif self.lines:
            print(f"{self.label}: [{self.finished}/{self.total}] {rep.line()}", file=self.stream, flush=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


def _is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # a closed or stream-like object without a terminal
        return False
