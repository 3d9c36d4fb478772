"""Small repositories written by tests."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Callable


def dedented(text: str) -> str:
    return textwrap.dedent(text).lstrip()


def write_tree(root: Path, files: dict[str, str], transform: Callable[[str], str] = dedented) -> Path:
    """Write `files` (relative path -> text, passed through `transform`) under `root`, as UTF-8."""
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(transform(text).encode("utf-8"))
    return root
