"""synth.llm.replies: pulling the kernel module out of a model's reply (nothing is executed)."""

from __future__ import annotations

import pytest

from warp_synth.synth.llm.replies import MAX_DESCRIPTION_CHARS, code_blocks, extract_code, extract_description

pytestmark = pytest.mark.timeout(120)

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


@pytest.mark.parametrize(("reply", "expected"), [
    ("Description: Adds a and b.\n\n```python\nx = 1\n```", "Adds a and b."),
    ("**Description:** Scales the\nvelocities by dt.\n\n```python\nx = 1\n```", "Scales the velocities by dt."),
    ("<think>Description: not this</think>description: this one\n```python\nx\n```", "this one"),
    ("```python\n# Description: inside the code\n```\n", None),
    ("No description here.\n```python\nx = 1\n```", None),
    ("Description: bell\x07 and\x1b[31m escapes", "bell and[31m escapes"),
])
def test_extract_description(reply: str, expected: str | None) -> None:
    assert extract_description(reply) == expected


def test_a_long_description_is_cut_at_a_sentence() -> None:
    text = "Description: " + "Adds one. " * 200
    got = extract_description(text)
    assert got is not None and len(got) <= MAX_DESCRIPTION_CHARS and got.endswith("Adds one.")
