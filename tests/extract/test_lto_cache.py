"""The trusted MathDx LTO store: built once outside the workers, seeded into every worker, never written by them."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from warp_synth.extract import lto_cache
from warp_synth.extract.engine import ExtractOptions, Extractor
from warp_synth.records import Accepted, Unit

pytestmark = pytest.mark.timeout(600)

GEMM = '''import warp as wp

TILE = wp.constant(4)


@wp.kernel
def gemm(a: wp.array2d(dtype=float), b: wp.array2d(dtype=float), c: wp.array2d(dtype=float)):
    i = wp.tid()
    ta = wp.tile_load(a, shape=(TILE, TILE))
    tb = wp.tile_load(b, shape=(TILE, TILE))
    wp.tile_store(c, wp.tile_matmul(ta, tb))
'''


def _files(root: Path) -> dict[str, float]:
    return {str(p.relative_to(root)): p.stat().st_mtime for p in root.rglob("*") if p.is_file()}


def _extract(source: str) -> tuple[Accepted, float]:
    t0 = time.monotonic()
    with Extractor(ExtractOptions(workers=1, batch_size=1, seed_ltos=True)) as ex:
        (out,) = ex.extract([Unit("gemm", source)])
    assert isinstance(out, Accepted), out
    return out, time.monotonic() - t0


@pytest.mark.slow
def test_store_is_built_once_seeded_into_workers_and_changes_no_output(tmp_path, monkeypatch):
    # without a store: the worker's batch builds the GEMM's LTO itself
    monkeypatch.setenv(lto_cache.STORE_ENV, str(tmp_path / "none"))
    cold, cold_s = _extract(GEMM)

    store = tmp_path / "store"
    monkeypatch.setenv(lto_cache.STORE_ENV, str(store))
    first = lto_cache.warm([GEMM])
    assert first.errors == [] and first.built >= 1
    assert len(list((store / "warmed").iterdir())) == 1  # these sources are done on this machine
    again = lto_cache.warm([GEMM])
    assert again.errors == [] and again.built == 0  # nothing rebuilt once the store holds it

    before = _files(store)
    warm, warm_s = _extract(GEMM)
    assert _files(store) == before  # the workers only read the store
    # same code, with or without the store (the LTO's symbol and shared memory are what codegen uses)
    assert [k.cuda for k in warm.kernels] == [k.cuda for k in cold.kernels]
    assert [k.cpu for k in warm.kernels] == [k.cpu for k in cold.kernels]
    assert warm_s < cold_s  # the batch did not build the LTO again


def test_seed_copies_this_versions_ltos_only_once(tmp_path, monkeypatch):
    from warp_synth.extract import warp_adapter as wa

    monkeypatch.setenv(lto_cache.STORE_ENV, str(tmp_path / "store"))
    src = tmp_path / "store" / wa.warp_version() / "lto"
    src.mkdir(parents=True)
    (src / "abc.lto").write_bytes(b"x" * 10)
    (src / "abc.meta").write_text("{}")
    other = tmp_path / "store" / "0.0.0" / "lto"
    other.mkdir(parents=True)
    (other / "old.lto").write_bytes(b"y")
    cache = tmp_path / "cache"
    assert lto_cache.seed(str(cache)) == 2
    assert sorted(os.listdir(cache / "lto")) == ["abc.lto", "abc.meta"]
    assert lto_cache.seed(str(cache)) == 0  # already there


def test_seed_without_a_store_copies_nothing(tmp_path, monkeypatch):
    monkeypatch.setenv(lto_cache.STORE_ENV, str(tmp_path / "absent"))
    assert lto_cache.seed(str(tmp_path / "cache")) == 0


def test_a_broken_source_is_reported_not_raised(tmp_path, monkeypatch):
    monkeypatch.setenv(lto_cache.STORE_ENV, str(tmp_path / "store"))
    report = lto_cache.warm(["import warp as wp\n\n@wp.kernel\ndef k(a: wp.array(dtype=float)):\n    a[0] = nope\n"])
    assert report.built == 0
    assert len(report.errors) == 1 and "source 0" in report.errors[0]
    assert not (tmp_path / "store" / "warmed").exists()  # tried again next time


def test_children_are_told_where_the_store_is(tmp_path, monkeypatch):
    from warp_synth.extract.executors.supervisor import isolated_environment

    monkeypatch.setenv(lto_cache.STORE_ENV, str(tmp_path / "s"))
    assert isolated_environment(str(tmp_path), 0)[lto_cache.STORE_ENV] == str(tmp_path / "s")
