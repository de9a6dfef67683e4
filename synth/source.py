"""What the run loop asks of a candidate source (offline templates + mutator, or the LLM).

The loop (``warp_synth.synth.loop``) owns scheduling, the commit and the store; a source owns
how candidates are made.  Both offline and LLM sources hand back the same thing: ``Work``, a
future of ``Attempt``s (candidate, record id, outcome), which the loop commits through one
path.  After a commit the source is told what was kept, and may answer with follow-up work
(the LLM source mutates accepted LLM kernels further).
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any, Protocol

from warp_synth.records import Attempt, Record


@dataclass(slots=True)
class Work:
    """Candidates of one category on their way through extraction."""

    category: str
    future: Future[list[Attempt]]
    units: int  # candidates it holds (the loop's need estimate counts them)
    generate_s: float = 0.0  # CPU seconds this process spent making them
    start: int = 0  # offline: first candidate index (the resume cursor never passes it)
    notes: dict[str, Any] = field(default_factory=dict)  # the source's own facts about it (LLM requests)


class Source(Protocol):
    ordered: bool  # commit in submission order (determinism) rather than completion order
    stop_reason: str  # why the source has no more work to give before the targets are met ("" if none)

    def has_room(self, inflight: int) -> bool:
        """Whether another piece of work may be started with ``inflight`` ones running."""

    def expected(self, category: str, units: int, observed_yield: float) -> float:
        """Records that ``units`` candidates in flight should still bring."""

    def next_work(self, category: str, need: float, observed_yield: float) -> Work:
        """Start work for ``category``, which still needs about ``need`` records."""

    def committed(self, work: Work, verdicts: list[tuple[Attempt, str]], records: list[Record],
                  remaining: Callable[[str], int]) -> list[Work]:
        """Learn the verdict of each attempt ("" when it became a record); return follow-up work."""

    def state(self, inflight: list[Work]) -> dict[str, Any]:
        """What ``state.json`` must hold to resume."""

    def stats(self) -> dict[str, Any] | None:
        """A section for ``stats.json`` (None: nothing to add)."""

    def postfix(self) -> dict[str, Any]:
        """Extra fields for the progress bar."""

    def summary(self, pairs_per_s: float) -> str:
        """The parenthesised tail of the run's last line."""

    def close(self) -> None: ...
