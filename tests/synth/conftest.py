"""Fixtures for tests/synth.

``compile_sources`` runs module sources through the real extraction engine — static screen,
isolated worker, Warp codegen, CPU and CUDA (NVRTC, sm_75 PTX) compile — and returns, in input
order, True or the rejection (reason: message).
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from warp_synth.extract.engine import check_sources
from warp_synth.records import Accepted


def compile_with_engine(sources: list[str]) -> list[bool | str]:
    out: list[bool | str] = []
    for o in check_sources(sources, workers=2, batch_size=16):
        out.append(True if isinstance(o, Accepted) else f"{o.reason}: {o.message}")
    return out


@pytest.fixture
def compile_sources() -> Callable[[list[str]], list[bool | str]]:
    return compile_with_engine
