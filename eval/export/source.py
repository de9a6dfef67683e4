"""What ``synth export`` reads besides records: how each input folder was made.

Records themselves are read with the one dataset reader, ``warp_synth.shards``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from warp_synth.errors import UserError
from warp_synth.shards import SETTINGS, STATS, read_json_or_none


class ExportError(UserError):
    """An expected, user-facing problem (printed as one line, exit status 2)."""


def source_info(dirs: list[Path]) -> list[dict[str, Any]]:
    """What each input folder says about how it was made (for the card and the manifest)."""
    return [{"path": str(d), "settings": read_json_or_none(d / SETTINGS), "stats": read_json_or_none(d / STATS)}
            for d in dirs]
