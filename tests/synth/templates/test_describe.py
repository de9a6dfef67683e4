"""Template descriptions: present, short, and true of the source they describe; the kernels unchanged."""

from __future__ import annotations

import ast
import re

import pytest

from warp_synth.records import CATEGORIES
from warp_synth.synth.templates import TemplateSource
from warp_synth.synth.templates.facts import facts, io_sentence, redescribe

SEEDS = range(40)


def sentences(text: str) -> int:
    return len(re.findall(r"[.!?](?:\s|$)", text))


def samples(category: str) -> list:
    return [TemplateSource(seed).sample(category) for seed in SEEDS]


_TILE_WRITES = ("tile_store", "tile_atomic_add", "tile_store_indexed", "tile_atomic_add_indexed")


def stored_arrays(source: str) -> set[str]:
    """Arrays the source visibly writes: subscript targets and the first argument of atomic/tile writes."""
    out: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        targets: list[ast.expr] = []
        if isinstance(node, ast.Assign):
            targets = node.targets
        elif isinstance(node, ast.AugAssign):
            targets = [node.target]
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.args
              and (node.func.attr.startswith("atomic_") or node.func.attr in _TILE_WRITES)):
            targets = [node.args[0]]
        for t in targets:
            for sub in ast.walk(t):
                if isinstance(sub, ast.Subscript) or (isinstance(node, ast.Call) and sub is t):
                    while isinstance(sub, ast.Subscript):
                        sub = sub.value
                    if isinstance(sub, ast.Name):
                        out.add(sub.id)
    return out


@pytest.mark.parametrize("category", CATEGORIES)
def test_every_sample_has_a_short_specific_description(category: str) -> None:
    for c in samples(category):
        d = c.description
        assert d, c.provenance
        assert 1 <= sentences(d) <= 3, d
        assert "template variant" not in d, f"fallback lead used for {c.provenance['template']}: {d}"
        assert c.description_by == {"by": "template", "approximate": False, "template": c.provenance["template"]}
        assert f"`{c.provenance['kernel']}`" in d  # the facts sentence names the kernel


@pytest.mark.parametrize("category", CATEGORIES)
def test_quoted_names_occur_in_the_source(category: str) -> None:
    for c in samples(category):
        for code in re.findall(r"`([^`]+)`", c.description):
            if code in ("+=", "-=", "*=", "=", "if"):
                continue
            squeezed = code.replace(" ", "")
            assert code in c.source or squeezed in c.source.replace(" ", ""), (code, c.description, c.source)


@pytest.mark.parametrize("category", CATEGORIES)
def test_arrays_said_written_are_written(category: str) -> None:
    for c in samples(category):
        f = facts(c.source)
        written = stored_arrays(c.source)
        assert set(f.writes) <= written, (f.writes, c.source)
        assert set(f.writes) == {a for a in f.arrays if a in written}, c.source
        fs = c.description[c.description.index(f"The kernel `{f.kernel}`"):].split(";")[0]
        part = fs.replace("(wp.tile_store)", "").rsplit(")", 1)[-1].replace(f"`{f.kernel}`", "")
        claimed = set(re.findall(r"`(\w+)`", part))
        assert claimed and claimed <= written, (claimed, c.description)
        assert claimed == set(f.writes), (claimed, f.writes)


@pytest.mark.parametrize("category", CATEGORIES)
def test_builtins_and_atomics_named_are_called(category: str) -> None:
    for c in samples(category):
        for name in re.findall(r"\bwp\.(\w+)", c.description):
            assert re.search(rf"\bwp\.{name}\b", c.source), (name, c.description)
        for op in re.findall(r"wp\.atomic_(\w+)", c.description):
            assert f"wp.atomic_{op}(" in c.source


def test_atomic_scatter_names_its_index_array() -> None:
    seen = 0
    for seed in range(200):
        c = TemplateSource(seed).sample("atomic")
        if c.provenance["template"] != "atomic/scatter":
            continue
        seen += 1
        m = re.search(r"read from the index array `(\w+)`", c.description)
        assert m and re.search(rf"\b{m.group(1)}\[", c.source), c.description
    assert seen


def test_io_sentence_reads_the_source() -> None:
    src = ("import warp as wp\n\n\n@wp.kernel\ndef k(a: wp.array(dtype=float), b: wp.array2d(dtype=wp.vec3), "
           "n: int, out: wp.array(dtype=float)):\n    i = wp.tid()\n    x = a[i] * wp.sin(a[i])\n"
           "    wp.atomic_max(out, 0, x)\n    b[i, 0] = wp.vec3(x)\n")
    f = facts(src)
    assert f.reads == ["a"] and f.writes == {"out": ["atomic_max"], "b": ["="]}
    s = io_sentence(f)
    assert s == ("The kernel `k` reads `a` (1-D float32), takes the value parameter `n` (int32) and stores into `b` "
                 "and updates `out` with wp.atomic_max; it calls wp.sin.")
    mutant = src.replace("wp.atomic_max(out, 0, x)", "out[i] = x")
    assert redescribe(f"Lead. {s}", src, mutant) == ("Lead. The kernel `k` reads `a` (1-D float32), takes the value "
                                                     "parameter `n` (int32) and stores into `out` and `b`; it calls "
                                                     "wp.sin.")


def _sources() -> list[str]:
    out = []
    for seed in range(5):
        ts = TemplateSource(seed)
        out += [ts.sample(category).source for category in CATEGORIES for _ in range(2)]
    return out


def test_descriptions_do_not_change_the_kernels(monkeypatch: pytest.MonkeyPatch) -> None:
    # describing a sample must draw nothing from the families' RNGs: the same kernels come out
    # with describing switched off
    described = _sources()
    import warp_synth.synth.templates as templates

    monkeypatch.setattr(templates, "describe", lambda *a, **k: "")
    assert TemplateSource(0).sample("atomic").description == ""  # the switch is the one sample() uses
    assert _sources() == described
