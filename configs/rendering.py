"""The packaged Jinja templates: prompts (configs/prompts/) rendered as plain text, and report
templates (configs/templates/): HTML, which escapes what it is given, or Markdown for the bot's
comments. Both render with StrictUndefined, so a missing variable is an error, never a silently
empty prompt."""

from __future__ import annotations

import re
from functools import lru_cache
from importlib import resources

import jinja2


def _shipped_text(folder: str, name: str, what: str) -> str:
    path = resources.files("configs") / folder / name
    if not path.is_file():
        raise FileNotFoundError(f"no {what} named {name!r}")
    return path.read_text(encoding="utf-8")


@lru_cache(maxsize=1)
def _prompts() -> jinja2.Environment:
    return jinja2.Environment(loader=jinja2.FunctionLoader(lambda name: _shipped_text("prompts", name, "prompt template")),
                              undefined=jinja2.StrictUndefined, keep_trailing_newline=True, trim_blocks=True,
                              lstrip_blocks=True, autoescape=False)


def render(name: str, **variables: object) -> str:
    """A prompt of configs/prompts/."""
    return _prompts().get_template(name).render(**variables)


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
def _reports() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.FunctionLoader(lambda name: _shipped_text("templates", name, "template")),
                             undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True,
                             autoescape=jinja2.select_autoescape(enabled_extensions=("html.j2",), default=False))
    env.filters.update(md_code=md_code, md_fenced=md_fenced)
    return env


def render_template(name: str, **variables: object) -> str:
    """A report or comment template of configs/templates/."""
    return _reports().get_template(name).render(**variables)
