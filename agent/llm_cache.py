"""On-disk cache of model answers, keyed by the full request (model, messages, temperature, n,
max_tokens, endpoint) plus how many times the same request came before in this run: a rerun
makes the same requests in the same order and gets the same answers, at no cost. A cache file
that cannot be read, or that holds another request, is a miss."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from configs.files import write_atomic

CACHE_SCHEMA = 1


def request_key(request: dict[str, Any]) -> str:
    payload = json.dumps({"schema": CACHE_SCHEMA, "request": request}, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


class ResponseCache:
    def __init__(self, root: Path):
        self.dir = root / "llm" / f"v{CACHE_SCHEMA}"

    def _path(self, key: str, occurrence: int) -> Path:
        return self.dir / key[:2] / f"{key}-{occurrence}.json"

    def get(self, request: dict[str, Any], occurrence: int) -> dict[str, Any] | None:
        try:
            entry = json.loads(self._path(request_key(request), occurrence).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        if not isinstance(entry, dict) or entry.get("request") != request or not isinstance(entry.get("texts"), list):
            return None
        return entry

    def put(self, request: dict[str, Any], occurrence: int, entry: dict[str, Any]) -> None:
        path = self._path(request_key(request), occurrence)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            write_atomic(path, json.dumps({**entry, "request": request}, ensure_ascii=False))  # readers never see half a file
        except OSError:
            pass  # a cache that cannot be written costs money later, never a failure now
