"""Prompt templates: Jinja files shipped in configs/prompts/, rendered with StrictUndefined
so that a missing variable is an error, never a silently empty prompt."""

from __future__ import annotations

from functools import lru_cache

import jinja2

from agent.resources import prompt_text


@lru_cache(maxsize=1)
def _env() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FunctionLoader(lambda name: prompt_text(name)),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,
    )


def render(name: str, **variables: object) -> str:
    return _env().get_template(name).render(**variables)
