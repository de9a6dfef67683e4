"""Parsing the kernel module out of an LLM reply (statically: nothing is executed here).

* ``code_blocks``: every fenced block of a reply, with its language tag;
* ``extract_code``: the one kernel module a reply offers, or ``None`` when it holds no code
  (the caller counts that and never executes anything); ``import warp as wp`` is added when
  missing.
"""

from __future__ import annotations

import ast
import re
import textwrap

_FENCE = re.compile(r"^[ \t]*(?P<fence>`{3,}|~{3,})[ \t]*(?P<info>[^\n`]*)$")
_THINK = re.compile(r"<think>.*?(?:</think>|\Z)", re.DOTALL | re.IGNORECASE)
_PYTHON_TAGS = frozenset({"", "python", "py", "python3", "py3"})
_IMPORT_WP = re.compile(r"^import warp as wp[ \t]*(#.*)?$", re.MULTILINE)


def code_blocks(text: str) -> list[tuple[str, str]]:
    """All fenced blocks as ``(language tag, body)``; an unclosed last fence runs to the end."""
    blocks: list[tuple[str, str]] = []
    fence: str | None = None
    tag = ""
    body: list[str] = []
    for line in text.splitlines():
        match = _FENCE.match(line)
        if fence is None:
            if match:
                fence, tag, body = match["fence"], match["info"].strip().split(" ")[0].lower(), []
        elif (
            match
            and not match["info"].strip()
            and match["fence"][0] == fence[0]
            and len(match["fence"]) >= len(fence)
        ):
            blocks.append((tag, "\n".join(body)))
            fence = None
        else:
            body.append(line)
    if fence is not None:
        blocks.append((tag, "\n".join(body)))
    return blocks


def extract_code(reply_text: str) -> str | None:
    """The kernel module in an LLM reply, or ``None`` when the reply contains no code.

    Policy: ``<think>`` sections are ignored; among fenced blocks tagged python/py (or untagged),
    the *last* one containing ``@wp.kernel`` wins (models put the final version last), else the
    last python block.  A reply without fences counts only if the whole reply parses as Python
    and contains ``@wp.kernel``.  ``import warp as wp`` is added when missing (after a module
    docstring, if any).  Nothing is executed here.
    """
    text = _THINK.sub("", reply_text or "")
    blocks = [textwrap.dedent(body).strip() for tag, body in code_blocks(text) if tag in _PYTHON_TAGS]
    blocks = [b for b in blocks if b]
    if blocks:
        with_kernel = [b for b in blocks if "@wp.kernel" in b]
        code = (with_kernel or blocks)[-1]
    else:
        code = textwrap.dedent(text).strip()
        if "@wp.kernel" not in code or not _parses(code):
            return None
    return _ensure_warp_import(code) + "\n"


def _parses(code: str) -> bool:
    try:
        ast.parse(code)
    except (SyntaxError, ValueError, RecursionError):
        return False
    return True


def _ensure_warp_import(code: str) -> str:
    if _IMPORT_WP.search(code):
        return code
    insert_at = 0
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError, RecursionError):
        tree = None
    if tree is not None and tree.body:
        first = tree.body[0]
        if (
            isinstance(first, ast.Expr)
            and isinstance(first.value, ast.Constant)
            and isinstance(first.value.value, str)
        ):
            insert_at = first.end_lineno or 0
    lines = code.splitlines()
    return "\n".join([*lines[:insert_at], "import warp as wp", *lines[insert_at:]])
