"""warp-synth: verified NVIDIA Warp kernel -> generated C++/CUDA training pairs.

The one installed import package.  ``pyproject.toml`` maps it and its subpackages onto the
repository's top-level folders with setuptools' ``package-dir``:

* ``warp_synth`` itself (``core/``): the ground floor every other folder speaks: records,
  candidates, outcomes and reasons (``warp_synth.records``, ``warp_synth.reasons``), the shard
  format with its one reader and validator (``warp_synth.shards``) and its one writer
  (``warp_synth.store``), kernel identity (``warp_synth.identity``), the "what a kernel
  uses" vocabulary (``warp_synth.usage``) and the one user-facing error type
  (``warp_synth.errors``).  No Warp, no generation code.
* ``warp_synth.synth`` (``synth/``): orchestration: the CLI, the sources (templates, mutator,
  LLM), dedup and the run loop.
* ``warp_synth.extract`` (``extract/``): everything that touches Warp: screen, workers,
  executors, codegen and compile, verification and mining.
* ``warp_synth.eval`` (``eval/``): readers of datasets: reports and exports.
* ``warp_synth.prompts`` (``prompts/``): the Jinja templates, shipped as package data.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("warp-synth")
except PackageNotFoundError:  # pragma: no cover - running from a tree that was never installed
    __version__ = "0+unknown"
