"""The mining pipeline: slice files in child processes, compile their units, commit records.

``mine`` slices the files on the calling thread (``files.slice_files``); each file's unit
sources go to the ``Extractor`` as soon as that file is sliced, through a ``MicroBatcher``, so
units of neighbouring files share a compile batch and compile while later files still import.
A file is *finished* once every one of its units has an outcome (at once when it has none);
``on_file`` is then called with its ``FileReport``.  Finished files are *committed* in discovery
order: records built, deduplicated by id against the dataset and this run, appended to the
``Store``.  The output is therefore the same whatever order batches finish in, and a run that is
killed keeps every file committed so far.

Every kernel is accounted for in its file's report: mined, or skipped with a typed reason
(``Reason`` from the child or the engine, the import failures from ``files``).
"""

from __future__ import annotations

import functools
import importlib.metadata
import threading
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field

from warp_synth.errors import UserError
from warp_synth.extract.engine import ExtractOptions, Extractor, MicroBatcher
from warp_synth.extract.executors.local import WorkerStartError
from warp_synth.extract.mining.files import SourceFile, slice_files
from warp_synth.extract.mining.slices import FileSlices
from warp_synth.identity import record_id
from warp_synth.reasons import Reason
from warp_synth.records import Accepted, Outcome, Record, Unit, make_record
from warp_synth.store import Store

# How long the first unit of a batch waits for more before the batch is sent anyway: long
# enough for a few files' units to share a compile, short enough to keep the workers busy.
BATCH_LINGER_SECONDS = 2.0


class MineError(UserError):
    """Mining cannot go on at all (no extraction worker starts): one line, exit status 2."""


@dataclass(slots=True)
class KernelResult:
    name: str
    mined: bool = False
    reason: Reason | None = None  # why it was skipped (None once mined)
    message: str = ""
    record_id: str | None = None
    source: str | None = None  # its unit source, until the file is committed
    outcome: Outcome | None = None  # its extraction outcome, until the file is committed


@dataclass(slots=True)
class FileReport:
    file: SourceFile
    error: Reason | None = None  # why the file could not be imported or sliced at all
    message: str = ""
    kernels: list[KernelResult] = field(default_factory=list)
    waiting: int = 0  # units sent for extraction without an outcome yet
    finished: bool = False

    @property
    def mined(self) -> int:
        return sum(k.mined for k in self.kernels)

    @property
    def skipped(self) -> int:
        return len(self.kernels) - self.mined

    def line(self) -> str:
        """``FILE: N kernels, M mined, S skipped`` (plus why the import failed, if it did)."""
        n = len(self.kernels)
        plural = "s" if n != 1 else ""
        head = f"{self.file.display}: {n} kernel{plural}, {self.mined} mined, {self.skipped} skipped"
        if self.error:
            what = "import failed" if self.error is Reason.IMPORT_ERROR else self.error
            head += f" ({what}: {self.message})"
        return head


@dataclass(slots=True)
class MineResult:
    reports: list[FileReport]  # in discovery order
    units: int  # unit sources sent for extraction
    records_written: int
    duplicates: int  # mined kernels whose record id was already in the dataset (or this run)
    pool: dict[str, float]


def warp_version() -> str:
    """The installed warp-lang version, read without importing Warp in this process."""
    try:
        return importlib.metadata.version("warp-lang")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def mining_options(workers: int = 2, batch_size: int = 32, with_ptx: bool = False) -> ExtractOptions:
    """Real programs' kernels (tile GEMMs, MLPs) compile far longer than generated ones: give
    each batch 5 minutes plus 30 s per unit before the worker is deemed hung.  No size cap: every
    kernel Warp can compile is mined, however large its generated code."""
    return ExtractOptions(
        workers=workers, batch_size=batch_size, with_ptx=with_ptx, timeout_base=300.0, timeout_per_unit=30.0,
        max_ir_kb=0,
    )


