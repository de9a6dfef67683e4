"""The one writer of dataset folders (``synth run`` and ``synth mine``): append-only shards.

The format itself (names, the reader and validator) is ``warp_synth.shards``.

* Records are appended and flushed (``fsync``) batch by batch; a shard rolls over at
  ``shard_records`` lines.
* Opening a folder again repairs a torn last line (a crash mid-write) by truncating the shard
  to its last complete record, and reloads every id so nothing is written twice.
* ``settings.json`` pins what makes a run *this* run (category, seed, mode, ...): a folder that
  holds another run's settings, or files that are not a warp-synth dataset, is refused.
* ``state.json`` (resume cursor) and ``stats.json`` are replaced atomically after each batch.
* ``.lock`` is held (``flock``) by the one run writing the folder, before anything is read or
  repaired: a second run on the same folder is refused instead of interleaving shards or
  truncating a line the first is writing.  The kernel drops the lock when the process ends,
  however it ends, so a killed run never leaves a stale lock behind.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from warp_synth.errors import UserError
from warp_synth.records import Record, RejectRecord
from warp_synth.shards import SETTINGS, STATE, STATS, folder_shards, shard_index, shard_path

LOCK = ".lock"
_OWN_FILES = {SETTINGS, STATE, STATS, LOCK, "README.md"}
_KEPT = "the records already written are kept, and the same command resumes once this is fixed"


class StoreError(UserError):
    """A user-facing problem with ``--out`` (printed as one line, exit status 2)."""


def write_json_atomic(path: Path, data: Any) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(data, f, indent=2, sort_keys=True)
        f.write("\n")
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def _refuse_foreign(root: Path) -> None:
    foreign = sorted(p.name for p in root.iterdir() if p.name not in _OWN_FILES)
    if foreign:
        raise StoreError(f"{root} is not empty and is not a warp-synth run folder "
                         f"(found {foreign[0]!r}); use an empty or new --out")


def _lock_folder(root: Path) -> int | None:
    """An exclusive, non-blocking ``flock`` on ``root/.lock``; the open descriptor holds it."""
    if sys.platform == "win32":  # pragma: no cover - no flock; single-writer is then the user's job
        return None
    import fcntl

    path = root / LOCK
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    except OSError as e:
        raise StoreError(f"cannot write to {root}: {e.strerror or e}") from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        holder = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
        os.close(fd)
        who = f" (pid {holder})" if holder.isdigit() else ""
        raise StoreError(f"{root} is in use by another synth run{who}; wait for it to finish or use another --out") \
            from None
    os.ftruncate(fd, 0)
    os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
    return fd


def _repair_and_scan(shard: Path) -> tuple[list[dict[str, Any]], int]:
    """Records of a shard; truncates a torn or corrupt tail. Returns (records, bytes cut)."""
    records: list[dict[str, Any]] = []
    good_end = 0
    with open(shard, "rb") as f:
        data = f.read()
    pos = 0
    while pos < len(data):
        nl = data.find(b"\n", pos)
        if nl < 0:
            break  # torn last line: no newline
        line = data[pos:nl]
        try:
            rec = json.loads(line)
            if not isinstance(rec, dict) or "id" not in rec:
                raise ValueError
        except ValueError:
            break  # a corrupt line can only be a torn write: cut from here
        records.append(rec)
        pos = nl + 1
        good_end = pos
    cut = len(data) - good_end
    if cut:
        with open(shard, "r+b") as f:
            f.truncate(good_end)
            f.flush()
            os.fsync(f.fileno())
    return records, cut


@dataclass(slots=True)
class Store:
    root: Path
    shard_records: int = 10_000
    ids: set[str] = field(default_factory=set)
    counts_by_category: dict[str, int] = field(default_factory=dict)
    repaired_bytes: int = 0
    lock_fd: int | None = None  # held for the life of the process (see module docstring)
    _shard_index: int = 0
    _shard_lines: int = 0

    @classmethod
    def open(cls, root: Path, settings: dict[str, Any], shard_records: int = 10_000) -> Store:
        try:
            root.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise StoreError(f"cannot create output folder {root}: {e.strerror or e}") from None
        if not root.is_dir():
            raise StoreError(f"{root} is not a folder")
        if not (root / SETTINGS).exists():
            _refuse_foreign(root)  # before the lock file is created, so a foreign folder stays untouched
        lock_fd = _lock_folder(root)
        try:
            store = cls._open_locked(root, settings, shard_records)
        except BaseException:
            if lock_fd is not None:
                os.close(lock_fd)
            raise
        store.lock_fd = lock_fd
        return store

    @classmethod
    def _open_locked(cls, root: Path, settings: dict[str, Any], shard_records: int) -> Store:
        settings_path = root / SETTINGS
        if settings_path.exists():
            try:
                existing = json.loads(settings_path.read_text(encoding="utf-8"))
            except (OSError, ValueError) as e:
                raise StoreError(f"{settings_path} is unreadable ({e}); refusing to touch {root}") from None
            diff = sorted(k for k in set(existing) | set(settings) if existing.get(k) != settings.get(k))
            if diff:
                shown = ", ".join(f"{k}={existing.get(k)!r} (now {settings.get(k)!r})" for k in diff[:4])
                raise StoreError(f"{root} holds a run with other settings: {shown}; use another --out")
        else:  # a new run folder (``open`` has refused a foreign one)
            try:
                write_json_atomic(settings_path, settings)
            except OSError as e:
                raise StoreError(f"cannot write to {root}: {e.strerror or e}") from None
        store = cls(root=root, shard_records=shard_records)
        store._load()
        return store

    def _load(self) -> None:
        shards = folder_shards(self.root)
        for shard in shards:
            records, cut = _repair_and_scan(shard)
            self.repaired_bytes += cut
            for r in records:
                self.ids.add(r["id"])
                cat = r.get("kernel_type", "")
                self.counts_by_category[cat] = self.counts_by_category.get(cat, 0) + 1
        if shards:
            last = shards[-1]
            self._shard_index = shard_index(last) or 0
            with open(last, "rb") as f:
                self._shard_lines = sum(1 for _ in f)
            if self._shard_lines >= self.shard_records:
                self._shard_index += 1
                self._shard_lines = 0

    def sub_store(self, name: str) -> Store:
        """A store of other rows (``RejectRecord``) in ``ROOT/name``, under this store's lock and
        with its torn-line repair; its ids are its own."""
        sub = Store(root=self.root / name, shard_records=self.shard_records)
        try:
            sub.root.mkdir(exist_ok=True)
        except OSError as e:
            raise StoreError(f"cannot create {sub.root}: {e.strerror or e}") from None
        sub._load()
        return sub

    def close(self) -> None:
        """Release the folder lock (also released when the process ends)."""
        if self.lock_fd is not None:
            os.close(self.lock_fd)
            self.lock_fd = None

    @property
    def count(self) -> int:
        return len(self.ids)

    def append(self, records: Iterable[Record | RejectRecord]) -> int:
        """Append records not already present; flushed and fsynced before returning."""
        fresh = []
        for r in records:
            if r.id in self.ids:
                continue
            self.ids.add(r.id)
            fresh.append(r)
        i = 0
        while i < len(fresh):
            room = self.shard_records - self._shard_lines
            chunk = fresh[i : i + room]
            path = shard_path(self.root, self._shard_index)
            try:
                with open(path, "a", encoding="utf-8") as f:
                    for r in chunk:
                        f.write(json.dumps(r.to_json_dict(), ensure_ascii=False) + "\n")
                    f.flush()
                    os.fsync(f.fileno())
            except OSError as e:
                raise StoreError(f"cannot write records to {path}: {e.strerror or e}; {_KEPT}") from None
            for r in chunk:
                self.counts_by_category[r.kernel_type] = self.counts_by_category.get(r.kernel_type, 0) + 1
            self._shard_lines += len(chunk)
            i += len(chunk)
            if self._shard_lines >= self.shard_records:
                self._shard_index += 1
                self._shard_lines = 0
        return len(fresh)

    def read_json(self, name: str) -> dict[str, Any] | None:
        path = self.root / name
        if not path.exists():
            return None
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return data if isinstance(data, dict) else None

    def write_json(self, name: str, data: dict[str, Any]) -> None:
        try:
            write_json_atomic(self.root / name, data)
        except OSError as e:
            raise StoreError(f"cannot write {self.root / name}: {e.strerror or e}; {_KEPT}") from None
