"""Chat prompts, coverage guidance and reply parsing (and one round trip through the real client)."""

from __future__ import annotations

import json
import random
import textwrap

import jinja2
import pytest
from warp_synth.records import CATEGORIES
from warp_synth.synth.jinja_env import render
from warp_synth.synth.llm.chat import (
    DIVERSIFY_MARKER,
    DIVERSIFY_TEMPLATE,
    MAX_ERROR_CHARS,
    REPAIR_MARKER,
    Coverage,
    CoverageHint,
    category_definitions,
    code_blocks,
    diversify_messages,
    extract_code,
    feature_descriptions,
    repair_messages,
    scan,
    suggestible_builtins,
)
from warp_synth.synth.llm.client import ChatClient, LLMConfig

from tests.support.openai_server import DEFAULT_MODEL, OpenAIServer, Response, by_prompt

pytestmark = pytest.mark.timeout(120)

SAXPY = textwrap.dedent(
    """\
    import warp as wp

    @wp.kernel
    def saxpy(x: wp.array(dtype=wp.float32), y: wp.array(dtype=wp.float32), a: float):
        i = wp.tid()
        y[i] = a * x[i] + y[i]
    """
)

RICH = textwrap.dedent(
    """\
    import warp as wp

    LIMIT = wp.constant(8)

    @wp.struct
    class Params:
        scale: wp.float64

    @wp.func
    def square(v: float) -> float:
        return v * v

    @wp.kernel
    def rich(grid: wp.array2d(dtype=wp.vec3), counts: wp.array(dtype=wp.int32), p: Params):
        i, j = wp.tid()
        acc = float(0.0)
        k = int(0)
        while k < LIMIT:
            for m in range(3):
                if m == 0 and k > 1:
                    continue
                elif m == 2 or k == 5:
                    break
                else:
                    acc += square(wp.sin(grid[i, j][m]))
            k += 1
        acc = acc if acc > 0.0 else -acc
        wp.atomic_add(counts, 0, 1)
        grid[i, j] = wp.normalize(grid[i, j]) * acc
    """
)

BUILTINS = [
    "sin",
    "cos",
    "normalize",
    "atomic_add",
    "add",
    "mul",
    "mesh_query_point",
    "tile_sum",
    "tid",
    "exp",
]


# --------------------------------------------------------------------------- prompts


def test_every_category_has_a_definition() -> None:
    definitions = category_definitions()
    assert set(definitions) == set(CATEGORIES)
    assert all(len(text.split()) >= 20 for text in definitions.values())


def test_diversify_prompt_holds_definition_exemplars_guidance_and_rules() -> None:
    hint = CoverageHint(builtins=("exp", "cos"), dtypes=("mat33",), features=("while", "struct"))
    system, user = diversify_messages("loop", [SAXPY, RICH], hint)
    assert system["role"] == "system" and user["role"] == "user"
    text = user["content"]
    assert text.startswith(DIVERSIFY_MARKER)
    assert 'category "loop"' in text
    assert category_definitions()["loop"] in text
    assert f"```python\n{SAXPY.strip()}\n```" in text and f"```python\n{RICH.strip()}\n```" in text
    assert "- builtins: `wp.exp`, `wp.cos`" in text
    assert "- types: `wp.mat33`" in text
    features = feature_descriptions()
    assert f"- language features: {features['while']}; {features['struct']}" in text
    rules = system["content"]
    for rule in ("Define exactly one `@wp.kernel`", "No dicts", "wp.array(dtype=wp.float32)", "i = wp.tid()",
                 "Never use `wp.static`", "float literals", "for k in range(...)"):  # fmt: skip
        assert rule in rules


def test_diversify_prompt_caps_exemplars_and_omits_empty_guidance() -> None:
    exemplars = [SAXPY.replace("saxpy", f"kernel_{n}") for n in range(5)]
    _, user = diversify_messages("arithmetic", exemplars, CoverageHint())
    assert "kernel_2" in user["content"] and "kernel_3" not in user["content"]
    assert "not covered" not in user["content"]


def test_diversify_prompt_accepts_an_explicit_definition_and_rejects_unknown_categories() -> None:
    _, user = diversify_messages("loop", [SAXPY], definition="Loops over things.")
    assert "Category definition: Loops over things." in user["content"]
    with pytest.raises(KeyError, match="no definition for kernel category 'sorting'"):
        diversify_messages("sorting", [SAXPY])


def test_templates_fail_loudly_on_a_missing_variable() -> None:
    with pytest.raises(jinja2.UndefinedError, match="'hint' is undefined"):
        render(DIVERSIFY_TEMPLATE, category="loop", definition="d", exemplars=[])


