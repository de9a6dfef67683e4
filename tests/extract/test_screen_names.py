"""The screen's allow-lists (``extract/screen_names.py``) match the installed Warp, and the screen
itself never imports Warp (it runs in the parent process on every candidate)."""

from __future__ import annotations

import builtins
import math
import subprocess
import sys
import textwrap

import pytest

from warp_synth.extract import screen_names as names

pytestmark = pytest.mark.timeout(120)


def _tuple_text(items: list[str]) -> str:
    return textwrap.fill(", ".join(f'"{n}"' for n in items), width=110, initial_indent="    ",
                         subsequent_indent="    ")


def test_builtins_list_is_the_registry_minus_the_exclusions():
    from warp_synth.extract.warp_adapter import kernel_builtin_names

    registry = set(kernel_builtin_names())
    expected = sorted(registry - names.EXCLUDED_BUILTINS)
    assert registry >= names.EXCLUDED_BUILTINS
    assert set(expected) == names.WP_BUILTINS, (
        "Warp's kernel builtin registry changed; review the difference "
        f"(new: {sorted(set(expected) - names.WP_BUILTINS)}, gone: {sorted(names.WP_BUILTINS - set(expected))}) "
        "and paste into WP_BUILTINS:\n" + _tuple_text(expected))


def test_every_allowed_warp_name_exists():
    import warp as wp
    import warp.types as wt

    missing = sorted(n for n in names.WP_TYPES | names.WP_CONSTANTS | names.WP_EXTRA_FUNCS | set(names.WP_ENUMS)
                     if not hasattr(wp, n))
    assert not missing
    assert all(hasattr(wt, n) for n in names.WP_TYPE_CONSTRUCTORS)
    for cls, members in names.WP_ENUMS.items():
        assert all(isinstance(getattr(getattr(wp, cls), m), int) for m in members)
    assert all(isinstance(getattr(wp, n), float) for n in names.WP_CONSTANTS)
    assert all(hasattr(math, n) for n in names.MATH_FUNCS | names.MATH_CONSTANTS)
    assert names.MATH_FUNCS <= names.WP_BUILTINS  # Warp maps math.<f> to its builtin <f>
    assert set(dir(builtins)) & names.WP_BUILTINS >= names.BARE_BUILTINS
    assert not (names.WP_BODY & names.EXCLUDED_BUILTINS)


def test_the_screen_does_not_import_warp():
    code = ("import sys\nfrom warp_synth.extract.screen import screen\n"
            "r = screen('import warp as wp\\n@wp.kernel\\ndef k(a: wp.array(dtype=float)):\\n    a[0] = 1.0\\n')\n"
            "assert r.ok, r\nassert 'warp' not in sys.modules, 'the screen imported warp'\n")
    subprocess.run([sys.executable, "-c", code], check=True)
