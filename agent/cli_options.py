"""What every command shares: the --config and --set options, and flags that are shorthand for
a --set override."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

ConfigOpt = Annotated[Optional[Path], typer.Option("--config", help="YAML config file, merged over the packaged defaults.")]
SetOpt = Annotated[Optional[list[str]], typer.Option("--set", help="Dotted override, e.g. --set localization.top_files=8 (repeatable).")]


def with_flags(set_: list[str] | None, flags: dict[str, object]) -> list[str]:
    """The --set overrides, then one `key=value` per flag the user gave (None: not given), so a
    flag wins over a --set of the same key."""
    return list(set_ or []) + [f"{key}={value}" for key, value in flags.items() if value is not None]
