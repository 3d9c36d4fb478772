"""Content-addressed on-disk cache of parsed units.

Key: the file's content hash under a namespace made of the schema version and the parse
parameters, so the same file in any checkout of any repository is parsed once. Writes go
through a temporary file and an atomic rename (safe for concurrent writers); anything that
cannot be read back is a miss, never a crash.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

from configs.files import cache_dir, write_atomic
from localization.models import Unit

SCHEMA_VERSION = 3  # 3: units carry bases, calls and imports


def content_hash(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class UnitCache:
    def __init__(self, root: Path | None, params: dict[str, object]):
        key = hashlib.sha256(json.dumps(params, sort_keys=True).encode()).hexdigest()[:12]
        self.dir = (root or cache_dir()) / "units" / f"v{SCHEMA_VERSION}-{key}"
        self.writable = True

    def _path(self, digest: str) -> Path:
        return self.dir / digest[:2] / f"{digest}.json"

    def get(self, digest: str) -> tuple[list[Unit], bool] | None:
        """(units, the file had syntax errors) or None on a miss."""
        path = self._path(digest)
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError:
            return None
        try:
            data = json.loads(raw)
            if data.get("schema") != SCHEMA_VERSION or data.get("hash") != digest:
                raise ValueError("stale entry")
            return [Unit.model_validate(u) for u in data["units"]], bool(data.get("errors", False))
        except Exception:  # any damage to an entry is a miss; the caller rewrites it
            return None

    def put(self, digest: str, units: list[Unit], has_errors: bool = False) -> None:
        if not self.writable:
            return
        path = self._path(digest)
        payload = json.dumps(
            {"schema": SCHEMA_VERSION, "hash": digest, "errors": has_errors,
             "units": [u.model_dump(exclude={"path"}) for u in units]},
            separators=(",", ":"),
        )
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            write_atomic(path, payload)
        except OSError as exc:
            self.writable = False
            print(f"warning: index cache {self.dir} is not writable ({exc.strerror}); continuing without it", file=sys.stderr)
