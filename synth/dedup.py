"""Exact deduplication by record id: nothing written twice, nothing compiled twice at once.

A record id is the hash of a kernel's normalised source (``warp_synth.identity.record_id``), so
two candidates that differ only in names, comments or layout share one id.  ``Dedup`` knows the
ids already in the store and the ids of candidates in flight; a source ``claim``s an id before
it sends a candidate to extraction and the run ``release``s it at commit.  Thread-safe: the LLM
source claims from its job threads.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable


class Dedup:
    def __init__(self, written: Iterable[str] = ()) -> None:
        self._written = written if isinstance(written, set) else set(written)  # shared with the store
        self._inflight: set[str] = set()
        self._lock = threading.Lock()

    def claim(self, record_id: str) -> bool:
        """True (and the id is now in flight) unless the id is written or already in flight."""
        with self._lock:
            if record_id in self._written or record_id in self._inflight:
                return False
            self._inflight.add(record_id)
            return True

    def release(self, record_id: str) -> None:
        with self._lock:
            self._inflight.discard(record_id)

    def is_written(self, record_id: str) -> bool:
        return record_id in self._written
