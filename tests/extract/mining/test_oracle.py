"""The yardstick: on real Warp examples, what ``synth mine`` mines is what Warp compiles."""

from __future__ import annotations

from pathlib import Path

import pytest

pytestmark = pytest.mark.timeout(900)


def _warp_examples() -> Path:
    import warp

    return Path(warp.__file__).parent / "examples"


@pytest.mark.slow
def test_real_warp_examples_mined_equals_what_warp_compiles() -> None:
    """A tile FFT program and a physics program from Warp's own examples: every kernel Warp
    compiles in its original module is mined, and nothing else."""
    from warp_synth.extract.mining.oracle import compare

    ex = _warp_examples()
    table = compare([str(ex / "tile" / "example_tile_fft.py"), str(ex / "core" / "example_wave.py")])
    rows = {Path(k).name: v for k, v in table.items()}
    assert (
        rows["example_tile_fft.py"]["warp_compiles"] == rows["example_tile_fft.py"]["mined"] == ["fft_tiled"]
    )
    wave = rows["example_wave.py"]
    assert wave["kernels"] == 3 and len(wave["warp_compiles"]) == 3
    assert wave["mined"] == wave["warp_compiles"], wave["skipped"]