def test_repair_prompt_holds_the_kernel_and_the_exact_error() -> None:
    error = "Error while parsing function \"saxpy\" at line 6:\n    Couldn't find function overload for 'mul'"
    system, user = repair_messages(SAXPY, "codegen", error, 6, category="arithmetic")
    text = user["content"]
    assert text.startswith(REPAIR_MARKER)
    assert f"```python\n{SAXPY.strip()}\n```" in text
    assert f"```text\n{error}\n```" in text
    assert "Failure: codegen: Warp's code generator rejected the kernel" in text
    assert "The error points at line 6: `y[i] = a * x[i] + y[i]`." in text
    assert "whole corrected module" in text
    assert "Define exactly one `@wp.kernel`" in system["content"]


def test_repair_prompt_without_a_line_and_with_a_huge_error() -> None:
    error = "E" * (MAX_ERROR_CHARS + 500)
    _, user = repair_messages(SAXPY, "cuda_compile", error, None)
    text = user["content"]
    assert "points at line" not in text
    assert f"{'E' * MAX_ERROR_CHARS}\n... [500 more characters]" in text


# --------------------------------------------------------------------------- coverage


def test_scan_finds_builtins_dtypes_and_features() -> None:
    usage = scan(RICH)
    assert {"sin", "normalize", "atomic_add", "mul", "add", "neg"} <= usage.builtins
    assert usage.dtypes == {"float64", "vec3", "int32", "float32"}
    assert usage.features == {
        "while", "for", "if", "elif", "break", "continue", "nested_loop", "bool_op", "ternary",
        "aug_assign", "wp_func", "struct", "atomic", "multi_dim", "constant",
    }  # fmt: skip
    assert scan(SAXPY).features == {"scalar_param"}
    assert scan("def broken(:\n") == scan("")


def test_every_feature_in_the_prompt_vocabulary_is_detectable() -> None:
    tile = "import warp as wp\n@wp.kernel\ndef t(a: wp.array(dtype=float)):\n    s = wp.tile_sum(wp.tile_load(a, 4))\n"
    detected = scan(RICH).features | scan(SAXPY).features | scan(tile).features
    assert set(feature_descriptions()) == detected


def test_suggestible_builtins_drop_scene_objects_operators_and_plumbing() -> None:
    assert suggestible_builtins(BUILTINS) == ["atomic_add", "cos", "exp", "normalize", "sin", "tile_sum"]


def test_coverage_reports_what_is_not_yet_covered() -> None:
    coverage = Coverage.create(BUILTINS)
    assert coverage.uncovered("builtins") == ["atomic_add", "cos", "exp", "normalize", "sin", "tile_sum"]
    coverage.observe(RICH)
    assert coverage.uncovered("builtins") == ["cos", "exp", "tile_sum"]
    assert "vec3" not in coverage.uncovered("dtypes") and "mat33" in coverage.uncovered("dtypes")
    assert coverage.uncovered("features") == ["tile", "scalar_param"]  # universe order
    assert coverage.summary()["builtins"] == {"covered": 3, "total": 6}
    assert coverage.kernels_seen == 1


def test_suggestions_prefer_uncovered_names_and_are_rng_driven() -> None:
    coverage = Coverage.create(BUILTINS)
    coverage.observe(RICH)
    hint = coverage.suggest(random.Random(7), builtins=3, dtypes=2, features=2)
    assert sorted(hint.builtins) == ["cos", "exp", "tile_sum"]
    assert sorted(hint.features) == ["scalar_param", "tile"]
    assert all(name in coverage.uncovered("dtypes") for name in hint.dtypes)
    assert coverage.suggest(random.Random(7)) == coverage.suggest(random.Random(7))
    picks = {coverage.suggest(random.Random(seed), dtypes=1).dtypes for seed in range(20)}
    assert len(picks) > 1


def test_suggestions_fall_back_to_least_used_once_everything_is_covered() -> None:
    coverage = Coverage(builtins=("sin", "cos"), dtypes=("float32",), features=("for",))
    coverage.observe("import warp as wp\n@wp.kernel\ndef k():\n    x = wp.sin(1.0)\n")
    coverage.observe("import warp as wp\n@wp.kernel\ndef k():\n    x = wp.sin(1.0) + wp.cos(1.0)\n")
    assert coverage.uncovered("builtins") == []
    assert coverage.suggest(random.Random(0), builtins=1).builtins == ("cos",)


