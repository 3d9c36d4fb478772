"""Run records: one folder per run, outside the repository, holding what a run did so that it
can be read, compared and replayed: the resolved config, every model call (prompt, answer,
tokens, cost), timings per stage, stage outputs as JSON, and the chosen patch.

    <runs>/<run-id>/
        config.json      the resolved configuration, secrets masked
        calls.jsonl      one line per model call
        timings.json     seconds per stage, in order
        <stage>.json     what a stage produced (located units, candidates, test results, ...)
        summary.json     status, reason, cost, tokens, the chosen candidate
        patch.diff       the chosen patch (absent when there is none)
"""

from __future__ import annotations

import json
import os
import threading
import time
import uuid
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator

from pydantic import BaseModel

from configs.errors import UserError
from configs.files import data_dir, write_atomic


def default_runs_dir() -> Path:
    return data_dir() / "runs"


def _jsonable(data: Any) -> Any:
    if isinstance(data, BaseModel):
        return data.model_dump(mode="json")
    if isinstance(data, (list, tuple)):
        return [_jsonable(d) for d in data]
    if isinstance(data, dict):
        return {str(k): _jsonable(v) for k, v in data.items()}
    if isinstance(data, Path):
        return str(data)
    return data


class RunRecord:
    def __init__(self, root: Path, repo: Path | None = None):
        root = root.expanduser().resolve()
        if repo is not None:
            repo = repo.resolve()
            if root == repo or repo in root.parents:
                raise UserError(f"the run directory {root} is inside the repository {repo}; choose another (repair.runs_dir)")
        stamp = datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S")
        self.id = f"{stamp}-{uuid.uuid4().hex[:6]}"
        self.dir = root / self.id
        try:
            root.mkdir(parents=True, exist_ok=True)
            self.dir.mkdir(mode=0o700)  # a record holds prompts, answers and code: its user's alone
        except OSError as exc:
            raise UserError(f"cannot create the run directory {self.dir}: {exc.strerror or exc}") from None
        self._lock = threading.Lock()
        self._timings: dict[str, float] = {}

    def write(self, name: str, data: Any) -> Path:
        path = self.dir / f"{name}.json"
        write_atomic(path, json.dumps(_jsonable(data), indent=2, ensure_ascii=False) + "\n")
        return path

    def write_text(self, name: str, text: str) -> Path:
        path = self.dir / name
        write_atomic(path, text)
        return path

    def call(self, record: Any) -> None:
        """Append one model call (an `agent.llm.CallRecord`); safe from several threads."""
        line = json.dumps(_jsonable(record.__dict__ if hasattr(record, "__dict__") else record), ensure_ascii=False)
        with self._lock:
            fd = os.open(self.dir / "calls.jsonl", os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            with os.fdopen(fd, "a", encoding="utf-8") as fh:
                fh.write(line + "\n")

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        start = time.monotonic()
        try:
            yield
        finally:
            with self._lock:
                self._timings[name] = round(self._timings.get(name, 0.0) + time.monotonic() - start, 3)
                timings = dict(self._timings)
            self.write("timings", timings)


def find_run(ref: str, root: Path) -> Path:
    """A run folder from a path, a run id, or `last`."""
    as_path = Path(ref).expanduser()
    if as_path.is_dir() and (as_path / "summary.json").exists():
        return as_path
    if ref == "last":
        runs = sorted(p for p in root.glob("*") if (p / "summary.json").exists()) if root.is_dir() else []
        if not runs:
            raise UserError(f"no finished run in {root}")
        return runs[-1]
    candidate = root / ref
    if candidate.is_dir():
        return candidate
    matches = sorted(root.glob(f"{ref}*")) if root.is_dir() else []
    if len(matches) == 1:
        return matches[0]
    raise UserError(f"no run {ref!r} in {root}" + (f" ({len(matches)} match that prefix)" if matches else ""))

