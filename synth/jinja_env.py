"""The one Jinja environment: templates load as package data from ``prompts/`` and fail loudly."""

from __future__ import annotations

import functools
from importlib import resources

import jinja2


@functools.cache
def environment() -> jinja2.Environment:
    root = resources.files("warp_synth.prompts")
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(root)),
        undefined=jinja2.StrictUndefined,  # a missing variable is an error, never ""
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,
    )


def render(template_name: str, **context: object) -> str:
    """Render ``prompts/<template_name>``; raises ``jinja2.UndefinedError`` on a missing variable."""
    return environment().get_template(template_name).render(**context)