def test_coverage_round_trips_through_json() -> None:
    coverage = Coverage.create(BUILTINS)
    coverage.observe(RICH)
    coverage.observe(SAXPY)
    restored = Coverage.from_dict(json.loads(json.dumps(coverage.to_dict())))
    assert restored.to_dict() == coverage.to_dict()
    assert restored.uncovered("features") == coverage.uncovered("features")
    upgraded = Coverage.from_dict(coverage.to_dict(), builtins=[*BUILTINS, "tanh"])
    assert "tanh" in upgraded.uncovered("builtins") and "sin" not in upgraded.uncovered("builtins")


# --------------------------------------------------------------------------- reply parsing

KERNEL = "@wp.kernel\ndef k(a: wp.array(dtype=float)):\n    i = wp.tid()"


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        (
            f"Here you go:\n```python\nimport warp as wp\n{KERNEL}\n```\nEnjoy!",
            f"import warp as wp\n{KERNEL}\n",
        ),
        (f"```py\n{KERNEL}\n```", f"import warp as wp\n{KERNEL}\n"),  # import added
        (f"```\nimport warp as wp\n{KERNEL}\n```", f"import warp as wp\n{KERNEL}\n"),  # bare fence
        (f"```python\nimport warp as wp\n{KERNEL}", f"import warp as wp\n{KERNEL}\n"),  # unclosed fence
        (f"~~~python\nimport warp as wp\n{KERNEL}\n~~~", f"import warp as wp\n{KERNEL}\n"),
        (f'```python\n"""Doc."""\n{KERNEL}\n```', f'"""Doc."""\nimport warp as wp\n{KERNEL}\n'),
        (
            f"1. code:\n   ```python\n   import warp as wp\n   {KERNEL.replace(chr(10), chr(10) + '   ')}\n   ```",
            f"import warp as wp\n{KERNEL}\n",
        ),  # indented inside a list; fmt: skip
        (f"import warp as wp\n\n{KERNEL}\n", f"import warp as wp\n\n{KERNEL}\n"),  # whole reply is code
    ],
)
def test_extract_code_finds_the_kernel(reply: str, expected: str) -> None:
    assert extract_code(reply) == expected


def test_extract_code_takes_the_last_block_with_a_kernel() -> None:
    reply = (
        "<think>\n```python\n@wp.kernel\ndef draft():\n    pass\n```\n</think>\n"
        f"First try:\n```python\n{KERNEL.replace('def k', 'def first')}\n```\n"
        f"Better:\n```python\n{KERNEL.replace('def k', 'def second')}\n```\n"
        "Launch it like this:\n```python\nwp.launch(second, dim=4, inputs=[a])\n```\n"
        "```cpp\nint main() {}\n```"
    )
    code = extract_code(reply)
    assert code is not None and "def second" in code and "draft" not in code and "launch" not in code


@pytest.mark.parametrize(
    "reply",
    [
        "",
        "I cannot help with that.",
        "```cpp\nint x = 1;\n```",
        "Use @wp.kernel on a function, e.g. def k(: ...",
    ],
)
def test_extract_code_returns_none_without_python_code(reply: str) -> None:
    assert extract_code(reply) is None


def test_code_blocks_need_a_matching_closing_fence() -> None:
    blocks = code_blocks("````python\nx = '```'\n```\ny = 1\n````\n")
    assert blocks == [("python", "x = '```'\n```\ny = 1")]


# --------------------------------------------------------------------------- through the real client


def test_diversify_then_repair_round_trip_over_http() -> None:
    broken = f"```python\nimport warp as wp\n{KERNEL}\n    x = {{}}\n```"
    fixed = f"```python\nimport warp as wp\n{KERNEL}\n    x = float(0.0)\n```"
    script = by_prompt([(REPAIR_MARKER, Response.chat(fixed))], Response.chat(broken))
    with OpenAIServer(script) as server:
        client = ChatClient(LLMConfig(base_url=server.base_url, model=DEFAULT_MODEL))
        hint = Coverage.create(BUILTINS).suggest(random.Random(0))
        first = extract_code(client.complete(diversify_messages("loop", [SAXPY], hint)).text)
        assert first is not None and "x = {}" in first
        error = 'Error while parsing function "k" at line 5: dict literals are not supported'
        second = extract_code(client.complete(repair_messages(first, "codegen", error, 5)).text)
    assert second is not None and "x = float(0.0)" in second
    diversify_request, repair_request = server.chat_requests()
    assert DIVERSIFY_MARKER in diversify_request.last_user_message
    assert error in repair_request.last_user_message and "x = {}" in repair_request.last_user_message
