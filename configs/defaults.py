"""The packaged defaults: configs/default.yaml holds the value of every setting, with a comment
saying what it does. A section's model (in the package that owns the section) declares the
types and bounds and takes its values from here, so a default lives in one place."""

from __future__ import annotations

import copy
from functools import lru_cache
from importlib import resources
from typing import Any, ClassVar

import yaml
from pydantic import BaseModel, ConfigDict, model_validator


def default_config_text() -> str:
    return (resources.files("configs") / "default.yaml").read_text(encoding="utf-8")


@lru_cache(maxsize=1)
def _packaged() -> dict[str, Any]:
    return yaml.safe_load(default_config_text()) or {}


def packaged(path: str) -> dict[str, Any]:
    """A fresh copy of the packaged defaults under a dotted path ("sandbox.project")."""
    node: Any = _packaged()
    for part in path.split("."):
        node = node.get(part) if isinstance(node, dict) else None
    if not isinstance(node, dict):
        raise KeyError(f"configs/default.yaml has no section {path!r}")
    return copy.deepcopy(node)


def deep_merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    """`extra` over `base`, mapping by mapping; other values replace."""
    out = copy.deepcopy(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


class Section(BaseModel):
    """A config section: unknown fields are refused, assignments validated, and what is not
    given comes from the packaged defaults at `defaults_at` (a dotted path in default.yaml)."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)
    defaults_at: ClassVar[str | None] = None

    @model_validator(mode="before")
    @classmethod
    def _packaged_defaults(cls, data: Any) -> Any:
        if cls.defaults_at is None or not isinstance(data, dict):
            return data
        return deep_merge(packaged(cls.defaults_at), data)
