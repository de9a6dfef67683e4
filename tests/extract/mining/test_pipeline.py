"""The pipeline's bookkeeping, with the slicer children and the compile workers replaced by
fakes: records are committed in file order whatever order outcomes arrive in, reasons from the
engine are typed, a pool that cannot start is a one-line error."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from pathlib import Path

import pytest

from warp_synth.extract.executors.local import WorkerStartError
from warp_synth.extract.mining import pipeline
from warp_synth.extract.mining.files import SourceFile
from warp_synth.extract.mining.pipeline import FileReport, MineError, mine, mining_options
from warp_synth.extract.mining.slices import FileSlices, KernelSlice
from warp_synth.reasons import Reason, UnknownReason
from warp_synth.records import Accepted, BackendIR, KernelIR, Rejected, Unit
from warp_synth.store import Store
from warp_synth.synth.cli import main as synth_main

pytestmark = pytest.mark.timeout(120)


def _source(name: str, body: str = "a[0] = 1.0") -> str:
    return f"import warp as wp\n\n\n@wp.kernel\ndef {name}(a: wp.array(dtype=float)):\n    {body}\n"


def _kernel_ir(name: str) -> KernelIR:
    ir = BackendIR(forward=f"void {name}_forward() {{}}\n", backward=f"void {name}_backward() {{}}\n")
    return KernelIR(name, f"{name}_0", ir, ir, 1, {"a": "array(ndim=1, dtype=float32)"}, ["tid"], f"m_{name}")


class ReversedExtractor:
    """Compiles each batch on its own thread; later units finish first.  Sources whose kernel
    name starts with ``bad`` are rejected with ``reason``."""

    reason = "codegen"
    start_error: Exception | None = None

    def __init__(self, options: object) -> None:
        self.stats = {"batches": 0.0}

    def submit_batch(self, units: list[Unit], on_done: Callable | None = None) -> Future:
        future: Future = Future()
        if self.start_error is not None:
            future.set_exception(self.start_error)
            return future

        def compile_them() -> None:
            time.sleep(max(0.0, 0.3 - 0.05 * int(units[0].key[1:])))
            self.stats["batches"] += 1
            outcomes = []
            for u in units:
                name = u.source.split("def ", 1)[1].split("(", 1)[0]
                if name.startswith("bad"):
                    outcomes.append(Rejected(u.key, self.reason, f"{name} does not compile"))
                else:
                    outcomes.append(Accepted(u.key, [_kernel_ir(name)]))
            future.set_result(outcomes)

        threading.Thread(target=compile_them, daemon=True).start()
        return future

    def close(self) -> None:
        pass


PLAN = {  # file -> its kernels: (name, source or None, reason when no source)
    "a.py": [("first", _source("first"), None), ("bad_one", _source("bad_one", "a[0] = -a[0]"), None)],
    "b.py": [("D", None, Reason.PYTHON_OBJECT)],
    "c.py": [("third", _source("third", "a[0] = a[0] + 3.0"), None), ("again", _source("first"), None)],
    "d.py": [("fourth", _source("fourth", "a[1] = a[0] * a[0]"), None)],
}


def _fake_slicing(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> list[SourceFile]:
    files = [SourceFile(str(tmp_path / name), f"src/{name}", name) for name in PLAN]

    def slice_files(found: list[SourceFile], timeout: float, on_file: Callable[[FileSlices], None]) -> dict:
        out = {}
        for sf in found:
            kernels = [KernelSlice(n, i + 1, src, reason=why, message="" if src else "a Python dict")
                       for i, (n, src, why) in enumerate(PLAN[Path(sf.path).name])]
            out[sf.path] = FileSlices(sf.path, kernels=kernels)
            on_file(out[sf.path])
        return out

    monkeypatch.setattr(pipeline, "slice_files", slice_files)
    monkeypatch.setattr(pipeline, "Extractor", ReversedExtractor)
    monkeypatch.setattr(pipeline, "BATCH_LINGER_SECONDS", 0.01)
    return files


def test_records_are_committed_in_file_order_whatever_order_outcomes_arrive(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    files = _fake_slicing(monkeypatch, tmp_path)
    finished: list[str] = []
    store = Store.open(tmp_path / "out", settings={"schema": 1, "kind": "mined"})
    try:
        result = mine(files, options=mining_options(batch_size=1), timeout=5, store=store,
                      on_file=lambda rep: finished.append(rep.file.relative))
    finally:
        store.close()
    assert sorted(finished) == sorted(PLAN)  # each file once, in whatever order it finished
    assert (result.units, result.records_written, result.duplicates) == (5, 3, 1)
    rows = [json.loads(ln) for ln in (tmp_path / "out" / "shard-00000.jsonl").read_text().splitlines()]
    assert [(r["kernel_name"], r["metadata"]["source_file"]) for r in rows] == [
        ("first", "a.py"), ("third", "c.py"), ("fourth", "d.py")
    ]
    reports: dict[str, FileReport] = {r.file.relative: r for r in result.reports}
    assert [(k.name, k.mined, k.reason) for k in reports["a.py"].kernels] == [
        ("first", True, None), ("bad_one", False, Reason.CODEGEN)
    ]
    assert reports["a.py"].kernels[1].message == "bad_one does not compile"
    assert reports["b.py"].kernels[0].reason is Reason.PYTHON_OBJECT
    assert [k.mined for k in reports["c.py"].kernels] == [True, True]  # 'again' is mined, stored once
    assert reports["c.py"].kernels[1].record_id == reports["a.py"].kernels[0].record_id


def test_an_unknown_reason_from_the_engine_is_a_typed_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    files = _fake_slicing(monkeypatch, tmp_path)
    monkeypatch.setattr(ReversedExtractor, "reason", "no_such_reason")
    with pytest.raises(UnknownReason, match="no_such_reason"):
        mine(files, options=mining_options(batch_size=1), timeout=5)


def test_no_extraction_worker_is_a_one_line_error(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _fake_slicing(monkeypatch, tmp_path)
    monkeypatch.setattr(ReversedExtractor, "start_error", WorkerStartError("the worker exited at start"))
    src = tmp_path / "src"
    src.mkdir()
    for name in PLAN:
        (src / name).write_text(_source("k"))
    monkeypatch.setattr(pipeline, "slice_files", _renamed(pipeline.slice_files, tmp_path, src))
    assert synth_main(["mine", str(src), "--out", str(tmp_path / "out"), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert err == "synth mine: error: no extraction worker could be started: the worker exited at start\n"
    assert issubclass(MineError, pipeline.UserError)


def _renamed(slice_files: Callable, fake_root: Path, real_root: Path) -> Callable:
    """The fake slicer, fed files discovered under ``real_root``."""

    def slice_real(found: list[SourceFile], timeout: float, on_file: Callable[[FileSlices], None]) -> dict:
        out = {}

        def relay(fs: FileSlices) -> None:
            fs.file = str(real_root.resolve() / Path(fs.file).name)
            out[fs.file] = fs
            on_file(fs)

        fakes = [SourceFile(str(fake_root / Path(sf.path).name), sf.display, sf.relative) for sf in found]
        slice_files(fakes, timeout, relay)
        return out

    return slice_real
