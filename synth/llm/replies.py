"""Parsing the kernel module out of an LLM reply (statically: nothing is executed here).

* ``code_blocks``: every fenced block of a reply, with its language tag;
* ``extract_code``: the one kernel module a reply offers, or ``None`` when it holds no code
  (the caller counts that and never executes anything); ``import warp as wp`` is added when
  missing.
* ``extract_description``: the ``Description:`` line the prompt asks for (what the kernel
  computes), outside code blocks; plain text, at most ``MAX_DESCRIPTION_CHARS``.
"""

from __future__ import annotations

import ast
import re
import textwrap

_FENCE = re.compile(r"^[ \t]*(?P<fence>`{3,}|~{3,})[ \t]*(?P<info>[^\n`]*)$")
_THINK = re.compile(r"<think>.*?(?:</think>|\Z)", re.DOTALL | re.IGNORECASE)
_PYTHON_TAGS = frozenset({"", "python", "py", "python3", "py3"})
_IMPORT_WP = re.compile(r"^import warp as wp[ \t]*(#.*)?$", re.MULTILINE)
_DESCRIPTION = re.compile(r"^[ \t>*_#-]*description[*_]*[ \t]*:[*_]*[ \t]*(?P<text>.*)$", re.IGNORECASE)
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\u2028\u2029]")
MAX_DESCRIPTION_CHARS = 600


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


def extract_description(reply_text: str) -> str | None:
    """The reply's ``Description: ...`` line (and the lines that continue it up to a blank line or a
    fence), outside fenced blocks and ``<think>`` sections; None when there is none.  It is only
    ever stored as text: control characters are dropped and it is cut at a sentence end."""
    text = _THINK.sub("", reply_text or "")
    fence: str | None = None
    found: list[str] | None = None
    for line in text.splitlines():
        match = _FENCE.match(line)
        if match:
            if found:
                break
            fence = None if fence else match["fence"]
            continue
        if fence:
            continue
        if found is not None:
            if not line.strip():
                break
            found.append(line.strip())
            continue
        m = _DESCRIPTION.match(line)
        if m:
            found = [m["text"].strip()]
    if not found:
        return None
    desc = " ".join(" ".join(found).split())
    desc = _CONTROL.sub("", desc).strip(" *_")
    if len(desc) > MAX_DESCRIPTION_CHARS:
        cut = desc[:MAX_DESCRIPTION_CHARS]
        desc = cut[: cut.rfind(". ") + 1] or cut
    return desc or None


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
