"""What ``pip install .`` installs: exactly one top-level import package, with every subpackage
and the templates, and the ``synth`` console script."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

try:  # Python >= 3.11
    import tomllib
except ModuleNotFoundError:  # pragma: no cover - Python 3.10
    import tomli as tomllib  # type: ignore[no-redef]

pytestmark = pytest.mark.timeout(300)

ROOT = Path(__file__).resolve().parents[2]


def _pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def test_every_package_folder_is_listed_in_pyproject() -> None:
    setuptools = _pyproject()["tool"]["setuptools"]
    mapping: dict[str, str] = setuptools["package-dir"]
    found = set()
    for package, folder in mapping.items():
        for init in (ROOT / folder).rglob("__init__.py"):
            rel = init.parent.relative_to(ROOT / folder)
            found.add(".".join([package, *rel.parts]))
    # a mapped subpackage is found from its own folder and from its parent's (same name)
    assert found == set(setuptools["packages"])


@pytest.mark.slow
def test_the_wheel_holds_one_top_level_package_with_templates_and_the_console_script(tmp_path: Path) -> None:
    # build from a copy of the tracked files, as a fresh clone would (setuptools' build/ folder
    # would otherwise keep stale modules of the working tree)
    tree = tmp_path / "tree"
    files = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout
    for rel in filter(None, files.decode().split("\0")):
        if (ROOT / rel).is_file():
            (tree / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / rel, tree / rel)
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path), str(tree)],
                   check=True, timeout=240)
    (wheel,) = tmp_path.glob("warp_synth-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    top = {n.split("/")[0] for n in names if not n.split("/")[0].endswith(".dist-info")}
    assert top == {"warp_synth"}
    for required in ("warp_synth/__init__.py", "warp_synth/records.py", "warp_synth/synth/cli.py",
                     "warp_synth/extract/worker.py", "warp_synth/eval/report.py",
                     "warp_synth/prompts/kernels/atomic.j2", "warp_synth/prompts/chat/repair.j2"):
        assert required in names
    (entry_points,) = [n for n in names if n.endswith(".dist-info/entry_points.txt")]
    text = zipfile.ZipFile(wheel).read(entry_points).decode()
    assert "synth = warp_synth.synth.cli:main" in text
