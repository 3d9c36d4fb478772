"""On-disk cache of the code graph's edges, keyed like the BM25 indexes by every indexed file's
hash, so that a warm run loads the edges instead of resolving every name again. An entry that
cannot be read, or whose edges do not fit the index, is a miss and is rebuilt."""

from __future__ import annotations

import os
import tempfile
import zipfile
from collections.abc import Callable
from pathlib import Path

import numpy as np

from configs.files import cache_dir
from localization.lexical_cache import prune

_KINDS = ("bases", "calls", "imports")


def _load(path: Path, units: int) -> dict[str, np.ndarray] | None:
    try:
        with np.load(path, allow_pickle=False) as data:
            edges = {k: np.asarray(data[k], dtype=np.int32) for k in _KINDS}
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):
        return None
    for arr in edges.values():
        if arr.ndim != 2 or arr.shape[1] != 2 or (arr.size and (arr.min() < 0 or arr.max() >= units)):
            return None
    return edges


def cached_edges(root: Path | None, key: str, keep: int, units: int, build: Callable[[], dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    base = (root or cache_dir()) / "graph"
    target = base / key / "edges.npz"
    edges = _load(target, units) if target.exists() else None
    if edges is not None:
        os.utime(target.parent)  # recently used: pruned last
        return edges
    edges = build()
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, suffix=".npz")
        with os.fdopen(fd, "wb") as out:
            np.savez(out, **edges)
        os.replace(tmp, target)
        prune(base, keep)
    except OSError:
        pass  # no cache, no harm: the edges were built
    return edges
