"""Files shipped inside the wheel (configs, prompt and report templates), read with importlib.resources."""

from __future__ import annotations

from importlib import resources
from importlib.abc import Traversable


def configs_dir() -> Traversable:
    return resources.files("agent.configs")


def default_config_text() -> str:
    return (configs_dir() / "default.yaml").read_text(encoding="utf-8")


def prompt_text(name: str) -> str:
    path = resources.files("agent.configs.prompts") / name
    if not path.is_file():
        raise FileNotFoundError(f"no prompt template named {name!r}")
    return path.read_text(encoding="utf-8")


def template_text(name: str) -> str:
    path = resources.files("agent.configs.templates") / name
    if not path.is_file():
        raise FileNotFoundError(f"no template named {name!r}")
    return path.read_text(encoding="utf-8")
