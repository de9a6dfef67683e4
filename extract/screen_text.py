"""Text rules of the static screen: the screen must read exactly the program Python and Warp read.

The worker writes ``source`` to a file with UTF-8 and imports it; Python decodes that file by its
PEP 263 coding cookie, Warp re-reads it through ``linecache`` and cuts lines with
``str.splitlines()``, which breaks lines at characters Python's tokenizer does not (``\\x0b``,
``\\x0c``, ``\\x1c``-``\\x1e``, ``\\x85``, ``\\u2028``, ``\\u2029``).  A module is therefore admitted
only if it is plain printable ASCII (plus tab and ``\\n`` or ``\\r\\n`` line ends) with no encoding
declaration: then the bytes written, the text Python decodes, the text ``ast.parse`` saw and
the lines Warp slices are one and the same.  (Non-ASCII costs real kernels little: one of the
105 kernels mined from Warp's own examples has any, in a docstring.)
"""

from __future__ import annotations

import re

MAX_SOURCE_CHARS = 200_000  # template kernels are ~1-3 KB; the largest mined example is ~20 KB

# PEP 263: the regex Python's tokenizer applies to each of the first two lines.
_CODING_COOKIE = re.compile(r"^[ \t\f]*#.*?coding[:=][ \t]*([-\w.]+)", re.ASCII)
# Editor modelines (they may declare an encoding): emacs ``-*- ... -*-``, vim ``vim: set ...``.
_MODELINE = re.compile(r"-\*-|\bvim?[<=>]?\d*:|\bex:\s*set?\s|fileencoding|\bfenc\b", re.ASCII)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]|\r(?!\n)")

_CHAR_NAMES = {
    "\x00": "a NUL character",
    "\x0b": "a vertical tab (\\x0b)",
    "\x0c": "a form feed (\\x0c)",
    "\x1c": "a file separator (\\x1c)",
    "\x1d": "a group separator (\\x1d)",
    "\x1e": "a record separator (\\x1e)",
    "\x7f": "a DEL character",
    "\x85": "a NEXT LINE character (U+0085)",
    "\u2028": "a LINE SEPARATOR (U+2028)",
    "\u2029": "a PARAGRAPH SEPARATOR (U+2029)",
    "\ufeff": "a byte-order mark (U+FEFF)",
}
_SPLITS = "\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"


class TextProblem(Exception):
    def __init__(self, line: int | None, message: str) -> None:
        super().__init__(message)
        self.line = line
        self.message = message


def _line_of(source: str, index: int) -> int:
    """The line Python's tokenizer puts ``source[index]`` on (lone CRs are rejected first)."""
    return source.count("\n", 0, index) + 1


def _describe(ch: str) -> str:
    name = _CHAR_NAMES.get(ch)
    if name is None:
        name = f"a control character (\\x{ord(ch):02x})" if ord(ch) < 128 else f"character U+{ord(ch):04X}"
    return name


def check_text(source: str) -> None:
    """Raise ``TextProblem`` unless ``source`` is plain ASCII text Python and Warp read alike."""
    if len(source) > MAX_SOURCE_CHARS:
        raise TextProblem(None, f"the module is too large ({len(source)} characters; the limit is "
                                f"{MAX_SOURCE_CHARS})")
    m = _CONTROL.search(source)
    if m is not None:
        ch = m.group()
        if ch == "\r":
            raise TextProblem(_line_of(source, m.start()), "a carriage return that does not end a line (\\r "
                              "without \\n) is not allowed: write \\n line ends")
        why = " (str.splitlines() breaks the line there, Python does not)" if ch in _SPLITS else ""
        raise TextProblem(_line_of(source, m.start()), f"{_describe(ch)} is not allowed{why}: kernel modules are "
                          "plain printable ASCII")
    if not source.isascii():
        index = next(i for i, ch in enumerate(source) if ord(ch) > 127)
        ch = source[index]
        why = " (str.splitlines() breaks the line there, Python does not)" if ch in _SPLITS else ""
        raise TextProblem(_line_of(source, index), f"{_describe(ch)} is not allowed{why}: kernel modules must be "
                          "plain ASCII (write comments and strings in ASCII)")
    lines = source.split("\n")
    for i, text in enumerate(lines[:2]):
        if _CODING_COOKIE.match(text):
            raise TextProblem(i + 1, f"coding declarations are not allowed ({text.strip()[:60]!r}): kernel modules "
                              "are plain ASCII and read as UTF-8")
    for i, text in enumerate(lines):
        hash_at = text.find("#")
        if hash_at >= 0 and _MODELINE.search(text, hash_at):
            raise TextProblem(i + 1, f"editor modelines are not allowed ({text.strip()[:60]!r}): they can "
                              "declare a source encoding")
