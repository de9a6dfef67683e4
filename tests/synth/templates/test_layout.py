"""The template families mirror their Jinja templates: one ``synth/templates/<category>.py`` per
``prompts/kernels/<category>.j2``, registered in the order of ``CATEGORIES``."""

from __future__ import annotations

import importlib
from pathlib import Path

from warp_synth.records import CATEGORIES
from warp_synth.synth.templates import FAMILIES

ROOT = Path(__file__).resolve().parents[3]
# modules of synth/templates/ that are not category families
NON_FAMILY = {"__init__", "base", "exprgen", "kernel", "names", "types", "describe", "describe_domain", "facts"}


def test_one_family_module_per_kernel_template() -> None:
    templates = {p.stem for p in (ROOT / "prompts" / "kernels").glob("*.j2") if not p.name.startswith("_")}
    # a family may keep part of itself in <family>_<part>.py (tiles_linalg); leads live in describe_*.py
    modules = {p.stem for p in (ROOT / "synth" / "templates").glob("*.py")
               if not p.stem.startswith("describe_") and p.stem.split("_")[0] not in CATEGORIES
               or p.stem in CATEGORIES} - NON_FAMILY
    assert templates == modules == set(CATEGORIES)
    for category in CATEGORIES:
        mod = importlib.import_module(f"warp_synth.synth.templates.{category}")
        assert FAMILIES[category] is mod.family


def test_registry_order_is_categories() -> None:
    assert tuple(FAMILIES) == CATEGORIES
