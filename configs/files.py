"""The user's directories and writes that a reader never sees half done."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

import platformdirs


def cache_dir() -> Path:
    """What can be made again (indexes, vectors, model answers, environments, locks)."""
    return Path(platformdirs.user_cache_dir("supercoder", appauthor=False))


def data_dir() -> Path:
    """What a user keeps (run records, the bot's job queue)."""
    return Path(platformdirs.user_data_dir("supercoder", appauthor=False))


def write_atomic(path: Path, data: str | bytes, keep_mode: bool = False) -> None:
    """Write through a temporary file in the same folder and a rename. `keep_mode`: the file
    keeps the permissions it had (a user's source file)."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data.encode("utf-8") if isinstance(data, str) else data)
        if keep_mode:
            os.chmod(tmp, path.stat().st_mode & 0o7777)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def read_json(path: Path) -> Any:
    """The JSON in `path`, or None when it cannot be read or parsed."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
