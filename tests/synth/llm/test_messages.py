"""synth.llm.messages: the system, diversify and repair chats (and one round trip through the real client)."""

from __future__ import annotations

import random
from types import ModuleType

import jinja2
import pytest

from tests.support.openai_server import DEFAULT_MODEL, OpenAIServer, Response, by_prompt
from warp_synth.records import CATEGORIES
from warp_synth.synth.jinja_env import render
from warp_synth.synth.llm.client import ChatClient
from warp_synth.synth.llm.config import LLMConfig
from warp_synth.synth.llm.coverage import Coverage, CoverageHint
from warp_synth.synth.llm.messages import (
    DIVERSIFY_MARKER,
    DIVERSIFY_TEMPLATE,
    MAX_ERROR_CHARS,
    REPAIR_MARKER,
    category_definitions,
    diversify_messages,
    feature_descriptions,
    repair_messages,
)
from warp_synth.synth.llm.replies import extract_code
from warp_synth.usage import FEATURES

pytestmark = pytest.mark.timeout(120)

KERNEL = "@wp.kernel\ndef k(a: wp.array(dtype=float)):\n    i = wp.tid()"


def test_every_category_has_a_definition() -> None:
    definitions = category_definitions()
    assert set(definitions) == set(CATEGORIES)
    assert all(len(text.split()) >= 20 for text in definitions.values())


def test_feature_wording_keys_are_exactly_the_usage_features() -> None:
    # prompts/chat/vocabulary.j2 words each feature of the one vocabulary, in its order, and nothing else
    descriptions = feature_descriptions()
    assert list(descriptions) == list(FEATURES)
    assert all(text.strip() for text in descriptions.values())


def test_every_feature_renders_in_a_hint(k: ModuleType) -> None:
    _, user = diversify_messages("loop", [k.SAXPY], CoverageHint(features=FEATURES))
    assert "- language features: " + "; ".join(feature_descriptions()[f] for f in FEATURES) in user["content"]


def test_diversify_prompt_holds_definition_exemplars_guidance_and_rules(k: ModuleType) -> None:
    hint = CoverageHint(builtins=("exp", "cos"), dtypes=("mat33",), features=("while", "struct"))
    system, user = diversify_messages("loop", [k.SAXPY, k.RICH], hint)
    assert system["role"] == "system" and user["role"] == "user"
    text = user["content"]
    assert text.startswith(DIVERSIFY_MARKER)
    assert 'category "loop"' in text
    assert category_definitions()["loop"] in text
    assert f"```python\n{k.SAXPY.strip()}\n```" in text and f"```python\n{k.RICH.strip()}\n```" in text
    assert "- builtins: `wp.exp`, `wp.cos`" in text
    assert "- types: `wp.mat33`" in text
    features = feature_descriptions()
    assert f"- language features: {features['while']}; {features['struct']}" in text
    rules = system["content"]
    for rule in ("Define exactly one `@wp.kernel`", "No dicts", "wp.array(dtype=wp.float32)", "i = wp.tid()",
                 "Never use `wp.static`", "float literals", "for k in range(...)"):  # fmt: skip
        assert rule in rules


def test_diversify_prompt_caps_exemplars_and_omits_empty_guidance(k: ModuleType) -> None:
    exemplars = [k.SAXPY.replace("saxpy", f"kernel_{n}") for n in range(5)]
    _, user = diversify_messages("arithmetic", exemplars, CoverageHint())
    assert "kernel_2" in user["content"] and "kernel_3" not in user["content"]
    assert "not covered" not in user["content"]


def test_diversify_prompt_accepts_an_explicit_definition_and_rejects_unknown_categories(k: ModuleType) -> None:
    _, user = diversify_messages("loop", [k.SAXPY], definition="Loops over things.")
    assert "Category definition: Loops over things." in user["content"]
    with pytest.raises(KeyError, match="no definition for kernel category 'sorting'"):
        diversify_messages("sorting", [k.SAXPY])


def test_templates_fail_loudly_on_a_missing_variable() -> None:
    with pytest.raises(jinja2.UndefinedError, match="'hint' is undefined"):
        render(DIVERSIFY_TEMPLATE, category="loop", definition="d", exemplars=[])


def test_repair_prompt_holds_the_kernel_and_the_exact_error(k: ModuleType) -> None:
    error = "Error while parsing function \"saxpy\" at line 6:\n    Couldn't find function overload for 'mul'"
    system, user = repair_messages(k.SAXPY, "codegen", error, 6, category="arithmetic")
    text = user["content"]
    assert text.startswith(REPAIR_MARKER)
    assert f"```python\n{k.SAXPY.strip()}\n```" in text
    assert f"```text\n{error}\n```" in text
    assert "Failure: codegen: Warp's code generator rejected the kernel" in text
    assert "The error points at line 6: `y[i] = a * x[i] + y[i]`." in text
    assert "whole corrected module" in text
    assert "Define exactly one `@wp.kernel`" in system["content"]


def test_repair_prompt_without_a_line_and_with_a_huge_error(k: ModuleType) -> None:
    error = "E" * (MAX_ERROR_CHARS + 500)
    _, user = repair_messages(k.SAXPY, "cuda_compile", error, None)
    text = user["content"]
    assert "points at line" not in text
    assert f"{'E' * MAX_ERROR_CHARS}\n... [500 more characters]" in text


def test_diversify_then_repair_round_trip_over_http(k: ModuleType) -> None:
    broken = f"```python\nimport warp as wp\n{KERNEL}\n    x = {{}}\n```"
    fixed = f"```python\nimport warp as wp\n{KERNEL}\n    x = float(0.0)\n```"
    script = by_prompt([(REPAIR_MARKER, Response.chat(fixed))], Response.chat(broken))
    with OpenAIServer(script) as server:
        client = ChatClient(LLMConfig(base_url=server.base_url, model=DEFAULT_MODEL))
        hint = Coverage.create(k.BUILTINS).suggest(random.Random(0))
        first = extract_code(client.complete(diversify_messages("loop", [k.SAXPY], hint)).text)
        assert first is not None and "x = {}" in first
        error = 'Error while parsing function "k" at line 5: dict literals are not supported'
        second = extract_code(client.complete(repair_messages(first, "codegen", error, 5)).text)
    assert second is not None and "x = float(0.0)" in second
    diversify_request, repair_request = server.chat_requests()
    assert DIVERSIFY_MARKER in diversify_request.last_user_message
    assert error in repair_request.last_user_message and "x = {}" in repair_request.last_user_message
