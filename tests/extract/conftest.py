from __future__ import annotations

import pytest

from warp_synth.extract.engine import ExtractOptions, Extractor

GOOD = '''import warp as wp

@wp.func
def shape(x: float, k: float) -> float:
    return wp.sin(x) * k + 1.0

@wp.kernel
def {name}(a: wp.array(dtype=float), b: wp.array(dtype=float), k: float):
    i = wp.tid()
    v = shape(a[i], k)
    if v > {c}:
        v = v * 2.0
    b[i] = v
'''


def good_source(n: int) -> str:
    return GOOD.format(name=f"good_{n}", c=f"{0.25 + n / 100:.2f}")


@pytest.fixture(scope="module")
def extractor():
    with Extractor(ExtractOptions(workers=2, batch_size=16)) as ex:
        yield ex


@pytest.fixture
def good():
    return good_source
