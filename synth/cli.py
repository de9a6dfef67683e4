"""``synth``: the command-line entry point.

Each subcommand lives in its own module exposing ``add_arguments(parser)`` and
``run(args) -> int``; this file only wires them up and turns expected failures into one-line
errors with exit status 2.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from warp_synth.errors import UserError

# subcommand -> (module, one-line help)
SUBCOMMANDS: dict[str, tuple[str, str]] = {
    "run": ("warp_synth.synth.run", "synthesize N verified kernel/IR pairs (templates + mutator, optional LLM)"),
    "mine": ("warp_synth.extract.mining.command", "mine kernels from existing Warp code into records"),
    "verify": ("warp_synth.extract.verify", "re-derive records' IR from their python_source with Warp's public API"),
    "eval": ("warp_synth.eval.report", "write a diversity evaluation report for one or more datasets"),
    "export": ("warp_synth.eval.export.command", "export datasets as Parquet + dataset card, the seed's JSON layout, or chat JSONL"),
}
# older names kept working: subcommand -> aliases
ALIASES: dict[str, list[str]] = {"mine": ["extract"]}


class _Parser(argparse.ArgumentParser):
    """argparse, but a bad command line is one line on stderr (plus a hint), exit status 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


def version_line() -> str:
    """``synth X (warp-lang Y)``, read from the installed distributions (Warp is not imported)."""
    from importlib.metadata import PackageNotFoundError, version

    from warp_synth import __version__

    try:
        warp_version = version("warp-lang")
    except PackageNotFoundError:
        warp_version = "not installed"
    return f"synth {__version__} (warp-lang {warp_version})"


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="synth", description="warp-synth: verified NVIDIA Warp kernel -> C++/CUDA training pairs"
    )
    parser.add_argument("--version", action="version", version=version_line())
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True, parser_class=_Parser)
    for name, (module_name, help_text) in SUBCOMMANDS.items():
        try:
            module = importlib.import_module(module_name)
        except ImportError as e:
            if e.name and module_name.startswith(e.name):  # the subcommand is not in this build
                continue
            raise
        p = sub.add_parser(name, help=help_text, description=help_text, aliases=ALIASES.get(name, []))
        module.add_arguments(p)
        p.set_defaults(_run=module.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args._run(args) or 0)
    except KeyboardInterrupt:
        print(f"synth {args.command}: interrupted", file=sys.stderr)
        return 130
    except UserError as e:  # expected: one line, exit status 2; anything else is a bug
        print(f"synth {args.command}: error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
