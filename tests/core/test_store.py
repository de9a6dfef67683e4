"""The dataset store: one writer per folder, and write failures that keep what is on disk."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from warp_synth.records import Record, RejectRecord
from warp_synth.shards import REJECTS, ReadCounts, find_shards, iter_rejects
from warp_synth.store import LOCK, Store, StoreError

pytestmark = pytest.mark.timeout(60)

SETTINGS = {"category": "atomic", "seed": 1, "mode": "offline"}


def _record(i: int) -> Record:
    return Record(id=f"r{i}", kernel_name=f"k{i}", kernel_type="atomic", python_source=f"# {i}\n",
                  ir={"cpu": {"forward": "void f() {}"}}, origin="template", generated_at="2026-01-01T00:00:00Z")


def test_a_second_writer_is_refused_until_the_first_lets_go(tmp_path):
    first = Store.open(tmp_path / "d", SETTINGS)
    first.append([_record(0)])
    with pytest.raises(StoreError) as e:
        Store.open(tmp_path / "d", SETTINGS)
    assert str(e.value) == (f"{tmp_path / 'd'} is in use by another synth run (pid {os.getpid()}); "
                            "wait for it to finish or use another --out")
    first.close()
    again = Store.open(tmp_path / "d", SETTINGS)
    assert again.ids == {"r0"}
    again.close()


def test_the_lock_dies_with_its_process(tmp_path):
    """A run killed outright (the kernel drops flock locks) leaves no stale lock behind."""
    code = ("import os, sys; from pathlib import Path; from warp_synth.store import Store; "
            f"Store.open(Path({str(tmp_path / 'd')!r}), {SETTINGS!r}); os._exit(0)")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).resolve().parents[2])
    assert (tmp_path / "d" / LOCK).exists()
    Store.open(tmp_path / "d", SETTINGS).close()


def test_a_foreign_folder_is_refused_without_leaving_a_lock_file(tmp_path):
    (tmp_path / "notes.txt").write_text("keep me")
    with pytest.raises(StoreError, match="is not empty and is not a warp-synth run folder"):
        Store.open(tmp_path, SETTINGS)
    assert [p.name for p in tmp_path.iterdir()] == ["notes.txt"]


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full (Linux)")
def test_a_full_disk_is_one_clear_error_and_keeps_earlier_records(tmp_path):
    root = tmp_path / "d"
    store = Store.open(root, SETTINGS, shard_records=2)
    store.append([_record(0), _record(1)])  # fills shard 0
    (root / "shard-00001.jsonl").symlink_to("/dev/full")  # every write to the next shard: ENOSPC
    with pytest.raises(StoreError) as e:
        store.append([_record(2)])
    assert str(e.value) == (f"cannot write records to {root / 'shard-00001.jsonl'}: No space left on device; "
                            "the records already written are kept, and the same command resumes once this is fixed")
    store.close()
    kept = [json.loads(line)["id"] for line in (root / "shard-00000.jsonl").read_text().splitlines()]
    assert kept == ["r0", "r1"]


def _reject(i: int, reason: str = "codegen") -> RejectRecord:
    return RejectRecord(id=f"x{i}", kernel_type="atomic", origin="mutation", python_source=f"# broken {i}\n",
                        reason=reason, message=f"error {i}", line=1, generated_at="2026-01-01T00:00:00Z",
                        parent_id="p0", chain={"id": "c0", "round": i})


def test_rejects_live_in_their_own_shards_and_survive_a_torn_line(tmp_path):
    store = Store.open(tmp_path / "d", SETTINGS)
    store.append([_record(0)])
    rejects = store.sub_store(REJECTS)
    assert rejects.append([_reject(0), _reject(1), _reject(0)]) == 2  # an id is kept once
    with open(tmp_path / "d" / REJECTS / "shard-00000.jsonl", "a") as f:
        f.write('{"id": "x2", "kernel_ty')  # a write torn by a kill
    store.close()
    again = Store.open(tmp_path / "d", SETTINGS)
    assert again.ids == {"r0"}  # the accepted shards hold records only
    sub = again.sub_store(REJECTS)
    assert sub.ids == {"x0", "x1"}  # the torn tail was cut
    counts = ReadCounts()
    got = list(iter_rejects([tmp_path / "d"], counts))
    assert [r.to_json_dict() for r in got] == [_reject(0).to_json_dict(), _reject(1).to_json_dict()]
    assert counts.records == 2 and counts.corrupt == 0
    shards = find_shards([tmp_path / "d"])  # the folder's own shards: records only
    assert [[json.loads(x)["id"] for x in p.read_text().splitlines()] for p in shards] == [["r0"]]
    again.close()


def test_reading_rejects_counts_bad_lines_and_needs_no_folder(tmp_path):
    (tmp_path / "d" / REJECTS).mkdir(parents=True)
    good = json.dumps(_reject(3).to_json_dict())
    (tmp_path / "d" / REJECTS / "shard-00000.jsonl").write_text(f'{good}\n[1]\n{{"id": "y"}}\n{good}\n')
    counts = ReadCounts()
    assert [r.id for r in iter_rejects([tmp_path / "d"], counts)] == ["x3"]
    assert counts.corrupt == 2 and counts.duplicate_ids == 1
    assert "lacks field(s): kernel_type, origin" in counts.corrupt_examples[1]
    assert list(iter_rejects([tmp_path / "empty"])) == []
