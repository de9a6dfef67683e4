"""Normalised source, skeletons and ids: renaming never makes a kernel new."""

from __future__ import annotations

import textwrap

import pytest

from warp_synth.identity import (
    called_warp_names,
    normalized_and_skeleton,
    normalized_source,
    record_id,
    skeleton,
)

pytestmark = pytest.mark.timeout(30)

A = textwrap.dedent('''\
    import warp as wp

    SCALE = wp.constant(2.0)

    @wp.struct
    class Params:
        gain: float

    @wp.func
    def shape(x: float) -> float:
        """A docstring."""
        return wp.sin(x) * SCALE  # comment

    @wp.kernel
    def k(p: Params, a: wp.array(dtype=float)):
        i = wp.tid()
        a[i] = shape(a[i]) * p.gain
    ''')


def test_renaming_and_layout_do_not_make_a_kernel_new():
    b = (A.replace("shape", "bend").replace("Params", "Cfg").replace("SCALE", "K").replace(" i ", " j ")
         .replace("[i]", "[j]").replace("  # comment", "").replace('        """A docstring."""\n', ""))
    assert b != A
    assert normalized_source(A) == normalized_source(b) and record_id(A) == record_id(b)


def test_normalized_text_keeps_struct_fields_consistent():
    text = normalized_source(A)
    assert "gain: float" in text and ".gain" in text
    assert "wp.sin" in text and "dtype=float" in text


def test_constants_matter_for_ids_but_not_skeletons():
    c = A.replace("2.0", "3.0")
    assert record_id(A) != record_id(c)
    assert skeleton(A) == skeleton(c)


def test_called_builtins_ignore_annotations():
    assert called_warp_names(A) == {"sin", "tid"}


def test_one_parse_gives_both_forms():
    assert normalized_and_skeleton(A) == (normalized_source(A), skeleton(A))
