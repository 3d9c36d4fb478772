"""The config section editing owns (its values are in configs/default.yaml)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from configs.defaults import Section


class EditingConfig(Section):
    defaults_at = "editing"

    editor: Literal["ast"]
    temperatures: list[float] = Field(min_length=1)
    samples_per_temperature: int = Field(ge=1)
    use_n: bool
    max_retries: int = Field(ge=0)
    concurrency: int = Field(ge=1)
    lint: bool
    lint_blocking: list[str]  # pyflakes message kinds
    context_units: int = Field(ge=1)
    schematic_files: int = Field(ge=0)
    prompt_max_chars: int = Field(gt=0)
    diff_context: int = Field(ge=1)  # git apply needs context to place hunks
    whole_file_max_lines: int = Field(ge=1)  # an existing file this long or shorter may be given whole

    @field_validator("temperatures")
    @classmethod
    def _temperatures_in_range(cls, value: list[float]) -> list[float]:
        for t in value:
            if not 0 <= t <= 2:
                raise ValueError(f"temperature {t} is outside 0..2")
        return value
