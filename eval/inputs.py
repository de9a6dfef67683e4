"""Input checks shared by the CLI and the scanner; standard library only, so importing
``eval.report`` for ``synth``'s argument parser needs none of the optional ``eval`` extras."""

from __future__ import annotations

from pathlib import Path

from warp_synth.errors import UserError


class EvalInputError(UserError):
    """Input that cannot be evaluated: a missing DIR, a DIR without ``*.jsonl``, a bad option."""


def find_shards(d: Path) -> list[Path]:
    if not d.is_dir():
        raise EvalInputError(f"{d}: no such directory")
    shards = sorted(p for p in d.glob("*.jsonl") if p.is_file())
    if not shards:
        raise EvalInputError(f"{d}: no *.jsonl shards")
    return shards
