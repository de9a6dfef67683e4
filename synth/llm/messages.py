"""The LLM chats' messages, rendered from ``prompts/chat/*.j2`` (StrictUndefined).

* ``system_message``: the Warp rules every chat starts with (``chat/system.j2``);
* ``diversify_messages``: ask for one new kernel of a category, with exemplars and a
  ``CoverageHint`` of what the dataset has not covered yet (``chat/diversify.j2``);
* ``repair_messages``: hand a rejected kernel back with extraction's reason, exact message and
  line (``chat/repair.j2``);
* ``category_definitions`` / ``feature_descriptions``: the wording in ``chat/vocabulary.j2``
  (its feature keys are exactly ``warp_synth.usage.FEATURES``).

The results are OpenAI-style message lists for ``synth.llm.client.ChatClient.complete``.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

from warp_synth.synth.jinja_env import environment, render
from warp_synth.synth.llm.coverage import CoverageHint

SYSTEM_TEMPLATE = "chat/system.j2"
DIVERSIFY_TEMPLATE = "chat/diversify.j2"
REPAIR_TEMPLATE = "chat/repair.j2"
VOCABULARY_TEMPLATE = "chat/vocabulary.j2"

# Phrases that identify each prompt kind (loopback test servers route on them).
DIVERSIFY_MARKER = "Write one new Warp kernel module"
REPAIR_MARKER = "The Warp kernel below was rejected"

MAX_EXEMPLARS = 3
MAX_ERROR_CHARS = 4000


@functools.cache
def _vocabulary() -> Any:
    return environment().get_template(VOCABULARY_TEMPLATE).module


def category_definitions() -> dict[str, str]:
    """The one-paragraph definition of each kernel category (from prompts/chat/vocabulary.j2)."""
    return dict(_vocabulary().categories)


def feature_descriptions() -> dict[str, str]:
    """The prompt wording of each language feature (keys: ``warp_synth.usage.FEATURES``)."""
    return dict(_vocabulary().features)


def system_message() -> dict[str, str]:
    return {"role": "system", "content": render(SYSTEM_TEMPLATE).strip()}


def diversify_messages(
    category: str,
    exemplars: Sequence[str],
    hint: CoverageHint | None = None,
    *,
    definition: str | None = None,
) -> list[dict[str, str]]:
    """Messages asking for one new kernel of ``category`` in the spirit of (up to 3) ``exemplars``.

    ``definition`` defaults to the category's paragraph in prompts/chat/vocabulary.j2.
    """
    if definition is None:
        definitions = category_definitions()
        if category not in definitions:
            raise KeyError(f"no definition for kernel category {category!r}; known: {', '.join(definitions)}")
        definition = definitions[category]
    content = render(
        DIVERSIFY_TEMPLATE,
        category=category,
        definition=definition,
        exemplars=[e for e in exemplars[:MAX_EXEMPLARS]],
        hint=hint if hint is not None else CoverageHint(),
    )
    return [system_message(), {"role": "user", "content": content.strip()}]


def repair_messages(
    kernel_source: str,
    error_reason: str,
    error_message: str,
    line: int | None = None,
    *,
    category: str | None = None,
) -> list[dict[str, str]]:
    """Messages asking to fix ``kernel_source`` given extraction's reason, exact message and line."""
    if len(error_message) > MAX_ERROR_CHARS:
        cut = len(error_message) - MAX_ERROR_CHARS
        error_message = f"{error_message[:MAX_ERROR_CHARS]}\n... [{cut} more characters]"
    lines = kernel_source.splitlines()
    line_text = lines[line - 1].strip() if line is not None and 0 < line <= len(lines) else ""
    content = render(
        REPAIR_TEMPLATE,
        kernel_source=kernel_source,
        error_reason=error_reason,
        error_message=error_message,
        line=line,
        line_text=line_text,
        category=category,
    )
    return [system_message(), {"role": "user", "content": content.strip()}]
