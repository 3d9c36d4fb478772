"""localization/dense.py: vector checks, the vector cache, dense scores (with the fake model's
embeddings, in process), the choice of embedder."""

from __future__ import annotations

import sqlite3

import numpy as np
import pytest
from fakes.openai_server import HashEmbedder

from configs.errors import ConfigError
from localization.config import EmbeddingsConfig
from localization.dense import EmbeddingError, VectorCache, check_vectors, dense_scores, make_embedder, text_key

DIM = 64

QUERY = "parse the yaml config file"
RELATED = "def parse_config(path): read the yaml config file and parse it"
UNRELATED = "socket timeout while retrying the network connection"


# -- check_vectors ------------------------------------------------------------------------


def unit_rows(count: int, dim: int) -> np.ndarray:
    rng = np.random.default_rng(0)
    return rng.normal(size=(count, dim)).astype(np.float32)


def test_check_vectors_accepts_good_vectors():
    check_vectors(unit_rows(3, 8), 3, 8)
    check_vectors(unit_rows(3, 8), 3)


@pytest.mark.parametrize(
    ("vectors", "count", "dim", "match"),
    [
        (unit_rows(2, 8), 3, 8, "expected 3 vectors"),
        (unit_rows(3, 8)[0], 3, 8, "expected 3 vectors"),  # not a matrix
        (unit_rows(3, 7), 3, 8, "expected dimension 8"),
        (np.zeros((3, 8), dtype=np.float32), 3, 8, "all zeros"),
        (np.vstack([unit_rows(2, 8), np.zeros((1, 8), dtype=np.float32)]), 3, 8, "all zeros"),
        (np.full((3, 8), np.nan, dtype=np.float32), 3, 8, "NaN"),
    ],
    ids=["too-few", "one-dimensional", "wrong-dim", "all-zero", "one-zero-row", "nan"],
)
def test_check_vectors_rejects(vectors, count, dim, match):
    with pytest.raises(EmbeddingError, match=match):
        check_vectors(vectors, count, dim)


# -- VectorCache --------------------------------------------------------------------------


def test_vector_cache_round_trips_and_persists(tmp_path):
    vectors = {text_key("a"): np.arange(4, dtype=np.float32), text_key("b"): np.ones(4, dtype=np.float32)}
    cache = VectorCache(tmp_path, "openai:emb-test")
    cache.put_many(vectors)

    got = cache.get_many([text_key("a"), text_key("b"), text_key("missing")])
    assert set(got) == {text_key("a"), text_key("b")}
    np.testing.assert_array_equal(got[text_key("a")], vectors[text_key("a")])

    reopened = VectorCache(tmp_path, "openai:emb-test")
    np.testing.assert_array_equal(reopened.get_many([text_key("b")])[text_key("b")], vectors[text_key("b")])


def test_vector_cache_is_separate_per_embedder(tmp_path):
    VectorCache(tmp_path, "embedder-one").put_many({"k": np.ones(3, dtype=np.float32)})
    other = VectorCache(tmp_path, "embedder-two")

    assert other.path != VectorCache(tmp_path, "embedder-one").path
    assert other.get_many(["k"]) == {}


def test_corrupt_vector_cache_file_is_recreated(tmp_path):
    name = "openai:emb-test"
    path = VectorCache(tmp_path / "probe", name).path.relative_to(tmp_path / "probe")
    target = tmp_path / "cache" / path
    target.parent.mkdir(parents=True)
    target.write_bytes(b"this is not a sqlite database \x00\xff" * 64)

    cache = VectorCache(tmp_path / "cache", name)

    assert cache.path == target
    assert cache.get_many(["k"]) == {}
    cache.put_many({"k": np.full(3, 2.0, dtype=np.float32)})
    np.testing.assert_array_equal(cache.get_many(["k"])["k"], np.full(3, 2.0, dtype=np.float32))
    with sqlite3.connect(target) as db:  # a real database again
        assert db.execute("SELECT count(*) FROM vec").fetchone() == (1,)


def test_unusable_cache_location_degrades_to_no_cache(tmp_path, capsys):
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the cache directory should be")

    cache = VectorCache(blocker, "openai:emb-test")
    cache.put_many({"k": np.ones(3, dtype=np.float32)})

    assert cache.get_many(["k"]) == {}
    assert "vector cache unusable" in capsys.readouterr().err


# -- dense_scores -------------------------------------------------------------------------


def test_dense_scores_rank_shared_words_above_unrelated_text(tmp_path):
    embedder = HashEmbedder(DIM)
    cache = VectorCache(tmp_path, embedder.name)

    scores = dense_scores(embedder, cache, QUERY, [UNRELATED, RELATED])

    assert scores.shape == (2,)
    assert scores[1] > scores[0]
    assert scores[1] > 0.3
    assert np.all(scores <= 1.0 + 1e-5)


def test_dense_scores_embed_only_uncached_texts(tmp_path):
    embedder = HashEmbedder(DIM)
    cache = VectorCache(tmp_path, embedder.name)

    first = dense_scores(embedder, cache, QUERY, [RELATED, UNRELATED])
    assert embedder.calls == [[QUERY], [RELATED, UNRELATED]]

    second = dense_scores(embedder, VectorCache(tmp_path, embedder.name), QUERY, [UNRELATED, RELATED, "new text"])
    assert embedder.calls[2:] == [[QUERY], ["new text"]]
    np.testing.assert_allclose(second[[1, 0]], first, rtol=1e-5)


@pytest.mark.parametrize(("mode", "match"), [("wrong_count", "vectors"), ("zeros", "all zeros"), ("wrong_dim", "dimension")])
def test_dense_scores_bad_embeddings_raise_embedding_error(tmp_path, mode, match):
    embedder = HashEmbedder(DIM)
    embedder.mode = mode

    with pytest.raises(EmbeddingError, match=match):
        dense_scores(embedder, VectorCache(tmp_path, embedder.name), QUERY, [RELATED, UNRELATED])


def test_dense_scores_survive_cached_vectors_of_another_dimension(tmp_path):
    embedder = HashEmbedder(DIM)
    dense_scores(embedder, VectorCache(tmp_path, embedder.name), QUERY, [RELATED])
    embedder.dim = 32  # the endpoint now serves a different model under the same name

    try:
        scores = dense_scores(embedder, VectorCache(tmp_path, embedder.name), QUERY, [RELATED, UNRELATED])
    except EmbeddingError:
        return  # acceptable: the caller falls back to lexical retrieval
    # Also acceptable: stale vectors are treated as misses and embedded afresh.
    assert scores.shape == (2,)
    assert scores[0] > scores[1]


@pytest.mark.slow
def test_local_embedder_loads_the_packaged_model_offline(monkeypatch):
    from localization.dense import LocalEmbedder, local_available

    if not local_available():
        pytest.skip("the 'local' extra is not installed")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    vectors = LocalEmbedder(EmbeddingsConfig()).embed(
        ["parse an HTTP header value", "split a header line into name and value", "draw a pie chart"]
    )
    assert vectors.shape == (3, 384)
    unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    assert unit[0] @ unit[1] > unit[0] @ unit[2]


def test_the_openai_provider_is_the_embedder_the_caller_supplies():
    cfg = EmbeddingsConfig(provider="openai")
    remote = HashEmbedder(DIM, name="openai:remote")
    assert make_embedder(cfg, remote=lambda: remote) is remote
    with pytest.raises(ConfigError, match="needs a model endpoint"):
        make_embedder(cfg)
    assert make_embedder(EmbeddingsConfig(provider="none"), remote=lambda: remote) is None
