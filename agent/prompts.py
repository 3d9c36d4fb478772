"""Prompt templates: Jinja files shipped in configs/prompts/, rendered with StrictUndefined
so that a missing variable is an error, never a silently empty prompt. Report templates
(configs/templates/) are HTML and escape what they are given."""

from __future__ import annotations

from functools import lru_cache

import jinja2

from agent.resources import prompt_text, template_text


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


@lru_cache(maxsize=1)
def _html_env() -> jinja2.Environment:
    return jinja2.Environment(loader=jinja2.FunctionLoader(lambda name: template_text(name)),
                              undefined=jinja2.StrictUndefined, autoescape=True, trim_blocks=True, lstrip_blocks=True)


def render_template(name: str, **variables: object) -> str:
    return _html_env().get_template(name).render(**variables)
