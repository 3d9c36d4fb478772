"""On-disk cache of built BM25 indexes, keyed by the hashes of every indexed file plus the
parameters that shaped the documents, so that a warm run on an unchanged tree loads its index
instead of building it. A damaged entry is rebuilt; old entries are pruned by age."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

import bm25s

from configs.files import cache_dir
from localization.cache import SCHEMA_VERSION


def snapshot_key(kind: str, file_hashes: dict[str, str], params: dict[str, object]) -> str:
    h = hashlib.sha256(json.dumps([SCHEMA_VERSION, kind, params], sort_keys=True).encode())
    for path in sorted(file_hashes):
        h.update(f"{path}\0{file_hashes[path]}\n".encode())
    return h.hexdigest()[:24]


def build_bm25(docs: list[list[str]], k1: float, b: float) -> bm25s.BM25:
    model = bm25s.BM25(k1=k1, b=b)
    # bm25s cannot index an empty document list or empty documents: pad with a sentinel token.
    model.index([d or ["\x00"] for d in docs] or [["\x00"]], show_progress=False)
    return model


def cached_bm25(root: Path | None, key: str, keep: int, docs: Callable[[], list[list[str]]], k1: float, b: float) -> bm25s.BM25:
    base = (root or cache_dir()) / "bm25"
    target = base / key
    if (target / "complete").exists():
        try:
            model = bm25s.BM25.load(str(target))
            os.utime(target)  # recently used: pruned last
            return model
        except Exception:  # damaged or from another bm25s version: rebuild below
            shutil.rmtree(target, ignore_errors=True)
    model = build_bm25(docs(), k1, b)
    try:
        base.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(dir=base, prefix=".tmp-"))
        model.save(str(tmp))
        (tmp / "complete").touch()
        try:
            os.rename(tmp, target)
        except OSError:  # a concurrent writer got there first: its copy is as good
            shutil.rmtree(tmp, ignore_errors=True)
        prune(base, keep)
    except OSError:
        pass  # no cache, no harm: the index was built
    return model


def prune(base: Path, keep: int) -> None:
    """Keep the `keep` most recently used entries of a cache folder."""
    entries = sorted((p for p in base.iterdir() if p.is_dir() and not p.name.startswith(".")), key=lambda p: p.stat().st_mtime, reverse=True)
    for old in entries[keep:]:
        shutil.rmtree(old, ignore_errors=True)
