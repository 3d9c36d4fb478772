"""Prompt templates: Jinja files shipped in configs/prompts/, rendered with StrictUndefined
so that a missing variable is an error, never a silently empty prompt. Report templates
(configs/templates/) are HTML, which escapes what it is given, or Markdown for the bot's comments."""

from __future__ import annotations

import re
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


def md_code(text: object, cell: bool = False) -> str:
    """`text` as one inline code span, whatever backticks it holds: in a Markdown comment it can
    then mention, link or embed nothing. `cell`: inside a table row (| escaped)."""
    line = " ".join(str(text).split())
    fence = "`" * (max((len(run) for run in re.findall(r"`+", line)), default=0) + 1)
    pad = " " if line.startswith("`") or line.endswith("`") else ""
    return f"{fence}{pad}{line.replace('|', chr(92) + '|') if cell else line}{pad}{fence}"


def md_fenced(text: object, lang: str = "text") -> str:
    """`text` as a fenced code block no line of it can close."""
    body = str(text).rstrip("\n")
    fence = "`" * max(3, max((len(run) for run in re.findall(r"`{3,}", body)), default=0) + 1)
    return f"{fence}{lang}\n{body}\n{fence}"


@lru_cache(maxsize=1)
def _template_env() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.FunctionLoader(lambda name: template_text(name)),
                             undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True,
                             autoescape=jinja2.select_autoescape(enabled_extensions=("html.j2",), default=False))
    env.filters.update(md_code=md_code, md_fenced=md_fenced)
    return env


def render_template(name: str, **variables: object) -> str:
    return _template_env().get_template(name).render(**variables)
