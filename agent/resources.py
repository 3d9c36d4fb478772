"""Files shipped inside the wheel (configs, prompt and report templates), read with importlib.resources."""

from __future__ import annotations

from importlib import resources
from importlib.abc import Traversable


def configs_dir() -> Traversable:
    return resources.files("agent.configs")


def default_config_text() -> str:
    return (configs_dir() / "default.yaml").read_text(encoding="utf-8")


def _shipped_text(package: str, name: str, what: str) -> str:
    path = resources.files(package) / name
    if not path.is_file():
        raise FileNotFoundError(f"no {what} named {name!r}")
    return path.read_text(encoding="utf-8")


def prompt_text(name: str) -> str:
    return _shipped_text("agent.configs.prompts", name, "prompt template")


def template_text(name: str) -> str:
    return _shipped_text("agent.configs.templates", name, "template")