class _Miner:
    """State of one ``mine`` call; outcomes arrive on the pool's threads, so under ``lock``."""

    def __init__(
        self,
        files: list[SourceFile],
        options: ExtractOptions,
        store: Store | None,
        on_file: Callable[[FileReport], None] | None,
    ) -> None:
        self.options = options
        self.store = store
        self.on_file = on_file
        self.reports = [FileReport(sf) for sf in files]
        self.by_path = {r.file.path: r for r in self.reports}
        self.lock = threading.Lock()
        self.all_outcomes_in = threading.Condition(self.lock)
        self.in_flight = 0  # units submitted whose outcome has not been handled yet
        self.known_ids: set[str] = set(store.ids) if store is not None else set()
        self.next_to_commit = 0
        self.units = 0
        self.records_written = 0
        self.duplicates = 0
        self.failure: BaseException | None = None  # the first error raised on a pool thread
        self.extractor: Extractor | None = None
        self.batcher: MicroBatcher | None = None
        self.version = warp_version()

    # --------------------------------------------------------------- calling thread
    def run(self, timeout: float) -> MineResult:
        try:
            slice_files([r.file for r in self.reports], timeout, on_file=self.sliced)
            if self.batcher is not None:
                self.batcher.close()  # sends the last, partial batch now
            with self.all_outcomes_in:  # not the futures: their callbacks may still be running
                self.all_outcomes_in.wait_for(lambda: self.in_flight == 0)
            self.raise_failure()
            pool = self.extractor.stats if self.extractor is not None else {}
        finally:
            if self.batcher is not None:
                self.batcher.close()
            if self.extractor is not None:
                self.extractor.close()
        return MineResult(self.reports, self.units, self.records_written, self.duplicates, pool)

    def raise_failure(self) -> None:
        if self.failure is None:
            return
        if isinstance(self.failure, WorkerStartError):
            raise MineError(f"no extraction worker could be started: {self.failure}") from None
        raise self.failure

    def sliced(self, fs: FileSlices) -> None:
        """One file's slices arrived: report its kernels, send its unit sources to extraction."""
        self.raise_failure()
        rep = self.by_path[fs.file]
        with self.lock:
            rep.error, rep.message = fs.error, fs.message
            rep.kernels = [KernelResult(ks.name, reason=ks.reason, message=ks.message, source=ks.source)
                           for ks in fs.kernels]
            sliceable = [kr for kr in rep.kernels if kr.source is not None]
            rep.waiting = len(sliceable)
            self.in_flight += len(sliceable)
            if not sliceable:
                self.finish(rep)
                return
        batcher = self.start_extraction()
        for kr in sliceable:
            assert kr.source is not None
            future = batcher.submit(Unit(f"u{self.units}", kr.source, trusted=True))
            self.units += 1
            future.add_done_callback(functools.partial(self.outcome_arrived, rep, kr))

    def start_extraction(self) -> MicroBatcher:
        if self.batcher is None:
            self.extractor = Extractor(self.options)
            self.batcher = MicroBatcher(self.extractor, self.options.batch_size, linger=BATCH_LINGER_SECONDS)
        return self.batcher

    # --------------------------------------------------------------- pool threads
    def outcome_arrived(self, rep: FileReport, kr: KernelResult, future: Future[Outcome]) -> None:
        with self.lock:
            try:
                if future.cancelled() or self.failure is not None:
                    return
                exc = future.exception()
                if exc is not None:
                    self.failure = exc
                    return
                outcome = future.result()
                kr.outcome = outcome
                if isinstance(outcome, Accepted):
                    kr.mined, kr.reason, kr.message = True, None, ""
                else:
                    kr.reason, kr.message = Reason.parse(outcome.reason), outcome.message
                rep.waiting -= 1
                if rep.waiting == 0:
                    self.finish(rep)
            except BaseException as e:  # a Store error, an unknown reason: fatal, raised on the calling thread
                self.failure = e
            finally:
                self.in_flight -= 1
                if self.in_flight == 0:
                    self.all_outcomes_in.notify_all()

    # --------------------------------------------------------------- under the lock
    def finish(self, rep: FileReport) -> None:
        rep.finished = True
        if self.on_file is not None:
            self.on_file(rep)
        while self.next_to_commit < len(self.reports) and self.reports[self.next_to_commit].finished:
            self.commit(self.reports[self.next_to_commit])
            self.next_to_commit += 1

    def commit(self, rep: FileReport) -> None:
        records: list[Record] = []
        verified = getattr(self.extractor, "verified", None)
        for kr in rep.kernels:
            outcome, source = kr.outcome, kr.source
            kr.outcome = kr.source = None  # the IR lives on in the records only
            if not isinstance(outcome, Accepted) or source is None:
                continue
            kr.record_id = rid = record_id(source)
            if rid in self.known_ids:
                self.duplicates += 1
                continue
            self.known_ids.add(rid)
            records.extend(
                make_record(
                    source,
                    kir,
                    record_id=rid,
                    kernel_type="mined",
                    origin="mined",
                    warp_version=self.version,
                    extra_metadata={"source_file": rep.file.relative, "source_kernel": kr.name},
                    verified=verified,
                )
                for kir in outcome.kernels
            )
        if records and self.store is not None:
            self.records_written += self.store.append(records)
        elif records:
            self.records_written += len(records)


def mine(
    files: list[SourceFile],
    *,
    options: ExtractOptions,
    timeout: float,
    store: Store | None = None,
    on_file: Callable[[FileReport], None] | None = None,
) -> MineResult:
    """Slice and extract ``files``; accepted kernels are appended to ``store`` (when given) as
    ``kind="mined"`` records, file by file.  ``on_file`` is called as each file finishes (from
    the calling thread or an extraction thread, never two at once).

    Raises ``MineError`` when no extraction worker starts, ``StoreError`` when ``store`` cannot
    be written; records committed before that stay in the store."""
    return _Miner(files, options, store, on_file).run(timeout)
